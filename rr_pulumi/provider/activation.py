"""The provider side of the no-open-window rollout (see rr_pulumi/rollout.py for the program side).

A staged Proxy carries the marker input `activate_after_rules: true`: its provider creates it inactive (and an
update never switches it from off to on) and records the declared `proxy_active`, so the state matches the account
once the rollout is done. Its `ProxyActivation` (a
separate resource that waits for every rule of the program) then PUTs the declared `proxyActive`; deleting the
activation (which the engine does before deleting the proxy's rules) switches the proxy off. The marker never
reaches the API and never causes a diff.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import (
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from rr_pulumi.api import client as rr_client
from rr_pulumi.api.errors import NotFound
from rr_pulumi.schema.kinds import PROXY

STAGED = "activate_after_rules"
WATCHED = ("client_id", "proxy_id", "active")
PROFILE = "profile"  # the proxy's connection profile, passed on when it has one


def staged(props: dict[str, Any]) -> bool:
    return props.get(STAGED) is True


def keep_marker(result: CheckResult, news: dict[str, Any]) -> CheckResult:
    """The checked inputs keep the marker (the schema's validation drops every name it does not know)."""
    if staged(news):
        return CheckResult({**(result.inputs or {}), STAGED: True}, result.failures)
    return result


def inactive(props: dict[str, Any]) -> dict[str, Any]:
    return {**props, "proxy_active": False}


def declared_active(props: dict[str, Any]) -> bool:
    return props.get("proxy_active") is not False


def report_declared(result: CreateResult, props: dict[str, Any]) -> CreateResult:
    """The proxy is inactive until its activation runs, later in the same update: record the declared value."""
    return CreateResult(result.id, {**(result.outs or {}), "proxy_active": declared_active(props)})


def still_off(olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    """An update never turns a staged proxy on (its activation does, after the rules): it keeps the recorded state."""
    if declared_active(news) and olds.get("proxy_active") is False:
        return {**news, "proxy_active": False}
    return news


def report_declared_update(result: UpdateResult, news: dict[str, Any]) -> UpdateResult:
    return UpdateResult({**(result.outs or {}), "proxy_active": declared_active(news)})


def _proxy_provider() -> Any:
    from rr_pulumi.provider.proxy import ProxyProvider  # proxy.py imports this module for the staged create

    return ProxyProvider


class ActivationProvider(ResourceProvider):
    """Sets a proxy's `proxyActive` to the declared value; created after every rule of the program."""

    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        _proxy_provider()().configure(req)  # the same connection settings as the proxy's own provider

    @staticmethod
    def api(props: dict[str, Any]) -> rr_client.RequestRocketClient:
        """The client the proxy's provider uses (with connection profiles: the proxy's profile)."""
        if props.get(PROFILE):
            return _proxy_provider().api({PROFILE: props[PROFILE]})  # type: ignore[call-arg]
        return _proxy_provider().api()

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult({k: news.get(k) for k in (*WATCHED, PROFILE) if k in news}, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = [k for k in WATCHED if olds.get(k) != news.get(k)]
        # Another proxy (a replacement): a new activation for it, and the old one's delete switches the old off.
        replaces = [k for k in changes if k in ("client_id", "proxy_id")]
        return DiffResult(changes=bool(changes), replaces=replaces, delete_before_replace=False)

    def _apply(self, props: dict[str, Any]) -> dict[str, Any]:
        collection = rr_client.collection(props["client_id"], PROXY.plural)
        self.api(props).update(collection, props["proxy_id"], {"proxyActive": bool(props["active"])})
        return {k: props.get(k) for k in WATCHED}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"{props['proxy_id']}-activation", self._apply(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._apply(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Gone with its proxy (refresh drops it); else the live state, so a proxy turned off elsewhere shows."""
        item = self.api(props).find(rr_client.collection(props["client_id"], PROXY.plural), props["proxy_id"])
        if item is None:
            return ReadResult("", {})
        return ReadResult(id_, {**{k: props.get(k) for k in WATCHED}, "active": item.get("proxyActive") is not False})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """The engine deletes an activation before its proxy's rules (it depends on them), so switching the proxy
        off here keeps a proxy that is going away (replaced, removed, destroyed) from serving without its rules."""
        try:
            self.api(props).update(rr_client.collection(props["client_id"], PROXY.plural), props["proxy_id"],
                                   {"proxyActive": False})
        except NotFound:
            pass  # already gone
