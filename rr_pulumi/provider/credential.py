"""Credential provider: `/api/clients/{clientId}/credentials`, with secret rotation in place.

The API never returns `credentialSecret`, so the state keeps the declared secret (a Pulumi secret) and its
fingerprint. `credentialUpdatedAt` is remembered: when `refresh` finds it moved without this provider having
written, the secret may have been rotated out of band, so the fingerprint is marked stale and the next `up`
sends the declared secret again (an in-place PUT).

`credential_secret_rotation` is a plain input counting the secret changes made in the code: `pulumi preview --diff`
prints a secret only as `[secret]`, and a dynamic provider cannot mark it changed, so reviewers see
`~ credential_secret_rotation: 1 => 2` instead. It never reaches the API and never causes a diff by itself.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CheckResult

from ..client import collection
from ..errors import secret_strings
from ..schema import CredentialSchema, contains_unknown, secret_hash, secret_to_wire
from ._base import SchemaProvider, hash_key

SECRET = "credential_secret"
STALE = "stale: credential updated outside Pulumi at "
ROTATION = "credential_secret_rotation"


def rotation(olds: dict[str, Any], news: dict[str, Any]) -> int:
    """The rotation count for these inputs: one more than before when the declared secret changed."""
    previous = olds.get(ROTATION)
    count = int(previous) if isinstance(previous, (int, float)) and not isinstance(previous, bool) else 0
    secret = news.get(SECRET)
    if not olds or secret is None or contains_unknown(secret):
        return max(count, 1)
    changed = olds.get(SECRET) is None or secret_hash(olds[SECRET]) != secret_hash(secret)
    return count + 1 if changed else max(count, 1)


class CredentialProvider(SchemaProvider):
    schema = CredentialSchema
    kind = "credential"

    def collection(self, values: dict[str, Any]) -> str:
        return collection(values["client_id"], "credentials")

    def natural_key(self, values: dict[str, Any], item: dict[str, Any]) -> bool:
        return item.get("credentialName") == values.get("credential_name")

    def natural_key_text(self, values: dict[str, Any]) -> str:
        return f"credential_name {values.get('credential_name')!r}"

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        result = super().check(olds, news)
        if not result.failures:
            result.inputs[ROTATION] = rotation(olds or {}, result.inputs)
        return result

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
