"""The guardrail decisions, over plain resource views: compliant, violating and not-known-yet values."""

from __future__ import annotations

import pytest

from rr_pulumi.policy import checks
from rr_pulumi.policy.checks import Stack
from rr_pulumi.policy.view import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, Resource

UNKNOWN = UNKNOWN_STRING_VALUE


def res(kind: str, name: str = "it", deps: dict | None = None, **props) -> Resource:
    return Resource(kind, name, f"urn:pulumi:test::p::pulumi-python:dynamic/requestrocket:{kind}::{name}", props,
                    deps or {})


def messages(violations) -> list[str]:
    return [message for _, message in violations]


# -- proxy-rate-limits ---------------------------------------------------------------------------------------------


def test_rate_limits_set_and_under_the_ceilings_pass():
    proxy = res("Proxy", proxy_max_requests_per_minute=600.0, proxy_max_requests_per_day=20000.0)
    assert checks.rate_limits(proxy, 600, 20000) == []


def test_rate_limits_missing_and_above_the_ceiling_are_named():
    proxy = res("Proxy", "gw", proxy_max_requests_per_minute=601.0)
    assert messages(checks.rate_limits(proxy, 600, 10000)) == [
        "Proxy 'gw': proxy_max_requests_per_minute is 601, above the ceiling of 600 per minute",
        "Proxy 'gw': proxy_max_requests_per_day is not set; set it to at most 10000 per day",
    ]


def test_ceilings_from_the_engine_are_floats_and_show_as_integers():
    assert messages(checks.rate_limits(res("Proxy", "gw", proxy_max_requests_per_minute=5.0), 1.0, 10.0))[0] == (
        "Proxy 'gw': proxy_max_requests_per_minute is 5, above the ceiling of 1 per minute"
    )


def test_rate_limits_skip_unknown_values_and_other_kinds():
    proxy = res("Proxy", proxy_max_requests_per_minute=UNKNOWN_NUMBER_VALUE, proxy_max_requests_per_day=UNKNOWN)
    assert checks.rate_limits(proxy, 1, 1) == []
    assert checks.rate_limits(res("Target"), 1, 1) == []


# -- target-https --------------------------------------------------------------------------------------------------

HOSTS = ["localhost", "127.0.0.1"]


@pytest.mark.parametrize("url", ["https://api.example.com", "http://127.0.0.1:8765/api", "http://LOCALHOST/x", UNKNOWN])
def test_https_or_an_allowed_http_host_passes(url):
    assert checks.https_only(res("Target", target_base_url=url), HOSTS) == []


@pytest.mark.parametrize("url", ["http://api.example.com", "http://localhost.evil.example", "ftp://localhost"])
def test_http_elsewhere_is_a_violation(url):
    assert messages(checks.https_only(res("Target", "api", target_base_url=url), HOSTS)) == [
        f"Target 'api': target_base_url {url!r} does not use https (http is allowed only for: localhost, 127.0.0.1)"
    ]


# -- allowed-regions -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resource",
    [
        res("Proxy", proxy_region="eu-west-1"),
        res("Credential", credential_region="us-east-1"),
        res("Target", target_region=UNKNOWN),
        res("Client", client_name="x"),
        res("Rule", effect="allow"),
    ],
)
def test_allowed_regions_pass(resource):
    assert checks.allowed_regions(resource, ["eu-west-1", "us-east-1"]) == []


def test_a_region_outside_the_list_is_named():
    assert messages(checks.allowed_regions(res("Target", "api", target_region="ap-south-1"), ["eu-west-1"])) == [
        "Target 'api': target_region 'ap-south-1' is not an allowed region; allowed: eu-west-1"
    ]


# -- credential-auth-required --------------------------------------------------------------------------------------


def test_auth_type_none_is_a_violation_and_others_pass():
    bad = res("Credential", "upstream", credential_type="target", credential_auth_type="none")
    assert messages(checks.no_unauthenticated_targets(bad))[0].startswith(
        "Credential 'upstream': credential_auth_type is 'none'"
    )
    for auth in ("apiKey", "bearer", UNKNOWN):
        assert checks.no_unauthenticated_targets(res("Credential", credential_auth_type=auth)) == []


# -- resource-naming -----------------------------------------------------------------------------------------------

KEBAB = r"^[a-z0-9]+(-[a-z0-9]+)*$"
KINDS = ["Credential", "Target", "Proxy"]


@pytest.mark.parametrize(
    "resource",
    [
        res("Credential", credential_name="payments-callers"),
        res("Target", target_name=UNKNOWN),
        res("Proxy", proxy_name="gw-1"),
        res("Rule", notes="Not A Name"),
        res("Client", client_name="Acme Payments"),  # clients are not listed by default
    ],
)
def test_names_matching_the_pattern_pass(resource):
    assert checks.naming(resource, KEBAB, KINDS) == []


def test_a_name_off_pattern_is_named_with_the_pattern():
    assert messages(checks.naming(res("Proxy", "gw", proxy_name="Payments_GW"), KEBAB, KINDS)) == [
        f"Proxy 'gw': proxy_name 'Payments_GW' does not match the naming pattern {KEBAB}"
    ]


def test_client_names_are_checked_when_listed():
    assert checks.naming(res("Client", "org", client_name="Acme Payments"), KEBAB, ["Client"]) != []


def test_the_pattern_must_match_the_whole_name():
    assert checks.naming(res("Proxy", proxy_name="team-gw"), r"team-[a-z]+", KINDS) == []
    assert checks.naming(res("Proxy", proxy_name="team-gw-X"), r"team-[a-z]+", KINDS) != []


# -- rule-allows-everything ----------------------------------------------------------------------------------------

ALL = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@pytest.mark.parametrize(
    "props",
    [
        {"effect": "allow"},
        {"effect": "allow", "methods": []},
        {"effect": "allow", "methods": ALL},
        {"effect": "allow", "path_pattern": ".*"},
        {"effect": "allow", "path_pattern": "^/?", "path_presence": "present"},
    ],
)
def test_an_allow_everything_rule_is_flagged(props):
    rule = res("Rule", "open", proxy_id=UNKNOWN, client_id=UNKNOWN, **props)  # parent unknown in a preview
    assert messages(checks.allows_everything(rule)) == [
        "Rule 'open': allows every method on every path; narrow it with methods, path_pattern or checks"
    ]


@pytest.mark.parametrize(
    "props",
    [
        {"effect": "deny"},
        {"effect": "allow", "methods": ["GET"]},
        {"effect": "allow", "path_pattern": "^/v1/"},
        {"effect": "allow", "path_pattern": ".*", "path_presence": "absent"},
        {"effect": "allow", "header_checks": [{"name_pattern": "x-team", "presence": "present"}]},
        {"effect": "allow", "methods": UNKNOWN},
        {"effect": UNKNOWN},
    ],
)
def test_narrow_denying_or_unknown_rules_pass(props):
    assert checks.allows_everything(res("Rule", **props)) == []


# -- proxy-parts-share-region (stack) ------------------------------------------------------------------------------


def proxy_stack(proxy_region="eu-west-1", target_region="eu-west-1", credential_region="eu-west-1", **proxy_props):
    caller = res("Credential", "callers", credential_region=credential_region)
    upstream = res("Credential", "upstream", credential_region="eu-west-1")
    target = res("Target", "api", target_region=target_region)
    deps = {"proxy_credential_id": [caller.urn], "target_id": [target.urn], "target_credential_id": [upstream.urn]}
    proxy = res("Proxy", "gw", deps, proxy_region=proxy_region, proxy_credential_id=UNKNOWN, target_id=UNKNOWN,
                target_credential_id=UNKNOWN, **proxy_props)
    return [caller, upstream, target, proxy]


def test_parts_in_the_proxy_region_pass():
    assert checks.shared_region(Stack(proxy_stack())) == []


def test_each_part_in_another_region_is_named():
    found = checks.shared_region(Stack(proxy_stack(target_region="us-east-1", credential_region="us-west-2")))
    assert messages(found) == [
        "Proxy 'gw': proxy_region is 'eu-west-1' but its proxy_credential_id refers to Credential 'callers' in "
        "'us-west-2'",
        "Proxy 'gw': proxy_region is 'eu-west-1' but its target_id refers to Target 'api' in 'us-east-1'",
    ]
    assert {resource.name for resource, _ in found} == {"gw"}


def test_unknown_regions_and_parts_outside_the_stack_are_skipped():
    assert checks.shared_region(Stack(proxy_stack(proxy_region=UNKNOWN, target_region="us-east-1"))) == []
    assert checks.shared_region(Stack(proxy_stack(target_region=UNKNOWN))) == []
    lone = res("Proxy", "gw", proxy_region="eu-west-1", target_id="t-existing")
    assert checks.shared_region(Stack([lone, res("Target", "api", target_region="us-east-1")])) == []


# -- proxy-deny-rule (stack) ---------------------------------------------------------------------------------------


def rule_on(proxy: Resource, effect: str, name: str = "rule") -> Resource:
    return res("Rule", name, {"proxy_id": [proxy.urn]}, proxy_id=UNKNOWN, effect=effect)


def test_allow_by_default_with_a_deny_rule_passes():
    resources = proxy_stack(proxy_default_rule_effect="allow")
    resources.append(rule_on(resources[-1], "deny"))
    assert checks.deny_by_default(Stack(resources), require_default_deny=False) == []


def test_allow_by_default_without_a_deny_rule_is_named():
    resources = proxy_stack()  # default effect unset: the API's default is allow
    resources.append(rule_on(resources[-1], "allow"))
    other = res("Proxy", "other", proxy_default_rule_effect="allow")
    resources += [other, rule_on(other, "deny", "deny-on-other")]
    found = checks.deny_by_default(Stack(resources), require_default_deny=False)
    assert [resource.name for resource, _ in found] == ["gw"]
    assert messages(found)[0].startswith(
        "Proxy 'gw': proxy_default_rule_effect is 'allow' and no rule with effect 'deny' is attached to it"
    )


def test_default_deny_passes_and_required_default_deny_rejects_allow_even_with_deny_rules():
    denying = proxy_stack(proxy_default_rule_effect="deny")
    assert checks.deny_by_default(Stack(denying), require_default_deny=True) == []
    allowing = proxy_stack(proxy_default_rule_effect="allow")
    allowing.append(rule_on(allowing[-1], "deny"))
    assert messages(checks.deny_by_default(Stack(allowing), require_default_deny=True)) == [
        "Proxy 'gw': proxy_default_rule_effect is 'allow'; this organisation requires 'deny'"
    ]


def test_unknown_effects_are_not_judged():
    resources = proxy_stack(proxy_default_rule_effect=UNKNOWN)
    assert checks.deny_by_default(Stack(resources), require_default_deny=True) == []
    resources = proxy_stack()
    resources.append(rule_on(resources[-1], UNKNOWN))
    assert checks.deny_by_default(Stack(resources), require_default_deny=False) == []


# -- rule-lint -----------------------------------------------------------------------------------------------------


def _linted_stack(*rules: Resource, default: str = "deny") -> Stack:
    proxy = res("Proxy", "gw", proxy_default_rule_effect=default)
    return Stack([proxy, *rules])


def _rule(name: str, proxy_urn: str = "urn:pulumi:test::p::pulumi-python:dynamic/requestrocket:Proxy::gw", **props):
    return res("Rule", name, {"proxy_id": [proxy_urn]}, proxy_id=UNKNOWN, **props)


def test_rule_lint_passes_rules_that_each_decide_something():
    stack = _linted_stack(_rule("reads", effect="allow", priority=10.0, methods=["GET"], path_pattern="^/v1/"),
                          _rule("no-admin", effect="deny", priority=900.0, path_pattern="^/v1/admin"))
    assert checks.rule_lint(stack) == []


def test_rule_lint_names_each_rule_that_cannot_change_a_decision():
    stack = _linted_stack(
        _rule("reads", effect="allow", priority=10.0, methods=["GET"], path_pattern="^/v1/"),
        _rule("reads-again", effect="allow", priority=10.0, methods=["GET"], path_pattern="^/v1/"),
        _rule("deny-all", effect="deny", priority=500.0, path_pattern=".*"),
        _rule("no-deletes", effect="deny", priority=100.0, methods=["DELETE"]),
        _rule("empty", effect="deny", priority=1.0, path_pattern="^$"),
    )
    found = [(resource.name, message.split(":")[0]) for resource, message in checks.rule_lint(stack)]
    assert [name for name, _ in found] == ["empty", "reads", "reads-again", "no-deletes"]
    messages_ = messages(checks.rule_lint(stack))
    assert "rule reads on proxy gw can never decide: rule deny-all matches every request it matches" in messages_[1]
    assert messages_[3].startswith("rule no-deletes on proxy gw can never decide: rule deny-all")


def test_rule_lint_flags_an_allow_on_a_proxy_that_allows_by_default_and_skips_unknown_values():
    stack = _linted_stack(_rule("reads", effect="allow", priority=10.0, methods=["GET"]), default="allow")
    assert messages(checks.rule_lint(stack)) == [
        "rule reads allows on proxy gw, whose default effect is already allow: without a matching deny the scope "
        "allows anyway, with one the deny wins, so this rule changes no decision"]
    unknown = _linted_stack(_rule("reads", effect="allow", priority=UNKNOWN_NUMBER_VALUE), default="allow")
    assert checks.rule_lint(unknown) == []
    assert checks.rule_lint(_linted_stack(_rule("r", effect="allow", priority=1.0), default=UNKNOWN)) == []


def test_rule_lint_never_calls_an_allow_redundant_on_an_object_outside_the_stack():
    """A rule on another stack's proxy (a literal id): that proxy's default effect is not known here."""
    on_other = res("Rule", "reads", proxy_id="p-of-another-stack", effect="allow", priority=10.0, methods=["GET"])
    assert checks.rule_lint(Stack([on_other])) == []
    twice = res("Rule", "reads-again", proxy_id="p-of-another-stack", effect="allow", priority=10.0, methods=["GET"])
    assert [r.name for r, _ in checks.rule_lint(Stack([on_other, twice]))] == ["reads-again"]  # still a duplicate
