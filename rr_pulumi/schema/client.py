"""Client (organisation): `/api/clients/{clientId}`."""

from __future__ import annotations

from typing import Any, Optional

from ._base import SchemaModel, prop
from .common import NAME_MAX


class ClientSchema(SchemaModel):
    client_name: Optional[str] = prop(
        "clientName",
        required=True,
        min_length=1,
        max_length=NAME_MAX,
        description=f"Name of the organisation (1-{NAME_MAX} characters).",
    )
    client_id: Optional[str] = prop("clientId", computed=True, description="Id of the client (set by the server).")
    client_members: Optional[list[dict[str, Any]]] = prop(
        "clientMembers", computed=True, description="Members and their roles; the creator is owner and admin."
    )
