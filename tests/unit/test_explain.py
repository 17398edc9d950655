"""`rules explain` on a recorded state: the scopes it builds, its text and JSON, its errors."""
from __future__ import annotations

import argparse
import json

import pytest

from rr_pulumi.tools.explain import ExplainError, as_json, build_request, claims_of_jwt, render, stack_view
from rr_pulumi.schema.kinds import CREDENTIAL, PROXY, RULE, TARGET
from rr_pulumi.schema.rule_evaluation import evaluate


def resource(kind, name: str, id_: str, **outputs) -> dict:
    return {"urn": f"urn:pulumi:dev::p::requestrocket:index:SecureProxy${kind.type_token}::{name}", "id": id_,
            "type": kind.type_token, "outputs": outputs}


STATE = [
    resource(CREDENTIAL, "gw-callers", "pc"),
    resource(CREDENTIAL, "gw-upstream", "tc"),
    resource(TARGET, "gw-api", "t", target_default_rule_effect="allow"),
    resource(PROXY, "gw", "p", proxy_credential_id="pc", target_credential_id="tc", target_id="t",
             proxy_default_rule_effect="deny", proxy_active=True),
    resource(RULE, "gw-get", "r1", client_id="c", proxy_id="p", effect="allow", priority=100, methods=["GET"]),
    resource(RULE, "gw-no-deletes", "r2", client_id="c", proxy_id="p", effect="deny", priority=900,
             methods=["DELETE"]),
    resource(RULE, "writers-only", "r3", client_id="c", target_id="t", effect="deny", priority=1, methods=["POST"],
             token_checks=[{"claim": "scope", "value_pattern": "write", "presence": "absent"}]),
]


def request(*argv: str):
    parser = argparse.ArgumentParser()
    for flag, default in (("--header", []), ("--query", [])):
        parser.add_argument(flag, action="append", default=default)
    for flag in ("--body", "--claims", "--jwt"):
        parser.add_argument(flag)
    parser.add_argument("method")
    parser.add_argument("path")
    return build_request(parser.parse_args(argv))


def test_scopes_come_from_the_state_with_wire_rules():
    view = stack_view(STATE, "gw")
    assert [(s.scope, s.object_id, s.default_effect) for s in view.scopes] == [
        ("proxy credential", "pc", "allow"), ("target credential", "tc", "allow"), ("proxy", "p", "deny"),
        ("target", "t", "allow")]
    assert view.scopes[3].rules[0]["tokenChecks"] == [{"claim": "scope", "valuePattern": "write", "presence": "absent"}]
    assert stack_view(STATE, "p").proxy_name == "gw"          # by id too


def test_decisions_and_their_text():
    view = stack_view(STATE, "gw")
    deleted = evaluate(view.scopes, request("DELETE", "/x"))
    assert as_json(view, request("DELETE", "/x"), deleted)["ruleName"] == "gw-no-deletes"
    text = render(view, request("DELETE", "/x"), deleted)
    assert "Decision: DENIED by rule gw-no-deletes (r2, proxy scope)" in text
    posted = evaluate(view.scopes, request("POST", "/x", "--claims", json.dumps({"scope": "read"})))
    assert "DENIED by the proxy's default effect" not in render(view, request("POST", "/x"), posted)
    assert posted.rule_id == "r3"                              # a rule is named before a default
    assert evaluate(view.scopes, request("GET", "/x")).allowed


def test_errors_name_the_option():
    with pytest.raises(ExplainError, match="no Proxy 'nope'.*proxies: gw"):
        stack_view(STATE, "nope")
    for argv, mentions in ((("--header", "novalue", "GET", "/"), "--header 'novalue'"),
                           (("--query", "x", "GET", "/"), "--query 'x'"),
                           (("--body", "{", "GET", "/"), "--body: not JSON"),
                           (("--claims", "[1]", "GET", "/"), "--claims: must be a JSON object"),
                           (("FETCH", "/x"), "method: must be one of: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS "
                                             r"\(got 'FETCH'\)")):
        with pytest.raises(ExplainError, match=mentions):
            request(*argv)
    with pytest.raises(ExplainError, match="--jwt: not a JWT"):
        claims_of_jwt("nope")
    assert claims_of_jwt("e30.eyJzY29wZSI6IncifQ.sig") == {"scope": "w"}
