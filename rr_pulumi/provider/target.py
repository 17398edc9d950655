"""Target provider: `/api/clients/{clientId}/targets`."""

from __future__ import annotations

from typing import Any

from .. import kinds
from ..client import collection
from ._base import SchemaProvider


class TargetProvider(SchemaProvider):
    kind = kinds.TARGET

    def collection(self, values: dict[str, Any]) -> str:
        return collection(values["client_id"], self.kind.plural)
