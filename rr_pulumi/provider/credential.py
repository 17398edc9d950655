"""Credential provider: `/api/clients/{clientId}/credentials`, with secret rotation in place.

The API never returns `credentialSecret`, so the state keeps the declared secret (a Pulumi secret) and its
fingerprint. `credentialUpdatedAt` is remembered: when `refresh` finds it moved without this provider having
written, the secret may have been rotated out of band, so the fingerprint is marked stale and the next `up`
sends the declared secret again (an in-place PUT).
"""

from __future__ import annotations

from typing import Any

from ..client import collection
from ..errors import secret_strings
from ..schema import CredentialSchema, secret_to_wire
from ._base import SchemaProvider, hash_key

SECRET = "credential_secret"
STALE = "stale: credential updated outside Pulumi at "


class CredentialProvider(SchemaProvider):
    schema = CredentialSchema
    kind = "credential"

    def collection(self, values: dict[str, Any]) -> str:
        return collection(values["client_id"], "credentials")

    def natural_key(self, values: dict[str, Any], item: dict[str, Any]) -> bool:
        return item.get("credentialName") == values.get("credential_name")

    def natural_key_text(self, values: dict[str, Any]) -> str:
        return f"credential_name {values.get('credential_name')!r}"

    def body(self, values: dict[str, Any], only: Any = None) -> dict[str, Any]:
        body = super().body(values, only)
        wire = CredentialSchema.model_fields[SECRET].alias
        if wire in body:
            body[wire] = secret_to_wire(values["credential_auth_type"], values[SECRET])
        return body

    def secrets_of(self, values: dict[str, Any]) -> list[str]:
        return secret_strings(values.get(SECRET))

    def after_read(self, previous: dict[str, Any], outs: dict[str, Any]) -> dict[str, Any]:
        known, live = previous.get("credential_updated_at"), outs.get("credential_updated_at")
        if known and live and live != known:
            return {**outs, hash_key(SECRET): STALE + str(live)}
        if str(previous.get(hash_key(SECRET), "")).startswith(STALE):
            return {**outs, hash_key(SECRET): previous[hash_key(SECRET)]}  # still stale until an `up` re-sends it
        return outs
