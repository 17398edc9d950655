"""Client (organisation) provider: `/api/clients`."""

from __future__ import annotations

from typing import Any, Optional

from .. import kinds
from ..client import CLIENTS
from ._base import SchemaProvider


class ClientProvider(SchemaProvider):
    kind = kinds.CLIENT

    def collection(self, values: dict[str, Any]) -> str:
        return CLIENTS

    def parent_text(self, values: dict[str, Any]) -> str:
        return "the clients this token can see"

    def extra_outputs(self, id_: str, values: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
        return {"client_id": id_}

    def delete_body(self, props: dict[str, Any]) -> Optional[dict[str, Any]]:
        # Without it the client is only marked for deletion; a destroyed stack should leave nothing behind.
        return {"immediatelyDelete": True}
