"""The emulator's wire checks and the provider's schema agree on every enum, bound, shape and immutable field.

The emulator reads its facts from rr_pulumi.schema, but checks values with its own code (wire names, the API's
error texts). These tests feed both the same values at every boundary, so a fact read wrongly, or a check that
drifts from the schema, fails here.
"""
from __future__ import annotations

from typing import Any

import pytest

from rr_pulumi.schema import schema_of
from rr_pulumi.schema import kinds
from rr_pulumi.emulator import schema as wire
from rr_pulumi.schema import RuleSchema, common, fields, validate
from rr_pulumi.schema.credential import CredentialSchema, secret_shape_failures

REGION = "us-east-1"


def schema_accepts(model, python_name: str, value: Any) -> bool:
    _, failures = validate(model, {python_name: value})
    return not [f for f in failures if f.argument.split(".")[0].split("[")[0] == python_name]


def wire_accepts(check, *args) -> bool:
    try:
        check(*args)
    except wire.Invalid:
        return False
    return True


def python_name(model, wire_name: str) -> str:
    return next(name for name, spec in fields(model).items() if spec.wire == wire_name)


def samples(field: wire.Field) -> list[tuple[Any, bool]]:
    """(value, valid?) pairs at the field's boundaries. Wrong JSON types are in WIRE_ONLY: the schema coerces
    Python inputs on purpose (the engine hands numbers over as floats), the wire takes JSON types strictly."""
    if field.type == "string":
        return [("a" * field.high, True), ("a" * (field.high + 1), False), ("a" * max(field.low - 1, 0), False)]
    if field.type == "integer":
        return [(field.low, True), (field.high, True), (field.low - 1, False), (field.high + 1, False)]
    if field.type == "enum":
        return [(v, True) for v in field.enum] + [("nope", False), (field.enum[0].upper() + "x", False)]
    if field.type == "boolean":
        return [(True, True), (False, True)]
    if field.type == "url":
        return [("https://api.example.com/v1", True), ("ftp://x.io", False), ("not a url", False)]
    if field.type == "path":
        return [("/health", True), ("health", False)]
    if field.type == "alias":
        return [("a" * 100, True), ("a" * 101, False), ("has space", False), ("", False)]
    if field.type == "region":
        return [(REGION, True), ("moon-base-1", False)]
    return [({"k": "v"}, True), ("text", False)]


WIRE_FIELDS = [(res.kind, f) for res in wire.RESOURCES.values() for f in res.fields if f.type != "object"]
WIRE_FIELDS += [(kinds.CLIENT, f) for f in wire.CLIENT_FIELDS if f.name == "clientName"]


WIRE_ONLY = {"string": 5, "integer": "1", "boolean": "true", "enum": 1, "url": 1, "path": 1, "alias": 1, "region": 1}


@pytest.mark.parametrize("kind, field", WIRE_FIELDS, ids=lambda x: getattr(x, "name", ""))
def test_every_field_accepts_and_refuses_the_same_values(kind, field):
    name = python_name(schema_of(kind), field.name)
    for value, valid in samples(field):
        assert wire_accepts(field.check, value, wire.DEFAULT_REGIONS) is valid, (field.name, value)
        assert schema_accepts(schema_of(kind), name, value) is valid, (name, value)
    assert not wire_accepts(field.check, WIRE_ONLY[field.type], wire.DEFAULT_REGIONS)


@pytest.mark.parametrize("kind", [*kinds.CLIENT_CHILDREN, kinds.CLIENT], ids=lambda k: k.name)
def test_the_same_fields_are_required_immutable_and_write_only(kind):
    res = wire.RESOURCES.get(kind.plural)
    emulated = {f.name: f for f in (res.fields if res else wire.CLIENT_FIELDS)}
    declared = {s.wire: s for s in fields(schema_of(kind)).values() if s.wire and not s.computed and not s.path}
    assert set(declared) <= set(emulated)
    for wire_name, spec in declared.items():
        f = emulated[wire_name]
        assert (f.required, f.immutable, f.write_only) == (spec.required, spec.immutable, spec.secret), wire_name


def secret_sample(key: wire.SecretKey) -> Any:
    return {"url": "https://auth.example.com/token", "enum": key.enum[0] if key.enum else None, "object": {"h": "v"},
            "text_or_object": "body"}.get(key.type, "value")


def minimal_secret(auth: str) -> dict:
    secret = {k.name: secret_sample(k) for k in wire.SECRET_KEYS[auth] if k.required}
    if auth == "jwtVerify":
        secret["jwksUri"] = "https://auth.example.com/jwks"
    return secret


@pytest.mark.parametrize("auth", wire.AUTH_TYPES)
def test_every_secret_shape_agrees(auth):
    secret = minimal_secret(auth)
    assert wire_accepts(wire.check_secret, auth, secret) and not secret_shape_failures(auth, secret)
    for key in wire.SECRET_KEYS[auth]:
        if key.required:
            missing = {k: v for k, v in secret.items() if k != key.name}
            assert not wire_accepts(wire.check_secret, auth, missing) and secret_shape_failures(auth, missing)
        if key.type == "string":
            too_long = {**secret, key.name: "a" * (key.high + 1)}
            assert not wire_accepts(wire.check_secret, auth, too_long), key
            assert secret_shape_failures(auth, too_long), key
        if key.type in ("url", "enum"):
            wrong = {**secret, key.name: "ftp-or-nothing"}
            assert not wire_accepts(wire.check_secret, auth, wrong) and secret_shape_failures(auth, wrong), key


def test_credential_enums_and_auth_types_per_credential_type_agree():
    for ctype in wire.CREDENTIAL_TYPES:
        for auth in wire.AUTH_TYPES:
            allowed = wire_accepts(wire.check_auth_type_for, ctype, auth)
            _, failures = validate(CredentialSchema, {
                "client_id": "c-1", "credential_name": "n", "credential_type": ctype, "credential_auth_type": auth,
                "credential_region": REGION, "credential_secret": minimal_secret(auth)})
            assert allowed is not any(f.argument == "credential_auth_type" for f in failures), (ctype, auth)


RULE_BASE = {"effect": "allow", "priority": 1}


@pytest.mark.parametrize("body, valid", [
    ({"priority": wire.PRIORITY_MIN}, True), ({"priority": wire.PRIORITY_MAX}, True),
    ({"priority": wire.PRIORITY_MIN - 1}, False), ({"priority": wire.PRIORITY_MAX + 1}, False),
    ({"effect": "deny"}, True), ({"effect": "block"}, False),
    ({"methods": list(wire.HTTP_METHODS)}, True), ({"methods": ["FETCH"]}, False),
    ({"regexFlags": "imsx"}, True), ({"regexFlags": "g"}, False), ({"regexFlags": "ii"}, False),
    ({"pathPattern": "a" * common.PATTERN_MAX}, True), ({"pathPattern": "a" * (common.PATTERN_MAX + 1)}, False),
    ({"pathPattern": "("}, False), ({"pathPresence": "absent"}, True), ({"pathPresence": "maybe"}, False),
    ({"notes": "n" * wire.NOTES_MAX}, True), ({"notes": "n" * (wire.NOTES_MAX + 1)}, False),
    ({"headerChecks": [{"namePattern": "^x-", "presence": "present"}] * wire.CHECKS_MAX}, True),
    ({"headerChecks": [{"namePattern": "^x-", "presence": "present"}] * (wire.CHECKS_MAX + 1)}, False),
    ({"bodyChecks": [{"jsonPath": "$.a", "presence": "present"}]}, True),
    ({"bodyChecks": [{"jsonPath": "a", "presence": "present"}]}, False),
    ({"bodyChecks": [{"jsonPath": "$" + "a" * 999, "presence": "present"}]}, True),
    ({"bodyChecks": [{"jsonPath": "$" + "a" * 1000, "presence": "present"}]}, False),
    ({"tokenChecks": [{"claim": "c" * wire.RULE_CHECKS["tokenChecks"].high, "presence": "absent"}]}, True),
    ({"tokenChecks": [{"claim": "c" * (wire.RULE_CHECKS["tokenChecks"].high + 1), "presence": "absent"}]}, False),
    ({"queryChecks": [{"namePattern": "q", "presence": "sometimes"}]}, False),
])
def test_rule_bounds_and_enums_agree(body, valid):
    wire_body = {**RULE_BASE, **body}
    assert wire_accepts(wire.check_rule, wire_body) is valid
    python = {python_name(RuleSchema, k): v for k, v in wire_body.items()}
    _, failures = validate(RuleSchema, {**python, "proxy_id": "p-1", "client_id": "c-1"})
    assert (not failures) is valid, failures


def test_rule_fields_and_required_fields_agree():
    declared = {s.wire: s for s in fields(RuleSchema).values() if s.wire and not s.path and not s.computed}
    assert set(wire.RULE_FIELDS) == set(declared)
    assert set(wire.RULE_REQUIRED) == {w for w, s in declared.items() if s.required}
    assert wire.RULE_PARENTS == {k.plural: k.word for k in kinds.RULE_PARENTS}
