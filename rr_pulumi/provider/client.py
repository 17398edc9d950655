"""Client (organisation) provider: `/api/clients`."""

from __future__ import annotations

from typing import Any, Optional

from rr_pulumi.schema import kinds
from rr_pulumi.api.client import CLIENTS, collection
from rr_pulumi.provider.base import SchemaProvider


class ClientProvider(SchemaProvider):
    kind = kinds.CLIENT

    def collection(self, values: dict[str, Any]) -> str:
        return CLIENTS

    def parent_text(self, values: dict[str, Any]) -> str:
        return "the clients this token can see"

    def extra_outputs(self, id_: str, values: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
        return {"client_id": id_}

    def children_to_read(self, id_: str) -> list[str]:
        # A refresh reads every client first, then the credentials, targets and proxies: listing a client's three
        # collections as soon as the client is read saves the engine a round trip at each of those levels. The
        # price is one list for a kind the stack does not hold under this client (at most three per client).
        return [collection(id_, kind.plural) for kind in kinds.CLIENT_CHILDREN]

    def children_of(self, values: dict[str, Any], id_: str) -> list[str]:
        return self.children_to_read(id_)  # their rules need them: with these empty, nothing else is below

    def delete_body(self, props: dict[str, Any]) -> Optional[dict[str, Any]]:
        # Without it the client is only marked for deletion; a destroyed stack should leave nothing behind.
        return {"immediatelyDelete": True}
