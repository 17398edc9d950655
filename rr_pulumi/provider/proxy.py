"""Proxy provider: `/api/clients/{clientId}/proxies`; adds the data-plane URL as an output."""

from __future__ import annotations

from typing import Any

from .. import kinds
from ..client import collection
from ..schema import ProxySchema
from ._base import SchemaProvider


class ProxyProvider(SchemaProvider):
    schema = ProxySchema
    kind = kinds.PROXY

    def collection(self, values: dict[str, Any]) -> str:
        return collection(values["client_id"], self.kind.plural)

    def extra_outputs(self, id_: str, values: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
        region = values.get("proxy_region")
        return {"url": self.settings(values).proxy_url(region, id_)} if region else {}
