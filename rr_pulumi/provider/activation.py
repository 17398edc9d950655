"""The provider side of the no-open-window rollout (see rr_pulumi/rollout.py for the program side).

A staged Proxy carries the marker input `activate_after_rules: true`: its provider creates it inactive and records
the declared `proxy_active`, so the state matches the account once the rollout is done. Its `ProxyActivation` (a
separate resource that waits for every rule of the program) then PUTs the declared `proxyActive`. The marker never
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

from .. import client as rr_client
from .. import config as rr_config

STAGED = "activate_after_rules"
WATCHED = ("client_id", "proxy_id", "active")


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


class ActivationProvider(ResourceProvider):
    """Sets a proxy's `proxyActive` to the declared value; created after every rule of the program."""

    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        rr_config.configure(req.config.get)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult({k: news.get(k) for k in WATCHED}, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = any(olds.get(k) != news.get(k) for k in WATCHED)
        return DiffResult(changes=changes, replaces=[], delete_before_replace=False)

    def _apply(self, props: dict[str, Any]) -> dict[str, Any]:
        collection = rr_client.collection(props["client_id"], "proxies")
        rr_client.shared_client().update(collection, props["proxy_id"], {"proxyActive": bool(props["active"])})
        return {k: props.get(k) for k in WATCHED}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"{props['proxy_id']}-activation", self._apply(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._apply(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Gone with its proxy (refresh drops it); else the live state, so a proxy turned off elsewhere shows."""
        item = rr_client.shared_client().find(rr_client.collection(props["client_id"], "proxies"), props["proxy_id"])
        if item is None:
            return ReadResult("", {})
        return ReadResult(id_, {**{k: props.get(k) for k in WATCHED}, "active": item.get("proxyActive") is not False})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo: the proxy's own deletion (or its next activation) decides its state."""
