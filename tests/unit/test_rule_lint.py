"""Rule lint: each finding kind from rules built here, proved against the data plane's own evaluation, and a clean
rule set without any finding."""
from __future__ import annotations

import pytest

from rr_pulumi.schema.rule_evaluation import Request, Scope, evaluate_scope
from rr_pulumi.tools.rule_lint import DUPLICATE, NEVER_MATCHES, REDUNDANT_ALLOW, SHADOWED, covers, lint, never_matches


def rule(key: str, effect: str, priority: int, **criteria) -> dict:
    return {"sKey": key, "effect": effect, "priority": priority, **criteria}


def proxy(*rules: dict, default: str = "deny") -> Scope:
    return Scope("proxy", "urn:proxy", default, list(rules), "partners")


def kinds(scope: Scope) -> list[tuple[str, str, str | None]]:
    return [(f.kind, f.rule, f.other) for f in lint([scope])]


SAMPLE_REQUESTS = [Request(m, p, [("X-Tenant", "acme")], [("v", "1")]) for m in ("GET", "POST", "DELETE")
                   for p in ("/", "/invoices", "/invoices/7", "/admin")]


def decided_by(scope: Scope, key: str) -> list[Request]:
    return [r for r in SAMPLE_REQUESTS if (evaluate_scope(scope, r).deciding_rule or {}).get("sKey") == key]


def test_a_clean_rule_set_has_no_finding():
    scope = proxy(rule("read", "allow", 10, methods=["GET"], pathPattern="^/invoices(/.*)?$"),
                  rule("no-admin", "deny", 900, pathPattern="^/admin"),
                  rule("writes", "allow", 20, methods=["POST"], pathPattern="^/invoices$",
                       headerChecks=[{"namePattern": "^x-tenant$", "valuePattern": "^acme$"}]))
    assert lint([scope]) == []


def test_an_allow_covered_by_a_deny_is_shadowed_whatever_the_priority():
    scope = proxy(rule("read", "allow", 900, methods=["GET"], pathPattern="^/invoices"),
                  rule("no-get", "deny", 1, methods=["GET", "DELETE"]))
    assert kinds(scope) == [(SHADOWED, "read", "no-get")]
    [finding] = lint([scope])
    assert "rule no-get matches every request it matches and a matching deny wins over any allow" in finding.message
    assert decided_by(scope, "read") == []  # the data plane agrees: it never decides


def test_a_rule_covered_by_a_higher_priority_rule_of_the_same_effect_is_shadowed():
    scope = proxy(rule("deny-all", "deny", 500, pathPattern=".*"),
                  rule("no-deletes", "deny", 100, methods=["DELETE"], pathPattern="^/invoices"))
    assert kinds(scope) == [(SHADOWED, "no-deletes", "deny-all")]
    assert "higher priority (500 > 100)" in lint([scope])[0].message
    assert decided_by(scope, "no-deletes") == []


def test_shadowing_is_reported_only_when_it_is_proved():
    narrow = rule("a", "deny", 100, methods=["DELETE"], pathPattern="^/invoices")
    # Lower priority, a narrower method list, another path, an extra check, other flags: not proved.
    assert not covers(rule("b", "deny", 50, methods=["DELETE", "GET"], pathPattern="^/inv"), narrow)
    assert not covers(rule("b", "deny", 500, methods=["GET"]), narrow)
    assert not covers(rule("b", "deny", 500, queryChecks=[{"namePattern": "^v$"}]), narrow)
    assert not covers(rule("b", "deny", 500, pathPattern="^/invoices", regexFlags="i"), narrow)
    assert covers(rule("b", "deny", 500, pathPattern="^/invoices"), narrow)
    assert not kinds(proxy(narrow, rule("b", "deny", 500, methods=["DELETE"], pathPattern="^/inv")))
    assert not kinds(proxy(narrow, rule("b", "deny", 50)))  # lower priority: `a` decides where both match
    with_check = rule("c", "deny", 10, methods=["DELETE"], pathPattern="^/invoices",
                      queryChecks=[{"namePattern": "^v$", "presence": "present"}])
    assert kinds(proxy(narrow, with_check)) == [(SHADOWED, "c", "a")]  # a's criteria are a subset of c's


def test_duplicate_rules():
    scope = proxy(rule("one", "deny", 100, methods=["DELETE", "POST"], pathPattern="^/a"),
                  rule("two", "deny", 100, methods=["POST", "DELETE"], pathPattern="^/a", notes="copied"))
    assert kinds(scope) == [(DUPLICATE, "two", "one")]


def test_an_allow_on_an_object_whose_default_allows_changes_nothing():
    scope = proxy(rule("read", "allow", 10, methods=["GET"]), rule("no-admin", "deny", 900, pathPattern="^/admin"),
                  default="allow")
    assert kinds(scope) == [(REDUNDANT_ALLOW, "read", None)]
    without = proxy(rule("no-admin", "deny", 900, pathPattern="^/admin"), default="allow")
    for request in SAMPLE_REQUESTS:  # the data plane agrees: the same effect with or without it
        assert evaluate_scope(scope, request).effect == evaluate_scope(without, request).effect
    credential = Scope("credential", "urn:cred", "allow", [rule("r", "allow", 1, methods=["GET"])], "callers")
    assert [f.kind for f in lint([credential])] == [REDUNDANT_ALLOW]


@pytest.mark.parametrize("pattern, flags, path, why", [
    ("a^", "", False, "start anchor"),
    ("/x\\A", "", False, "start anchor"),
    ("\\Zx", "", False, "after the end anchor \\Z"),
    ("$ab", "", False, "two or more characters"),
    ("^$", "", True, "a path is never empty"),
    ("$^", "", True, "a path is never empty"),
])
def test_patterns_that_cannot_match(pattern, flags, path, why):
    assert why in never_matches(pattern, flags, non_empty=path)


@pytest.mark.parametrize("pattern, flags, path", [
    ("^/v1/.*$", "", True), ("$^", "", False), ("^$", "m", True), ("$\n", "", False), ("a|^", "", False),
    ("(?m)a^", "", False), ("^", "", True), ("[", "", False),
])
def test_patterns_that_may_match_are_not_reported(pattern, flags, path):
    assert never_matches(pattern, flags, non_empty=path) is None


def test_a_rule_whose_pattern_cannot_match_never_decides():
    scope = proxy(rule("dead", "deny", 10, pathPattern="^$"),
                  rule("odd", "deny", 5, methods=["GET"], headerChecks=[{"namePattern": "x^", "presence": "absent"}]))
    found = lint([scope])
    assert [(f.kind, f.rule) for f in found] == [(NEVER_MATCHES, "dead"), (NEVER_MATCHES, "odd")]
    assert "never matches and never decides" in found[0].message
    assert "header_checks[0].name_pattern 'x^'" in found[1].message and "always holds" in found[1].message
    assert decided_by(scope, "dead") == []


def test_values_unknown_at_preview_are_not_judged():
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    assert lint([proxy(rule("a", "deny", 100, pathPattern=unknown), rule("b", "deny", 500))]) == []


def test_a_check_spelled_another_way_is_the_same_check():
    spelled = [{"namePattern": "^x-tenant$", "presence": "must_exist"}]
    plain = [{"namePattern": "^x-tenant$", "presence": "present"}]
    scope = proxy(rule("a", "deny", 10, headerChecks=plain), rule("b", "deny", 10, headerChecks=spelled))
    assert kinds(scope) == [(DUPLICATE, "b", "a")]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # sre_parse, as Python 3.10 names it, warns from 3.11
def test_patterns_are_read_where_the_regex_parser_has_its_python_3_10_name(monkeypatch):
    """Python 3.10 (supported) has no `re._parser`: the finding must not silently disappear there."""
    import re
    import sys

    import sre_constants  # noqa: F401 - loaded while `re._parser` is there: on 3.11+ they re-export it
    import sre_parse  # noqa: F401

    for name in ("_parser", "_constants"):
        monkeypatch.delattr(re, name)
        monkeypatch.setitem(sys.modules, f"re.{name}", None)  # `from re import _parser` raises ImportError
    assert "start anchor" in never_matches("a^")
    assert never_matches("^/v1/") is None
