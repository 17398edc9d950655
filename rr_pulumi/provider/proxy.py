"""Proxy provider: `/api/clients/{clientId}/proxies`; adds the data-plane URL as an output.

The URL follows the `dataPlaneUrl` setting, which is not a resource input: when the setting moves, `diff` reports a
change, and the update records the new URL without a request (nothing changed on the API's side).

A proxy staged by the no-open-window rollout (rr_pulumi/rollout.py) carries the marker input
`activate_after_rules: true`: it is created inactive, an update never switches it from off to on, and the state
records the declared `proxy_active`; its ProxyActivation (activation.py) switches it on after the rules. The marker
never reaches the API and never causes a diff.
"""

from __future__ import annotations

from typing import Any, Optional

from pulumi.dynamic import CheckResult, CreateResult, DiffResult, UpdateResult

from rr_pulumi.schema import kinds
from rr_pulumi.api.client import collection
from rr_pulumi.schema.plan import user_props
from rr_pulumi.schema.wire import contains_unknown
from rr_pulumi.provider.base import SchemaProvider
from rr_pulumi.provider.adopt import MARKERS

STAGED = "activate_after_rules"  # the marker input of a proxy staged by rr_pulumi/rollout.py


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


class ProxyProvider(SchemaProvider):
    kind = kinds.PROXY
    input_markers = (*MARKERS, STAGED)

    def collection(self, values: dict[str, Any]) -> str:
        return collection(values["client_id"], self.kind.plural)

    # -- staged rollout (rr_pulumi/rollout.py): created inactive, turned on by its ProxyActivation after the rules
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        return keep_marker(super().check(olds, news), news)

    def create_body(self, props: dict[str, Any]) -> dict[str, Any]:
        return super().create_body(inactive(props) if staged(props) else props)

    def create(self, props: dict[str, Any]) -> Any:
        if staged(props):
            return report_declared(super().create(inactive(props)), props)
        return super().create(props)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        result = super().diff(id_, olds, news)
        if not result.changes and self.url_of(id_, news) not in (None, olds.get("url")):
            return DiffResult(changes=True, replaces=[], delete_before_replace=False)  # the data-plane setting moved
        return result

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        if not super().diff(id_, olds, news).changes:  # only the URL moved (see `diff`): record it, send nothing
            outs = {**user_props(olds), "url": self.url_of(id_, news)}
            return UpdateResult(self.recorded(outs, user_props(news), news))
        if staged(news):
            return report_declared_update(super().update(id_, olds, still_off(olds, news)), news)
        return super().update(id_, olds, news)
    # -- end staged rollout

    def extra_outputs(self, id_: str, values: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
        url = self.url_of(id_, values)
        return {"url": url} if url else {}

    def url_of(self, id_: str, values: dict[str, Any]) -> Optional[str]:
        """The proxy's data-plane URL under the current settings (None while its region is not known)."""
        region = values.get("proxy_region")
        if not isinstance(region, str) or not region or contains_unknown(region):
            return None
        return self.settings(values).proxy_url(region, id_)
