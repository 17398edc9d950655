"""Client (organisation): `/api/clients/{clientId}`."""

from __future__ import annotations

from typing import ClassVar, Optional

from pydantic import BaseModel, ConfigDict, Field

from rr_pulumi.schema.model import KindFacts, SchemaModel, prop
from rr_pulumi.schema.common import NAME_MAX, timestamp_prop


class ClientMember(BaseModel):
    """A member of the client and their roles."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, loc_by_alias=False, extra="ignore")

    user_id: str = Field(alias="userId", description="Id of the user.")
    roles: list[str] = Field(default_factory=list, alias="roles", description="Roles such as owner and admin.")


class ClientSchema(SchemaModel):
    """A RequestRocket client (organisation); its creator becomes owner and admin. Deleting it deletes everything it
    owns."""

    kind_facts: ClassVar[KindFacts] = KindFacts(plural="clients", word="client", name_field="client_name")

    client_name: Optional[str] = prop(
        "clientName",
        required=True,
        min_length=1,
        max_length=NAME_MAX,
        description=f"Name of the organisation (1-{NAME_MAX} characters).",
    )
    client_id: Optional[str] = prop("clientId", computed=True, description="Id of the client (set by the server).")
    client_members: Optional[list[ClientMember]] = prop(
        "clientMembers", computed=True, description="Members and their roles; the creator is owner and admin."
    )
    client_created_at: Optional[str] = timestamp_prop("clientCreatedAt", "client was created")
    client_updated_at: Optional[str] = timestamp_prop("clientUpdatedAt", "client was last updated")
