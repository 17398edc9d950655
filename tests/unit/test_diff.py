"""diff decisions: exact, replace only for immutable fields, secrets by fingerprint."""

from rr_pulumi.schema.plan import plan_diff
from rr_pulumi.provider.credential import CredentialProvider
from rr_pulumi.provider.proxy import ProxyProvider
from rr_pulumi.provider.rule import RuleProvider
from rr_pulumi.schema import UNKNOWN, CredentialSchema, ProxySchema, RuleSchema, TargetSchema, secret_hash, validate

PROXY_IN = {
    "client_id": "c1",
    "proxy_name": "payments",
    "proxy_region": "us-east-1",
    "proxy_credential_id": "pc",
    "target_id": "t",
    "target_credential_id": "tc",
}
PROXY_OUT = {
    **PROXY_IN,
    "proxy_active": True,
    "proxy_default_rule_effect": "allow",
    "proxy_max_requests_per_minute": 1000.0,
    "proxy_max_requests_per_day": 20000.0,
    "proxy_created_at": "2026-01-01T00:00:00.000Z",
    "proxy_updated_at": "2026-01-01T00:00:00.000Z",
    "url": "https://us-east-1.requestrocket.com/api/p1",
    "__provider": "ignored",
}


def checked(schema, values):
    out, errors = validate(schema, values)
    assert errors == []
    return out


def test_no_op_is_no_change_with_server_defaults():
    plan = plan_diff(ProxySchema, PROXY_OUT, checked(ProxySchema, PROXY_IN))
    assert plan.changes == [] and plan.replaces == []


def test_mutable_change_updates_in_place():
    plan = plan_diff(ProxySchema, PROXY_OUT, checked(ProxySchema, {**PROXY_IN, "proxy_max_requests_per_minute": 60}))
    assert plan.changes == ["proxy_max_requests_per_minute"] and plan.replaces == []


def test_repointing_references_is_an_update():
    plan = plan_diff(ProxySchema, PROXY_OUT, checked(ProxySchema, {**PROXY_IN, "target_id": "t2"}))
    assert plan.changes == ["target_id"] and plan.replaces == []


def test_immutable_change_replaces():
    plan = plan_diff(ProxySchema, PROXY_OUT, checked(ProxySchema, {**PROXY_IN, "proxy_region": "eu-west-1"}))
    assert plan.replaces == ["proxy_region"]
    plan = plan_diff(ProxySchema, PROXY_OUT, checked(ProxySchema, {**PROXY_IN, "client_id": "c2"}))
    assert plan.replaces == ["client_id"]


def test_unknown_value_counts_as_change_and_replaces_when_immutable():
    plan = plan_diff(ProxySchema, PROXY_OUT, {**checked(ProxySchema, PROXY_IN), "client_id": UNKNOWN, "target_id": UNKNOWN})
    assert set(plan.changes) == {"client_id", "target_id"} and plan.replaces == ["client_id"]


def test_removed_optional_field_is_cleared_but_server_defaults_are_not():
    olds = {**PROXY_OUT, "proxy_alias": "pay"}
    plan = plan_diff(ProxySchema, olds, checked(ProxySchema, PROXY_IN))
    assert plan.changes == ["proxy_alias"]  # limits left unset: the server's value stands


def test_target_defaults_normalised():
    ins = {"client_id": "c", "target_name": "t", "target_base_url": "https://x", "target_region": "us-east-1"}
    outs = {**ins, "target_default_rule_effect": "allow", "target_created_at": "x"}
    assert plan_diff(TargetSchema, outs, checked(TargetSchema, ins)).changes == []
    outs = {**outs, "target_default_rule_effect": "deny"}  # changed out of band, then refreshed
    assert plan_diff(TargetSchema, outs, checked(TargetSchema, ins)).changes == ["target_default_rule_effect"]


CRED_IN = {
    "client_id": "c1",
    "credential_name": "callers",
    "credential_type": "proxy",
    "credential_auth_type": "apiKey",
    "credential_region": "us-east-1",
    "credential_secret": {"api_key": "k-1"},
}


def cred_out(secret=None, **extra):
    secret = secret or {"api_key": "k-1"}
    return {**CRED_IN, "credential_secret": secret, "credential_secret_hash": secret_hash(secret), **extra}


def test_secret_rotation_is_an_update_not_a_replace():
    plan = plan_diff(CredentialSchema, cred_out(), checked(CredentialSchema, {**CRED_IN, "credential_secret": {"api_key": "k-2"}}))
    assert plan.changes == ["credential_secret"] and plan.replaces == []


def test_same_secret_is_no_change():
    assert plan_diff(CredentialSchema, cred_out(), checked(CredentialSchema, CRED_IN)).changes == []


def test_stale_fingerprint_forces_resend():
    olds = cred_out(credential_secret_hash="stale: credential updated outside Pulumi at 2026")
    assert plan_diff(CredentialSchema, olds, checked(CredentialSchema, CRED_IN)).changes == ["credential_secret"]


def test_credential_type_auth_type_region_replace():
    for field, value in (("credential_type", "target"), ("credential_auth_type", "bearer"), ("credential_region", "eu-west-1")):
        news = {**CRED_IN, field: value}
        if field == "credential_auth_type":
            news["credential_secret"] = {"token": "t"}
        if field == "credential_type":
            news["credential_auth_type"] = "apiKey"
        plan = plan_diff(CredentialSchema, cred_out(), checked(CredentialSchema, news))
        assert field in plan.replaces


def test_every_rule_change_replaces_and_method_order_does_not_matter():
    ins = {"client_id": "c", "proxy_id": "p", "effect": "deny", "priority": 900, "methods": ["DELETE", "GET"]}
    outs = {**checked(RuleSchema, ins), "priority": 900.0}
    assert plan_diff(RuleSchema, outs, checked(RuleSchema, {**ins, "methods": ["get", "delete"]})).changes == []
    plan = plan_diff(RuleSchema, outs, checked(RuleSchema, {**ins, "notes": "why"}))
    assert plan.replaces == ["notes"]
    plan = plan_diff(RuleSchema, outs, checked(RuleSchema, {**ins, "priority": 10}))
    assert plan.replaces == ["priority"]


def test_diff_result_lists_properties():
    result = ProxyProvider().diff("p1", PROXY_OUT, {**checked(ProxySchema, {**PROXY_IN, "proxy_region": "eu-west-1"}), "__provider": "x"})
    assert result.changes is True and result.replaces == ["proxy_region"]
    result = ProxyProvider().diff("p1", PROXY_OUT, {**checked(ProxySchema, PROXY_IN), "__provider": "different"})
    assert result.changes is False and result.replaces == []
    assert CredentialProvider().diff("c", cred_out(), checked(CredentialSchema, CRED_IN)).changes is False
    assert RuleProvider  # imported for symmetry


def test_empty_lists_returned_by_the_api_are_not_a_diff():
    ins = {"client_id": "c", "proxy_id": "p", "effect": "deny", "priority": 900, "methods": ["DELETE"]}
    outs = {**checked(RuleSchema, ins), "header_checks": [], "query_checks": [], "path_pattern": None}
    assert plan_diff(RuleSchema, outs, checked(RuleSchema, ins)).changes == []
    assert plan_diff(RuleSchema, {**outs, "methods": []}, checked(RuleSchema, {**ins, "methods": []})).changes == []
