"""Property tests of every resource's check and diff: whatever the program passes, check never raises and every
rejection names an argument; diff never raises on anything check accepted, and replaces only immutable fields."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rr_pulumi.provider import base as _base
from rr_pulumi.provider.client import ClientProvider
from rr_pulumi.provider.credential import CredentialProvider
from rr_pulumi.provider.proxy import ProxyProvider
from rr_pulumi.provider.rule import RuleProvider
from rr_pulumi.provider.target import TargetProvider
from rr_pulumi.schema import fields, input_fields

PROVIDERS = [ClientProvider, CredentialProvider, TargetProvider, ProxyProvider, RuleProvider]
EXAMPLES = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Values a program might plausibly pass, mixed with junk: the interesting failures sit near valid inputs.
PLAUSIBLE = st.sampled_from([
    "us-east-1", "eu-west-1", "mars-1", "proxy", "target", "apiKey", "bearer", "basicAuth", "oauth2", "none", "jwt",
    "custom", "customToken", "jwtVerify", "allow", "deny", "GET", "DELETE", "get", "present", "absent",
    "https://x.example.com", "ftp://x", "/health", "health", "^/v1/.*$", "(", "$.a", "a", "", "x" * 101,
    "client_credentials", "authorization_code", "imsx", "g", 0, 1, 100, 1000, 1001, -1, 2.5, 1e9, True, None,
    ["GET", "POST"], ["get"], ["GET", "GET"], [], {},
])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=30)
    | PLAUSIBLE,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
SECRET_KEYS = ["api_key", "header_name", "token", "prefix", "username", "password", "grant_type", "client_id",
               "client_secret", "token_url", "scope", "url", "method", "headers", "body", "token_path", "jwks_uri",
               "shared_secret", "audience", "issuer"]
CHECK_KEYS = ["name_pattern", "value_pattern", "presence", "json_path", "claim"]


def inputs_for(provider) -> st.SearchStrategy[dict]:
    names = sorted(input_fields(provider.schema))
    nested = st.dictionaries(st.sampled_from(SECRET_KEYS + CHECK_KEYS), JSON, max_size=5)
    value = JSON | nested | st.lists(nested, max_size=3)
    known = st.dictionaries(st.sampled_from(names), value, max_size=len(names))
    extra = st.dictionaries(st.text(min_size=1, max_size=10), JSON, max_size=2)
    return st.tuples(known, extra).map(lambda pair: {**pair[1], **pair[0]})


@pytest.fixture(autouse=True)
def no_api(monkeypatch):
    monkeypatch.setattr(_base, "connection_failures", lambda profile=None, will_change=True: [])  # check's API probe is not under test here


ARGUMENT = re.compile(r"^(?P<top>[A-Za-z_][A-Za-z0-9_:]*)(\.[A-Za-z_]\w*|\[\d+\])*: \S")


def named_argument(failure, provider, inputs) -> bool:
    known = set(fields(provider.schema)) | set(inputs) | {"requestrocket:token", "requestrocket:apiUrl"}
    if failure.property:
        return failure.property in known and bool(failure.reason)
    match = ARGUMENT.match(failure.reason or "")
    return bool(match) and match.group("top") in known


@pytest.mark.parametrize("provider_class", PROVIDERS, ids=lambda c: c.__name__)
def test_check_never_raises_and_every_rejection_names_an_argument(provider_class):
    provider = provider_class()

    @EXAMPLES
    @given(inputs_for(provider))
    def run(inputs):
        result = provider.check({}, inputs)
        for failure in result.failures or []:
            assert named_argument(failure, provider, inputs), (failure.property, failure.reason)

    run()


@pytest.mark.parametrize("provider_class", PROVIDERS, ids=lambda c: c.__name__)
def test_diff_never_raises_and_replaces_only_immutable_fields(provider_class):
    provider = provider_class()
    immutable = {n for n, s in input_fields(provider.schema).items() if s.immutable}

    @EXAMPLES
    @given(inputs_for(provider), inputs_for(provider))
    def run(old_inputs, new_inputs):
        olds = provider.check({}, old_inputs).inputs
        news = provider.check(olds, new_inputs).inputs
        result = provider.diff("id-1", olds, news)
        assert set(result.replaces or []) <= immutable
        assert not result.replaces or result.changes
        assert provider.diff("id-1", news, news).replaces in ([], None)

    run()


# Valid inputs of each kind, as a program passes them (a number as the engine's float, methods in any order).
VALID = {
    ClientProvider: {"client_name": "Acme"},
    CredentialProvider: {"client_id": "c-1", "credential_name": "callers", "credential_type": "proxy",
                         "credential_auth_type": "apiKey", "credential_region": "us-east-1",
                         "credential_secret": {"api_key": "k-1", "header_name": "X-API-Key"}},
    TargetProvider: {"client_id": "c-1", "target_name": "stripe", "target_base_url": "https://api.stripe.com",
                     "target_region": "us-east-1", "target_test_path": "/health"},
    ProxyProvider: {"client_id": "c-1", "proxy_name": "payments", "proxy_region": "us-east-1",
                    "proxy_credential_id": "pc", "target_id": "t", "target_credential_id": "tc",
                    "proxy_max_requests_per_minute": 60.0},
    RuleProvider: {"client_id": "c-1", "proxy_id": "p-1", "effect": "deny", "priority": 900.0,
                   "methods": ["POST", "DELETE"], "path_pattern": "^/v1/.*$"},
}


@pytest.fixture(autouse=True)
def checked_connection(monkeypatch):
    """`check` makes the command's one token check: these properties are about validation, so each test starts
    with a connection whose check has passed, whatever an earlier test in this process left behind."""
    from rr_pulumi.api import client as rr_client
    from rr_pulumi.api import config as rr_config
    from rr_pulumi.provider import connection

    settings = rr_config.Settings(api_url="http://api.test", token="u-test", rate_limit_per_minute=None)
    monkeypatch.setattr(connection, "_settings", {None: settings})
    monkeypatch.setattr(connection, "_clients", {None: rr_client.RequestRocketClient(settings.api_url, "u-test")})
    monkeypatch.setattr(connection, "_client_keys", {None: (settings.api_url, "u-test")})
    monkeypatch.setattr(connection, "_verified", {None})
    monkeypatch.setattr(connection, "_check_failed", {})


@pytest.mark.parametrize("provider_class", PROVIDERS, ids=lambda c: c.__name__)
def test_an_unchanged_resource_is_checked_without_validating_again(provider_class, monkeypatch):
    provider = provider_class()
    first = provider.check({}, VALID[provider_class])
    assert not first.failures
    monkeypatch.setattr(provider_class, "validate", lambda self, values: pytest.fail("validated again"))
    again = provider.check(first.inputs, {**VALID[provider_class], "__provider": "p"})
    assert not again.failures and again.inputs == first.inputs


@pytest.mark.parametrize("provider_class", PROVIDERS, ids=lambda c: c.__name__)
def test_skipping_validation_of_unchanged_inputs_changes_no_check_result(provider_class):
    """Whatever the program changes, removes or passes again, check with the shortcut answers exactly as check
    that always validates."""
    provider, validating = provider_class(), provider_class()
    validating.already_checked = lambda olds, news: None  # type: ignore[method-assign]
    valid = VALID[provider_class]
    olds = provider.check({}, valid).inputs
    names = sorted(input_fields(provider.schema))

    @EXAMPLES
    @given(st.dictionaries(st.sampled_from(names), JSON | st.sampled_from([olds.get(n) for n in names]), max_size=2),
           st.sets(st.sampled_from(names), max_size=2), st.booleans())
    def run(changes, removed, from_olds):
        base = olds if from_olds else valid
        news = {k: v for k, v in {**base, **changes}.items() if k not in removed}
        fast, slow = provider.check(olds, news), validating.check(olds, news)
        assert fast.inputs == slow.inputs
        assert [(f.property, f.reason) for f in fast.failures or []] == [(f.property, f.reason)
                                                                         for f in slow.failures or []]

    run()
