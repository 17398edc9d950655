"""The ProxyActivation provider: the second half of the no-open-window rollout (rr_pulumi/rollout.py).

A staged proxy is created inactive (proxy.py). Its activation, a separate resource that waits for every rule of
the program, then PUTs the declared `proxyActive`; deleting the activation (which the engine does before deleting
the proxy's rules) switches the proxy off.
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
from rr_pulumi.provider.proxy import ProxyProvider

WATCHED = ("client_id", "proxy_id", "active")
PROFILE = "profile"  # the proxy's connection profile, passed on when it has one


class ActivationProvider(ResourceProvider):
    """Sets a proxy's `proxyActive` to the declared value; created after every rule of the program."""

    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        ProxyProvider().configure(req)  # the same connection settings as the proxy's own provider

    @staticmethod
    def api(props: dict[str, Any]) -> rr_client.RequestRocketClient:
        """The client the proxy's provider uses (with connection profiles: the proxy's profile)."""
        if props.get(PROFILE):
            return ProxyProvider.api({PROFILE: props[PROFILE]})
        return ProxyProvider.api()

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
