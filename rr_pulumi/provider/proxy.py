"""Proxy provider: `/api/clients/{clientId}/proxies`; adds the data-plane URL as an output."""

from __future__ import annotations

from typing import Any

from .. import kinds
from ..client import collection
from . import activation
from ._base import SchemaProvider
from .adopt import MARKERS


class ProxyProvider(SchemaProvider):
    kind = kinds.PROXY
    input_markers = (*MARKERS, activation.STAGED)

    def collection(self, values: dict[str, Any]) -> str:
        return collection(values["client_id"], self.kind.plural)

    # -- staged rollout (rr_pulumi/rollout.py): created inactive, turned on by its ProxyActivation after the rules
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        return activation.keep_marker(super().check(olds, news), news)

    def create(self, props: dict[str, Any]) -> Any:
        if activation.staged(props):
            return activation.report_declared(super().create(activation.inactive(props)), props)
        return super().create(props)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        if activation.staged(news):
            return activation.report_declared_update(super().update(id_, olds, activation.still_off(olds, news)), news)
        return super().update(id_, olds, news)
    # -- end staged rollout

    def extra_outputs(self, id_: str, values: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
        region = values.get("proxy_region")
        return {"url": self.settings(values).proxy_url(region, id_)} if region else {}
