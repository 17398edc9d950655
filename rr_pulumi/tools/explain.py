"""`rr-pulumi rules explain`: which rules of a deployed proxy match a request, scope by scope, and the decision.

    rr-pulumi rules explain --stack dev partners DELETE /invoices/1
    rr-pulumi rules explain --stack dev internal POST /invoices --claims '{"scope": "invoices:write"}' --json

It reads the stack's state (`pulumi stack export`), not the API, and sends nothing anywhere: the rules, default
effects and references are those recorded at the last `pulumi up`. The evaluation is the data plane's own
(`rr_pulumi.schema.rule_evaluation`), so both agree. Exit 0 allowed, 1 denied, 2 could not explain.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, get_args

from rr_pulumi.api.errors import RequestRocketError
from rr_pulumi.schema.rule_evaluation import NO_BODY, SCOPES, Decision, Request, Scope, evaluate
from rr_pulumi.schema.common import HttpMethod

HTTP_METHODS = get_args(HttpMethod)  # the methods a rule can name

ALLOWED, DENIED, CANNOT_EXPLAIN = 0, 1, 2


class ExplainError(RequestRocketError):
    """The stack, the proxy or the request cannot be explained; the message says why."""


@dataclass
class StackView:
    """The proxy's four scopes as the state records them, and names for every id."""

    proxy_name: str
    proxy_id: str
    proxy_active: bool
    scopes: list[Scope]
    names: dict[str, str]  # RequestRocket id → Pulumi resource name

    def name(self, object_id: Optional[str]) -> Optional[str]:
        """The Pulumi resource name of an id; None for no id or one the stack does not hold."""
        return self.names.get(object_id) if object_id is not None else None


def stack_view(resources: list[dict[str, Any]], proxy: str) -> StackView:
    """The scopes of the Proxy named `proxy` (its Pulumi resource name, or its id) in a stack's resources, as the
    data plane sees them: objects and rules by their RequestRocket ids."""
    from rr_pulumi.tools import stack_rules

    deployed = stack_rules.deployed(resources)
    ids = {r.urn: r.id or "" for r in deployed}
    proxies = stack_rules.proxies(deployed)
    found = [p for p in proxies if p.name == proxy or p.proxy_id == proxy]
    if not found:
        known = ", ".join(sorted(p.name for p in proxies)) or "none"
        raise ExplainError(f"no Proxy {proxy!r} in the stack (by Pulumi name or id); proxies: {known}")
    p = found[0]

    def object_id(key: str) -> str:  # a URN of the stack, `id:<id>` outside it, `unknown:<scope>` when unset
        return ids.get(key) or (key[3:] if key.startswith("id:") else "")

    scopes = [Scope(s.scope, object_id(s.object_id), s.default_effect,
                    [{**rule, "sKey": ids[rule["sKey"]]} for rule in s.rules], s.name) for s in p.scopes]
    values = next(r.values for r in deployed if r.urn == p.urn)
    return StackView(p.name, p.proxy_id or "", values.get("proxy_active") is not False, scopes,
                     {r.id: r.name for r in deployed if r.id})


def claims_of_jwt(token: str) -> dict[str, Any]:
    """The payload of a JWT, not verified (explain judges rules, not credentials)."""
    from rr_pulumi.tools.request_files import claims_of_jwt as payload

    claims = payload(token)
    if claims is None:
        raise ExplainError("--jwt: not a JWT (header.payload.signature) whose payload is a JSON object")
    return claims


def build_request(args: argparse.Namespace) -> Request:
    headers = []
    for text in args.header:
        name, sep, value = text.partition(":")
        if not sep or not name.strip():
            raise ExplainError(f"--header {text!r}: expected 'Name: value'")
        headers.append((name.strip(), value.strip()))
    query = []
    for text in args.query:
        name, sep, value = text.partition("=")
        if not sep:
            raise ExplainError(f"--query {text!r}: expected name=value")
        query.append((name, value))
    body: Any = NO_BODY
    if args.body is not None:
        try:
            body = json.loads(args.body)
        except ValueError as exc:
            raise ExplainError(f"--body: not JSON ({exc})") from None
    claims = None
    if args.claims is not None:
        try:
            claims = json.loads(args.claims)
        except ValueError as exc:
            raise ExplainError(f"--claims: not JSON ({exc})") from None
        if not isinstance(claims, dict):
            raise ExplainError("--claims: must be a JSON object of claims")
    elif args.jwt:
        claims = claims_of_jwt(args.jwt)
    path = args.path if args.path.startswith("/") else "/" + args.path
    method = args.method.upper()
    if method not in HTTP_METHODS:  # what a rule can name; anything else would be judged by default effects alone
        raise ExplainError(f"method: must be one of: {', '.join(HTTP_METHODS)} (got {args.method!r})")
    return Request(method, path.split("?", 1)[0], headers, query, body, claims)


def as_json(view: StackView, request: Request, decision: Decision) -> dict[str, Any]:
    deciding = decision.deciding
    return {
        "proxy": {"name": view.proxy_name, "id": view.proxy_id, "active": view.proxy_active},
        "request": {"method": request.method, "path": request.path},
        "allowed": decision.allowed,
        "decidingScope": deciding.scope if deciding else None,
        "ruleId": decision.rule_id,
        "ruleName": view.names.get(decision.rule_id) if decision.rule_id else None,
        "scopes": [{"scope": s.scope, "objectId": s.object_id, "name": view.names.get(s.object_id),
                    "defaultEffect": s.default_effect, "effect": s.effect, "decidingRuleId": s.deciding_rule_id,
                    "matched": [{"id": r.get("sKey"), "name": view.name(r.get("sKey")), "effect": r.get("effect"),
                                 "priority": r.get("priority")} for r in s.matched]}
                   for s in decision.scopes],
    }


def render(view: StackView, request: Request, decision: Decision) -> str:
    lines = [f"{request.method} {request.path} on proxy {view.proxy_name} ({view.proxy_id})", ""]
    width = max(len(s) for s in SCOPES)
    for s in decision.scopes:
        matched = ", ".join(f"{view.name(r.get('sKey')) or r.get('sKey')} ({r.get('effect')}, priority "
                            f"{r.get('priority')})" for r in s.matched) or "no rule"
        why = f"by {view.names.get(s.deciding_rule_id, s.deciding_rule_id)}" if s.deciding_rule_id else "by default"
        lines.append(f"  {s.scope:<{width}}  {view.names.get(s.object_id) or s.object_id}: default {s.default_effect}; "
                     f"matching: {matched} -> {s.effect} {why}")
    lines.append("")
    deciding = decision.deciding
    if decision.allowed:
        lines.append("Decision: ALLOWED (every scope allows); the data plane forwards it to the target.")
    elif deciding is not None and deciding.deciding_rule_id:
        name = view.names.get(deciding.deciding_rule_id, deciding.deciding_rule_id)
        lines.append(f"Decision: DENIED by rule {name} ({deciding.deciding_rule_id}, {deciding.scope} scope); "
                     "the data plane answers 403 RULE_DENIED.")
    elif deciding is not None:
        lines.append(f"Decision: DENIED by the {deciding.scope}'s default effect (deny); the data plane answers "
                     "403 RULE_DENIED.")
    if not view.proxy_active:
        lines.append("Note: the proxy is inactive; the data plane answers 403 PROXY_INACTIVE before any rule.")
    for s in decision.scopes:
        if s.object_id not in view.names:
            lines.append(f"Note: the {s.scope} {s.object_id} is not in this stack; its rules and default effect are "
                         "unknown here (taken as none and allow).")
    return "\n".join(lines) + "\n"


def stack_resources(cwd: Path, stack: Optional[str]) -> list[dict[str, Any]]:
    """The resources of the stack's checkpoint (`pulumi stack export`)."""
    from rr_pulumi.tools.pulumi_cli import Pulumi, PulumiFailed

    try:
        document = Pulumi(cwd, stack).json("stack", "export")
    except PulumiFailed as exc:
        raise ExplainError(str(exc)) from None
    return document.get("deployment", {}).get("resources") or []


def run(args: argparse.Namespace) -> int:
    try:
        request = build_request(args)
        view = stack_view(stack_resources(Path(args.cwd), args.stack), args.proxy)
    except ExplainError as exc:
        print(f"COULD NOT EXPLAIN: {exc}", file=sys.stderr)
        return CANNOT_EXPLAIN
    decision = evaluate(view.scopes, request)
    print(json.dumps(as_json(view, request, decision), indent=2) if args.json else render(view, request, decision),
          end="\n" if args.json else "")
    return ALLOWED if decision.allowed else DENIED


def add_parser(commands: Any) -> Any:
    """`rr-pulumi rules explain ...` on the CLI's sub-command parser; returns the `rules` sub-commands (diff and lint
    join them from rules_diff.py, which imports this module)."""
    rules = commands.add_parser("rules", help="explain how a proxy's rules judge a request; diff and lint a change")
    sub = rules.add_subparsers(dest="rules_command", required=True)
    explain = sub.add_parser("explain", help="each scope's matching rules and the decision for a request; sends "
                             "nothing; exit 0 allowed, 1 denied, 2 error")
    explain.add_argument("proxy", help="the Proxy's Pulumi resource name (or its id)")
    explain.add_argument("method", help="HTTP method, e.g. GET")
    explain.add_argument("path", help="path below the proxy URL, e.g. /invoices/1")
    explain.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'", help="a header")
    explain.add_argument("-q", "--query", action="append", default=[], metavar="NAME=VALUE", help="a query parameter")
    explain.add_argument("--body", help="the JSON body")
    who = explain.add_mutually_exclusive_group()
    who.add_argument("--claims", help="the caller's JWT claims as a JSON object")
    who.add_argument("--jwt", help="the caller's JWT (its claims are read, not verified)")
    explain.add_argument("--cwd", default=".", help="the Pulumi project folder (default: .)")
    explain.add_argument("--stack", help="the stack (default: the selected one)")
    explain.add_argument("--json", action="store_true", help="print the explanation as JSON")
    explain.set_defaults(run=run)
    return sub
