"""The one rule evaluation (data plane and `rules explain`): scopes, criteria, decisions where the docs conflict."""
from __future__ import annotations

import pytest

from rr_pulumi.schema import rule_evaluation as ev
from rr_pulumi.schema.rule_evaluation import NO_BODY, Request, Scope, evaluate, json_path, matches


def rule(rule_id: str, effect: str = "deny", priority: int = 100, **fields) -> dict:
    return {"sKey": rule_id, "effect": effect, "priority": priority, **fields}


def scopes(proxy_rules=(), proxy_default="allow", target_rules=(), cred_rules=()) -> list[Scope]:
    return [Scope("proxy credential", "pc", "allow", list(cred_rules)),
            Scope("target credential", "tc", "allow", []),
            Scope("proxy", "p", proxy_default, list(proxy_rules)),
            Scope("target", "t", "allow", list(target_rules))]


GET = Request("GET", "/invoices/1")


def test_no_match_falls_back_to_each_scopes_default():
    assert evaluate(scopes(), GET).allowed
    decision = evaluate(scopes(proxy_default="deny"), GET)
    assert not decision.allowed and decision.deciding.scope == "proxy" and decision.rule_id is None


def test_deny_wins_within_a_scope_whatever_the_priorities():
    decision = evaluate(scopes([rule("a", "allow", 1000), rule("d", "deny", 1)]), GET)
    assert not decision.allowed and decision.rule_id == "d"
    assert [r["sKey"] for r in decision.scopes[2].matched] == ["a", "d"]   # highest priority first


def test_every_scope_must_allow_and_a_deny_rule_is_named_before_a_default():
    decision = evaluate(scopes([], "deny", target_rules=[rule("no-get", methods=["GET"])]), GET)
    assert decision.rule_id == "no-get" and decision.deciding.scope == "target"
    first = evaluate(scopes([rule("p1")], cred_rules=[rule("c1")]), GET)
    assert first.deciding.scope == "proxy credential" and first.rule_id == "c1"   # scopes in order


@pytest.mark.parametrize("fields, request_, expected", [
    ({"methods": ["POST"]}, GET, False),
    ({"methods": []}, GET, True),
    ({"pathPattern": "^/invoices/[0-9]+$"}, GET, True),
    ({"pathPattern": "^/INVOICES", "regexFlags": "i"}, GET, True),
    ({"pathPattern": "^/INVOICES"}, GET, False),
    ({"pathPattern": "^/refunds", "pathPresence": "absent"}, GET, True),
    ({"pathPattern": "^/refunds", "pathPresence": "must_not_exist"}, GET, True),   # the blog's words
    ({"pathPresence": "absent"}, Request("GET", "/"), True),
    ({"pathPresence": "present"}, Request("GET", "/"), False),
    ({"headerChecks": [{"namePattern": "^X-Tenant$", "valuePattern": "^acme$", "presence": "present"}]},
     Request("GET", "/", headers=[("x-tenant", "acme")]), True),           # header names are case-blind
    ({"headerChecks": [{"namePattern": "^x-tenant$", "presence": "absent"}]},
     Request("GET", "/", headers=[("x-tenant", "acme")]), False),
    ({"queryChecks": [{"namePattern": "^Debug$", "presence": "present"}]},
     Request("GET", "/", query=[("debug", "1")]), False),                  # query names are not
    ({"bodyChecks": [{"jsonPath": "$.items[*].sku", "valuePattern": "^X", "presence": "must_exist"}]},
     Request("POST", "/", body={"items": [{"sku": "A1"}, {"sku": "X9"}]}), True),
    ({"bodyChecks": [{"jsonPath": "$.amount", "presence": "present"}]}, Request("POST", "/", body=NO_BODY), False),
    ({"tokenChecks": [{"claim": "roles", "valuePattern": "^admin$", "presence": "present"}]},
     Request("GET", "/", claims={"roles": ["user", "admin"]}), True),
    ({"tokenChecks": [{"claim": "org.id", "valuePattern": "^42$", "presence": "present"}]},
     Request("GET", "/", claims={"org": {"id": 42}}), True),
    ({"tokenChecks": [{"claim": "roles", "presence": "absent"}]}, Request("GET", "/"), True),
])
def test_criteria(fields, request_, expected):
    assert matches(rule("r", **fields), request_) is expected


def test_json_path_subset():
    doc = {"a": {"b": [1, {"c": "x"}]}, "k-y": True, "list": [{"c": "y"}]}
    assert json_path(doc, "$.a.b[0]") == [1]
    assert json_path(doc, "$['k-y']") == [True]
    assert json_path(doc, "$..c") == ["x", "y"]
    assert json_path(doc, "$.a.b[-1].c") == ["x"]
    assert json_path(doc, "$.missing.x") == [] and json_path(doc, "$.a(") == [] and json_path(doc, "a") == []


def test_a_runaway_pattern_fails_closed(monkeypatch):
    def timeout(*_args):
        raise ev.PatternTimeout("p")

    monkeypatch.setattr(ev, "search", timeout)
    deny = evaluate(scopes([rule("d", pathPattern="x")]), GET)
    assert not deny.allowed and deny.rule_id == "d" and deny.scopes[2].timeouts == ["d"]
    allow = evaluate(scopes([rule("a", "allow", pathPattern="x")], "deny"), GET)
    assert not allow.allowed and allow.rule_id is None


NESTED = eval("[" * 60 + "]" * 60)   # 60 nested arrays: within the data plane's 64 levels
STACKED = "$" + "..*" * 5              # about 5 million nodes over NESTED


def test_a_json_path_past_its_node_cap_fails_closed_as_a_runaway_pattern_does():
    with pytest.raises(ev.JsonPathTooCostly):
        json_path(NESTED, STACKED)
    body = Request("POST", "/", body=NESTED)
    check = [{"jsonPath": STACKED, "presence": "present"}]
    deny = evaluate(scopes([rule("d", bodyChecks=check)]), body)
    assert not deny.allowed and deny.rule_id == "d" and deny.scopes[2].timeouts == ["d"]
    allow = evaluate(scopes([rule("a", "allow", bodyChecks=check)], "deny"), body)
    assert not allow.allowed and allow.rule_id is None and allow.scopes[2].timeouts == ["a"]


def test_one_descent_over_the_largest_body_is_within_the_node_cap():
    largest = [0] * (1024 * 1024 // 2)       # the most values a 1 MiB body holds: `[0,0,...]`
    assert json_path(largest, "$..amount") == [] and len(json_path(largest, "$..*")) == len(largest)


def test_catastrophic_patterns_are_cut_off_quickly():
    result = None
    try:
        result = ev.search(r"^(a|a?)+$", 0, "a" * 40 + "b")
    except ev.PatternTimeout:
        result = "timeout"
    assert result in (False, "timeout")
