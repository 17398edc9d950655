"""Target provider: `/api/clients/{clientId}/targets`."""

from __future__ import annotations

from typing import Any

from rr_pulumi.schema import kinds
from rr_pulumi.api.client import collection
from rr_pulumi.provider.base import SchemaProvider


class TargetProvider(SchemaProvider):
    kind = kinds.TARGET

    def collection(self, values: dict[str, Any]) -> str:
        return collection(values["client_id"], self.kind.plural)
