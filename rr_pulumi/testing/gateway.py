"""Calls to a deployed proxy through the emulated data plane, and what a rule test may assert about each call.

    result = gateway.call("DELETE", "/invoices/1", as_=partner_key)
    assert result.denied_by == "no-deletes"                      # a Rule's Pulumi resource name (or its id)
    assert gateway.call("GET", "/invoices", as_=partner_key).forwarded_with_header("Authorization")
"""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from rr_pulumi.testing.echo import EchoServer, Received

CALL_HEADER = "X-RR-Test-Call"   # ties a call to what the upstream received
# When set, every call is also appended to this file as a request of `rr-pulumi rules diff` (JSON Lines).
RULES_REQUESTS_ENV = "RR_PULUMI_RULES_REQUESTS"


def api_key(key: str) -> str:
    """An apiKey proxy credential as a caller sends it (the raw key)."""
    return key


def bearer(token: str, prefix: str = "Bearer ") -> str:
    return f"{prefix}{token}"


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def signed_jwt(claims: Mapping[str, Any], shared_secret: str, algorithm: str = "HS256") -> str:
    """A JWT for a jwtVerify proxy credential with a shared secret (needs PyJWT, in the emulator extra)."""
    import jwt

    return jwt.encode(dict(claims), shared_secret, algorithm=algorithm)


class RuleRef(str):
    """The rule that denied a call: equal to its Pulumi resource name and to its RequestRocket id.

    Being equal to two different strings, it cannot hash like both of them, so it is unhashable: put its `str()` (the
    name) or its `id` in a set or a dict, never the RuleRef itself.
    """

    id: Optional[str]

    def __new__(cls, name: str, rule_id: Optional[str]) -> RuleRef:
        ref = super().__new__(cls, name)
        ref.id = rule_id
        return ref

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        return str.__eq__(self, other) or (self.id is not None and str.__eq__(self.id, other))

    def __ne__(self, other: object) -> bool:  # str's own __ne__ would not see the id
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]  # equal to two strings with different hashes: see the docstring


@dataclass
class CallResult:
    status: int
    headers: Mapping[str, str]  # case-insensitive names
    body: bytes = field(repr=False)
    record: Optional[dict[str, Any]] = field(repr=False)
    upstream: Optional[Received] = field(repr=False)
    rule_names: Mapping[str, str] = field(repr=False, default_factory=dict)

    def json(self) -> Any:
        import json

        return json.loads(self.body)

    @property
    def code(self) -> Optional[str]:
        """The data plane's error code (RULE_DENIED, UNAUTHORIZED, RATE_LIMITED, ...); None when forwarded."""
        if self.forwarded:
            return None
        try:
            return self.json().get("code")
        except ValueError:
            return None

    @property
    def forwarded(self) -> bool:
        """The call passed authentication, limits and every rule scope, and went to the target."""
        return bool(self.record and self.record.get("outcome") == "forwarded")

    allowed = forwarded

    @property
    def denied(self) -> bool:
        return self.status == 403 and self.code == "RULE_DENIED"

    @property
    def denied_by(self) -> Optional[RuleRef]:
        """The deny rule that decided (its Pulumi name, also equal to its id), `default:<scope>` when a scope's
        default effect denied, None when the call was not denied by the rules."""
        if not self.denied:
            return None
        body = self.json()
        rule_id = body.get("ruleId")
        if rule_id is None:
            return RuleRef(f"default:{body.get('scope')}", None)
        return RuleRef(self.rule_names.get(rule_id, rule_id), rule_id)

    def forwarded_with_header(self, name: str, value: Optional[str] = None) -> bool:
        """The target received this header (with this value, if given): the caller's own or the injected one."""
        if not self.forwarded or self.upstream is None:
            return False
        received = self.upstream.header(name)
        return received is not None and (value is None or received == value)

    @property
    def injected_headers(self) -> list[str]:
        """The headers the data plane injected for the target credential (names only)."""
        return list((self.record or {}).get("forwarded", {}).get("injectedHeaders", []))


class Gateway:
    """One deployed proxy, called through the data plane like a client of the real service would."""

    def __init__(self, url: str, upstream: EchoServer, records: Callable[[str], list[dict[str, Any]]],
                 rule_names: Optional[Mapping[str, str]] = None, name: Optional[str] = None):
        self.url = url.rstrip("/")
        self.name = name  # the Proxy's Pulumi resource name
        self.proxy_id = self.url.rsplit("/", 1)[1]
        self.upstream = upstream
        self._records = records
        self.rule_names = dict(rule_names or {})
        # requests comes with the emulator extra; importing it here keeps the always-loaded pytest plugin (which
        # imports this package) working in a core-only install
        import requests

        self.session = requests.Session()

    def call(self, method: str, path: str = "/", as_: Optional[str] = None, *,
             headers: Optional[Mapping[str, str]] = None, query: Optional[Mapping[str, str]] = None,
             json: Any = None, body: Optional[bytes] = None, credential_in_query: bool = False) -> CallResult:
        """Send one request; `as_` is the proxy credential as the caller presents it (see api_key, bearer, basic,
        signed_jwt), None to send none."""
        marker = uuid.uuid4().hex
        sent_headers = {**(headers or {}), CALL_HEADER: marker}
        params = dict(query or {})
        if as_ is not None:
            if credential_in_query:
                params["Authorization"] = as_
            else:
                sent_headers["Authorization"] = as_
        response = self.session.request(method, self.url + (path if path.startswith("/") else "/" + path),
                                        headers=sent_headers, params=params, json=json, data=body, timeout=60)
        request_id = response.headers.get("x-requestrocket-request-id")
        record = next((r for r in reversed(self._records(self.proxy_id)) if r.get("requestId") == request_id), None)
        _write_rules_request(self.name or self.proxy_id, method, path, headers, query, body if json is None else json,
                             as_, record)
        upstream = next((r for r in reversed(self.upstream.received()) if r.header(CALL_HEADER) == marker), None)
        return CallResult(response.status_code, response.headers, response.content, record, upstream,
                          self.rule_names)


def _write_rules_request(proxy: str, method: str, path: str, headers: Optional[Mapping[str, str]],
                         query: Optional[Mapping[str, str]], body: Any, caller: Optional[str],
                         record: Optional[Mapping[str, Any]] = None) -> None:
    """Append the call, as `rr-pulumi rules diff` reads it, to $RR_PULUMI_RULES_REQUESTS (when set): the team's
    rule tests become the requests a pull request's rule change is checked against. No header or query parameter
    that carries a credential is written: Authorization, one the data plane's record of the call shows
    `[REDACTED]` (it knows the proxy credential's apiKey header and secret), one the data plane would redact by
    its name or value, and one holding the caller's credential (`as_`). A JWT's claims are written, since rules may
    check them. A raw body is written as the JSON it holds (the data plane parses it so)."""
    import json
    import os

    target = os.environ.get(RULES_REQUESTS_ENV)
    if not target:
        return
    from rr_pulumi.emulator.dataplane import REDACTED, credential_like
    from rr_pulumi.tools.request_files import claims_of_jwt

    line: dict[str, Any] = {"proxy": proxy, "method": method.upper(),
                            "path": path if path.startswith("/") else "/" + path}
    given = [v for k, v in [*(headers or {}).items(), *(query or {}).items()] if str(k).lower() == "authorization"]
    caller = caller if caller is not None else next(iter(given), None)
    # the credential as presented, and without its scheme (`Bearer <token>`): a value holding either is not written
    presented = {c for c in (caller, (caller or "").split(" ", 1)[-1].strip()) if c and len(c) >= 4}

    def without_credentials(items: Mapping[str, str], recorded: Mapping[str, str]) -> dict[str, str]:
        redacted = {str(k).lower() for k, v in recorded.items() if REDACTED in str(v)}
        return {str(k): str(v) for k, v in items.items()
                if str(k).lower() not in redacted and str(k).lower() != "authorization"
                and not credential_like(str(k), str(v), presented)}

    if headers:
        line["headers"] = without_credentials(headers, (record or {}).get("headers") or {})
    if query:
        line["query"] = without_credentials(query, (record or {}).get("query") or {})
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError:
            body = None  # not JSON: the data plane judges it as no body
    if body is not None:
        line["body"] = body
    claims = claims_of_jwt(caller.split(" ", 1)[-1].strip()) if caller else None
    if claims is not None:
        line["claims"] = claims
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    if test:
        line["name"] = test
    with open(target, "a", encoding="utf-8") as handle:  # one write per line: parallel workers do not interleave
        handle.write(json.dumps(line) + "\n")
