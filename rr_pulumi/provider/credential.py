"""Credential provider: `/api/clients/{clientId}/credentials`, with secret rotation in place.

The API never returns `credentialSecret`, so the state keeps the declared secret (a Pulumi secret) and its
fingerprint. `credentialUpdatedAt` is remembered: when `refresh` finds it moved while every other field is as
recorded, only the secret can have changed (rotated out of band), so the fingerprint is marked `stale:` and the
next `up` sends the declared secret again (an in-place PUT). A rename or any other field change also moves the
timestamp, and is not taken for a rotation.

An adopted credential without a declared secret keeps its live one: nothing is sent, and no secret is recorded.

`credential_secret_rotation` is a plain input counting the secret changes made in the code: `pulumi preview --diff`
prints a secret only as `[secret]`, and a dynamic provider cannot mark it changed, so reviewers see
`~ credential_secret_rotation: 1 => 2` instead. It never reaches the API and never causes a diff by itself.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CheckResult

from rr_pulumi.schema import kinds
from rr_pulumi.api.client import collection
from rr_pulumi.api.errors import secret_strings
from rr_pulumi.schema.plan import hash_key, is_unset
from rr_pulumi.schema.wire import Failure, contains_unknown, fields, input_fields, normalize, secret_hash
from rr_pulumi.provider.base import SchemaProvider
from rr_pulumi.provider.adopt import MARKERS, adopting

SECRET = "credential_secret"
UPDATED_AT = "credential_updated_at"
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


def rotated_out_of_band(previous: dict[str, Any], live: dict[str, Any]) -> bool:
    """Whether a refresh shows a secret rotation: the update time moved and no other field changed."""
    known, now = previous.get(UPDATED_AT), live.get(UPDATED_AT)
    if not known or not now or known == now:
        return False
    schema = kinds.CREDENTIAL.schema_name
    before, after = normalize(schema, previous), normalize(schema, live)
    for name, spec in input_fields(schema).items():
        if spec.secret or spec.path or name not in before:
            continue
        if before.get(name) != after.get(name) and not (is_unset(before.get(name)) and is_unset(after.get(name))):
            return False  # a rename or another change moved the timestamp
    return True


class CredentialProvider(SchemaProvider):
    kind = kinds.CREDENTIAL
    input_markers = (*MARKERS, ROTATION)

    def collection(self, values: dict[str, Any]) -> str:
        return collection(values["client_id"], self.kind.plural)

    def relax(self, failures: list[Failure], values: dict[str, Any], markers: dict[str, Any]) -> list[Failure]:
        if not adopting(markers) or values.get(SECRET) is not None:
            return failures
        return [f for f in failures if f.argument != SECRET]  # adopted without a secret: the live one stays

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        result = super().check(olds, news)
        if not result.failures:
            result.inputs[ROTATION] = rotation(olds or {}, result.inputs)
        return result

    def body(self, values: dict[str, Any], only: Any = None) -> dict[str, Any]:
        body = super().body(values, only)
        wire = fields(self.schema)[SECRET].wire
        if wire in body:
            from rr_pulumi.schema import secret_to_wire  # a write: the secret's shape is validated (pydantic)

            body[wire] = secret_to_wire(values["credential_auth_type"], values[SECRET])
        return body

    def secrets_of(self, values: dict[str, Any]) -> list[str]:
        return secret_strings(values.get(SECRET))

    def after_read(self, previous: dict[str, Any], outs: dict[str, Any]) -> dict[str, Any]:
        if rotated_out_of_band(previous, outs):
            return {**outs, hash_key(SECRET): STALE + str(outs[UPDATED_AT])}
        if str(previous.get(hash_key(SECRET), "")).startswith(STALE):
            return {**outs, hash_key(SECRET): previous[hash_key(SECRET)]}  # still stale until an `up` re-sends it
        return outs
