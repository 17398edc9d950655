"""Target provider: `/api/clients/{clientId}/targets`."""

from __future__ import annotations

from typing import Any

from ..client import collection
from ..schema import TargetSchema
from ._base import SchemaProvider


class TargetProvider(SchemaProvider):
    schema = TargetSchema
    kind = "target"

    def collection(self, values: dict[str, Any]) -> str:
        return collection(values["client_id"], "targets")

    def natural_key(self, values: dict[str, Any], item: dict[str, Any]) -> bool:
        return item.get("targetName") == values.get("target_name")

    def natural_key_text(self, values: dict[str, Any]) -> str:
        return f"target_name {values.get('target_name')!r}"
