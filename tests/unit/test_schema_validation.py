"""check's rules: every failure names the Python argument and the allowed values or bounds."""

import pytest

from rr_pulumi.schema import (
    UNKNOWN,
    ClientSchema,
    CredentialSchema,
    ProxySchema,
    RuleSchema,
    TargetSchema,
    fields,
    validate,
)

PROXY = {
    "client_id": "c1",
    "proxy_name": "payments",
    "proxy_region": "us-east-1",
    "proxy_credential_id": "pc",
    "target_id": "t",
    "target_credential_id": "tc",
}
CRED = {
    "client_id": "c1",
    "credential_name": "callers",
    "credential_type": "proxy",
    "credential_auth_type": "apiKey",
    "credential_region": "us-east-1",
    "credential_secret": {"api_key": "k-123456"},
}
RULE = {"client_id": "c1", "proxy_id": "p1", "effect": "deny", "priority": 900}


def failures(schema, values):
    return {f.argument: f.reason for f in validate(schema, values)[1]}


def test_valid_proxy_gets_server_defaults_filled_in():
    values, errors = validate(ProxySchema, PROXY)
    assert errors == []
    assert values["proxy_active"] is True and values["proxy_default_rule_effect"] == "allow"
    assert "proxy_max_requests_per_minute" not in values  # the server chooses


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("proxy_max_requests_per_minute", 5000, "must be between 1 and 1000 (got 5000)"),
        ("proxy_max_requests_per_day", 0, "must be between 1 and 20000 (got 0)"),
        ("proxy_default_rule_effect", "maybe", "must be one of: allow, deny (got 'maybe')"),
        ("proxy_region", "mars-1", "must be an AWS region code such as us-east-1"),
        ("proxy_name", "", "must not be empty"),
        ("proxy_name", "x" * 101, "must be at most 100 characters long (got 101)"),
        ("proxy_alias", "has space", "must be 1-100 characters from A-Z, a-z, 0-9, '-' and '_'"),
        ("proxy_active", "yes please", "must be true or false"),
    ],
)
def test_proxy_failures_name_the_argument_and_the_bounds(field, value, expected):
    assert expected in failures(ProxySchema, {**PROXY, field: value})[field]


def test_numbers_from_the_engine_arrive_as_floats_and_become_ints():
    values, errors = validate(ProxySchema, {**PROXY, "proxy_max_requests_per_minute": 60.0})
    assert errors == [] and values["proxy_max_requests_per_minute"] == 60
    assert isinstance(values["proxy_max_requests_per_minute"], int)
    assert "got 5000)" in failures(ProxySchema, {**PROXY, "proxy_max_requests_per_minute": 5000.0})[
        "proxy_max_requests_per_minute"
    ]


def test_required_arguments_are_named():
    assert failures(ProxySchema, {"client_id": "c"}) == {
        "proxy_name": "is required",
        "proxy_region": "is required",
        "proxy_credential_id": "is required",
        "target_id": "is required",
        "target_credential_id": "is required",
    }
    # A missing closed set names its values (a dict secret without credential_auth_type, say).
    missing = failures(CredentialSchema, {"client_id": "c", "credential_name": "n", "credential_region": "us-east-1"})
    assert missing["credential_type"] == "is required; one of: proxy, target"
    assert missing["credential_auth_type"].startswith("is required; one of: apiKey, bearer, jwt, basicAuth, oauth2")


def test_unknown_values_during_preview_are_accepted():
    from pulumi.output import Unknown

    values, errors = validate(ProxySchema, {**PROXY, "client_id": UNKNOWN, "target_id": UNKNOWN})
    assert errors == [] and values["target_id"] == UNKNOWN
    unknown = Unknown()  # what the SDK hands to check during a preview
    values, errors = validate(ProxySchema, {**PROXY, "client_id": unknown, "proxy_max_requests_per_minute": unknown})
    assert errors == [] and values["client_id"] is unknown


def test_client_name_bounds():
    assert failures(ClientSchema, {"client_name": "x" * 101}) == {
        "client_name": "must be at most 100 characters long (got 101)"
    }
    assert failures(ClientSchema, {}) == {"client_name": "is required"}


def test_target_url_form_and_test_path():
    base = {"client_id": "c", "target_name": "stripe", "target_region": "us-east-1"}
    assert "must be an absolute http:// or https:// URL" in failures(
        TargetSchema, {**base, "target_base_url": "ftp://x"}
    )["target_base_url"]
    assert "must be a path starting with '/'" in failures(
        TargetSchema, {**base, "target_base_url": "https://api.stripe.com", "target_test_path": "v1"}
    )["target_test_path"]
    values, errors = validate(TargetSchema, {**base, "target_base_url": "https://api.stripe.com"})
    assert errors == [] and values["target_default_rule_effect"] == "allow"


def test_auth_type_must_be_allowed_for_the_credential_type():
    reason = failures(CredentialSchema, {**CRED, "credential_auth_type": "oauth2"})["credential_auth_type"]
    assert reason == "'oauth2' is not allowed for credential_type 'proxy'; allowed: apiKey, bearer, jwt, basicAuth, jwtVerify"
    reason = failures(CredentialSchema, {**CRED, "credential_type": "target", "credential_auth_type": "jwtVerify"})
    assert "allowed: apiKey, bearer, jwt, basicAuth, oauth2, customToken, custom, none" in reason["credential_auth_type"]


def test_secret_shape_failures_name_the_key_and_never_show_the_value():
    result = failures(CredentialSchema, {**CRED, "credential_secret": {"header_name": "X-Key-sekrit-value"}})
    assert result == {"credential_secret.api_key": "is required (secret shape for 'apiKey')"}
    result = failures(
        CredentialSchema,
        {**CRED, "credential_auth_type": "basicAuth", "credential_secret": {"username": "u", "password": 12345}},
    )
    assert "12345" not in str(result) and "credential_secret.password" in result
    assert failures(CredentialSchema, {**CRED, "credential_secret": None}) == {
        "credential_secret": "is required for credential_auth_type 'apiKey'"
    }


@pytest.mark.parametrize(
    "auth, ctype, secret",
    [
        ("apiKey", "proxy", {"apiKey": "k", "headerName": "X-API-Key"}),
        ("bearer", "target", {"token": "t", "prefix": "Token "}),
        ("jwt", "proxy", {"token": "a.b.c"}),
        ("basicAuth", "target", {"username": "u", "password": "p"}),
        ("oauth2", "target", {"grant_type": "client_credentials", "client_id": "i", "client_secret": "s", "token_url": "https://idp/token"}),
        ("customToken", "target", {"url": "https://idp/t", "method": "POST", "token_path": "$.access_token"}),
        ("custom", "target", {"headers": {"X-A": "1"}}),
        ("none", "target", None),
        ("jwtVerify", "proxy", {"jwks_uri": "https://idp/.well-known/jwks.json", "audience": "api"}),
        ("jwtVerify", "proxy", {"shared_secret": "s3"}),
    ],
)
def test_every_auth_type_has_a_valid_shape(auth, ctype, secret):
    values = {**CRED, "credential_type": ctype, "credential_auth_type": auth, "credential_secret": secret}
    assert validate(CredentialSchema, values)[1] == []


def test_secret_keys_are_canonical_python_names_and_extra_keys_are_kept():
    values, _ = validate(CredentialSchema, {**CRED, "credential_secret": {"apiKey": "k", "region_hint": "x"}})
    assert values["credential_secret"] == {"api_key": "k", "region_hint": "x"}


def test_jwt_verify_needs_exactly_one_key_source():
    result = failures(
        CredentialSchema,
        {**CRED, "credential_auth_type": "jwtVerify", "credential_secret": {"jwks_uri": "https://a/j", "shared_secret": "s"}},
    )
    assert result == {"credential_secret": "needs exactly one of jwks_uri or shared_secret (secret shape for 'jwtVerify')"}


def test_unknown_secret_is_not_judged():
    assert validate(CredentialSchema, {**CRED, "credential_secret": {"api_key": UNKNOWN}})[1] == []


def test_rule_rules():
    assert failures(RuleSchema, {**RULE, "priority": 1001}) == {"priority": "must be between 0 and 1000 (got 1001)"}
    assert failures(RuleSchema, {**RULE, "methods": ["FETCH"]})["methods[0]"].startswith(
        "must be one of: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
    )
    assert "must be a regular expression that compiles" in failures(RuleSchema, {**RULE, "path_pattern": "^/a("})["path_pattern"]
    assert failures(RuleSchema, {**RULE, "header_checks": [{"name_pattern": "x", "presence": "maybe"}]}) == {
        "header_checks[0].presence": "must be one of: present, absent (got 'maybe')"
    }
    assert failures(RuleSchema, {**RULE, "regex_flags": "g"}) == {
        "regex_flags": "must be distinct letters from 'imsx' (got 'g')"
    }


def test_rule_needs_exactly_one_parent_even_when_unknown():
    assert "set one of credential_id, target_id, proxy_id" in failures(RuleSchema, {**RULE, "proxy_id": None})["credential_id/target_id/proxy_id"]
    assert "got target_id, proxy_id" in failures(RuleSchema, {**RULE, "target_id": UNKNOWN})["proxy_id"]
    assert validate(RuleSchema, {**RULE, "proxy_id": UNKNOWN})[1] == []


def test_rule_methods_are_normalised():
    values, _ = validate(RuleSchema, {**RULE, "methods": ["get", "DELETE", "get"]})
    assert values["methods"] == ["DELETE", "GET"]


def test_markers():
    cred = fields(CredentialSchema)
    assert {n for n, f in cred.items() if f.immutable} == {
        "client_id", "credential_type", "credential_auth_type", "credential_region"
    }
    assert cred["credential_secret"].secret and cred["credential_updated_at"].computed
    assert {n for n, f in fields(TargetSchema).items() if f.immutable} == {"client_id", "target_region"}
    assert {n for n, f in fields(ProxySchema).items() if f.immutable} == {"client_id", "proxy_region"}
    rule = fields(RuleSchema)
    assert all(f.immutable for f in rule.values() if not f.computed)  # rules cannot be updated
    assert fields(ProxySchema)["proxy_credential_id"].wire == "proxyProxyCredentialId"
