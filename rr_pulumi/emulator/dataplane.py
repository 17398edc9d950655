"""The emulated data plane: `{emulator URL}/dataplane/api/{proxyId}/{path}` (so `requestrocket:dataPlaneUrl` is
`{emulator URL}/dataplane`), plus its admin routes under `/_emulator/dataplane/`.

Pipeline per request (docs/emulator.md, "The data plane"): 431 headers too large → 400 path → 404 unknown proxy →
405 method → 508 loop → 401 proxy credential → 403 inactive proxy → 429 per-minute / per-day limit → 413 body → 400
body the rules cannot read → 403 rules (one evaluation, `rr_pulumi.schema.rule_evaluation`, in worker processes)
→ forward with the
target credential injected, the path and query exactly as judged → the target's status, headers and body (502 / 504
when it cannot be had by the request's deadline). Every answer carries a request id and leaves a record (records of
unknown proxies share one small list); the injected upstream secret and the caller's credentials never appear in a
record, a log line or an answer. Nothing here holds a thread: a slow target, JWKS or pattern costs its own caller.
"""
from __future__ import annotations

import asyncio
import json
import math
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import parse_qsl, unquote

from rr_pulumi.schema.rule_evaluation import NO_BODY, Decision, Request, Scope
from rr_pulumi.api.config import EMULATOR_DATA_PLANE_PATH
from rr_pulumi.api.config import emulator_data_plane_url as data_plane_url  # noqa: F401 (the emulator's name for it)
from rr_pulumi.schema.proxy import MAX_REQUESTS_PER_DAY, MAX_REQUESTS_PER_MINUTE
from rr_pulumi.emulator import proxy_auth, upstream
from rr_pulumi.emulator.bodies import read_body
from rr_pulumi.emulator.gates import Gates
from rr_pulumi.emulator.redaction import is_sensitive
from rr_pulumi.emulator.backend import ApiError
from rr_pulumi.emulator.evaluator import Evaluator, has_body_checks
from rr_pulumi.emulator.schema import HTTP_METHODS
from rr_pulumi.emulator.store import Store

BASE_PATH = EMULATOR_DATA_PLANE_PATH  # the data-plane base URL is the emulator's URL + BASE_PATH
ADMIN_PATH = "/_emulator/dataplane"
REDACTED = "[REDACTED]"            # the caller's credential (or anything credential-like) in a record
INJECTED = "[INJECTED]"            # the target credential in a record
RULES_MAX = 100_000
MAX_BODY = 1024 * 1024             # the same bound as the Core API's bodies
MAX_HEADER_BYTES = 32 * 1024       # every header name and value of a request together → else 431
MAX_HEADERS = 100                  # header lines of a request → else 431
MAX_BODY_DEPTH = 64                # JSON nesting a body check reads → else 400 BODY_NOT_EVALUABLE
# The methods a rule can name are the methods forwarded (else 405): CONNECT would take the target's connection out
# of HTTP, and TRACE would echo the injected target credential back to the caller.
FORWARDED_METHODS = HTTP_METHODS
DEADLINE = 30.0                    # seconds for a whole data-plane request, every step included → else 504
DEADLINE_VARIABLE = "RR_EMULATOR_DATAPLANE_DEADLINE"   # overrides DEADLINE (tests use a short one)
IN_FLIGHT_PER_PROXY = 16           # requests of one proxy past authentication at once (more wait their turn)
IN_FLIGHT_PER_CLIENT = 32          # the same for all proxies of one client (tenant)
RECORDS_PER_PROXY = 1000
RECORDS_MAX = 5000                 # records of all proxies together (oldest out first)
UNKNOWN_PROXY_RECORDS = 100        # records of requests naming no proxy: one shared list, not one per id
RECORD_ITEMS_MAX = 40              # header lines / query parameters kept per record, repeats included (the rest
                                   # are counted)
RECORD_URL_MAX = 2048              # characters kept of a recorded URL
RECORD_TEXT_MAX = 200              # characters kept of a recorded name or value (the rest are counted)
# Header names whose values are credentials wherever they appear, besides Authorization and the apiKey header.
CREDENTIAL_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key",
                      "x-auth-token", "x-amz-security-token"}
CREDENTIAL_NAME = re.compile(r"auth|token|secret|passw|api[-_]?key|session|cookie|signature|credential", re.I)
CREDENTIAL_VALUE = re.compile(r"^\s*(bearer|basic|digest|token|negotiate|hawk|aws4-hmac-sha256)\s+\S"
                              r"|eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.", re.I)


# -- limits -----------------------------------------------------------------------------------------------------------

class ProxyLimits:
    """Fixed per-proxy windows of one minute and one day, each opened by its first counted request."""

    WINDOWS = (("minute", 60.0), ("day", 86400.0))

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._windows: dict[tuple[str, str], list[float]] = {}   # (proxy, window) → [start, count]
        self._lock = threading.Lock()

    def take(self, proxy_id: str, per_minute: int, per_day: int) -> Optional[tuple[str, int]]:
        """None if the request may go ahead (and counts it), else (window, Retry-After seconds)."""
        limits = {"minute": per_minute, "day": per_day}
        now = self.clock()
        with self._lock:
            current = []
            for name, length in self.WINDOWS:
                window = self._windows.get((proxy_id, name))
                if window is None or now - window[0] >= length:
                    window = self._windows[(proxy_id, name)] = [now, 0]
                if window[1] >= limits[name]:
                    return name, max(1, math.ceil(window[0] + length - now))
                current.append(window)
            for window in current:
                window[1] += 1
        return None

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


# -- what a proxy is made of ------------------------------------------------------------------------------------------

@dataclass
class ProxySetup:
    proxy: dict[str, Any]
    proxy_credential: Any      # store Item (doc + decrypted secret)
    target_credential: Any
    target: Any
    scopes: list[Scope]


def _rules(store: Store, parent_id: str) -> list[dict[str, Any]]:
    docs, _ = store.page("rule", parent_id=parent_id, limit=RULES_MAX)
    return [json.loads(d) for d in docs]


def load_setup(store: Store, proxy_id: str) -> Optional[ProxySetup]:
    """The proxy, its three parts and the four scopes' rules, read in one consistent snapshot."""
    with store.read() as s:
        proxy = s.get("proxy", proxy_id)
        if proxy is None:
            return None
        doc = proxy.doc
        pcred = s.get("credential", doc["proxyProxyCredentialId"])
        tcred = s.get("credential", doc["proxyTargetCredentialId"])
        target = s.get("target", doc["proxyTargetId"])
        if pcred is None or tcred is None or target is None:
            return None
        scopes = [
            Scope("proxy credential", pcred.id, "allow", _rules(s, pcred.id), pcred.doc.get("credentialName")),
            Scope("target credential", tcred.id, "allow", _rules(s, tcred.id), tcred.doc.get("credentialName")),
            Scope("proxy", proxy.id, doc.get("proxyDefaultRuleEffect") or "allow", _rules(s, proxy.id),
                  doc.get("proxyName")),
            Scope("target", target.id, target.doc.get("targetDefaultRuleEffect") or "allow", _rules(s, target.id),
                  target.doc.get("targetName")),
        ]
    return ProxySetup(doc, pcred, tcred, target, scopes)


def decision_summary(decision: Decision) -> list[dict[str, Any]]:
    """Each scope's outcome as a record keeps it: at most RECORD_ITEMS_MAX matched rule ids (highest priority
    first; the rest counted), since a scope may hold any number of rules and every record would keep them all."""
    summary = []
    for s in decision.scopes:
        entry: dict[str, Any] = {
            "scope": s.scope, "objectId": s.object_id, "defaultEffect": s.default_effect, "effect": s.effect,
            "matchedRuleIds": [r.get("sKey") for r in s.matched[:RECORD_ITEMS_MAX]], "ruleId": s.deciding_rule_id,
        }
        if len(s.matched) > RECORD_ITEMS_MAX:
            entry["omittedMatchedRules"] = len(s.matched) - RECORD_ITEMS_MAX
        summary.append(entry)
    return summary


# -- the ASGI app ---------------------------------------------------------------------------------------------------

class Refused(Exception):
    """An answer of the data plane itself (not the target's), with its record outcome."""

    def __init__(self, error: ApiError, outcome: str, extra: Optional[dict[str, Any]] = None):
        super().__init__(error.message)
        self.error, self.outcome, self.extra = error, outcome, extra or {}


class Records:
    """Request records, bounded in count (per proxy and in all) and in size; only known proxies get their own."""

    def __init__(self):
        self._by_proxy: dict[str, deque] = {}     # proxy id → (sequence number, record), oldest first
        self._order: deque = deque()              # (proxy id, sequence number) of every kept record, oldest first
        self._unknown: deque = deque(maxlen=UNKNOWN_PROXY_RECORDS)
        self._live = 0
        self._seq = 0
        self._lock = threading.Lock()

    def keep(self, record: dict[str, Any], known: bool) -> None:
        with self._lock:
            if not known:
                self._unknown.append(record)
                return
            self._seq += 1
            proxy_id = record["proxyId"]
            mine = self._by_proxy.setdefault(proxy_id, deque())
            mine.append((self._seq, record))
            self._order.append((proxy_id, self._seq))
            self._live += 1
            if len(mine) > RECORDS_PER_PROXY:
                mine.popleft()
                self._live -= 1
            while self._live > RECORDS_MAX:
                self._drop_oldest()
            if len(self._order) > 2 * RECORDS_MAX:   # entries of records a proxy's own bound already dropped
                self._order = deque(sorted(((p, n) for p, rs in self._by_proxy.items() for n, _ in rs),
                                           key=lambda entry: entry[1]))

    def _drop_oldest(self) -> None:
        proxy_id, seq = self._order.popleft()
        theirs = self._by_proxy.get(proxy_id)
        if theirs and theirs[0][0] == seq:
            theirs.popleft()
            self._live -= 1
            if not theirs:
                del self._by_proxy[proxy_id]

    def find(self, proxy_id: Optional[str]) -> list[dict[str, Any]]:
        with self._lock:
            if proxy_id:
                return [r for _, r in self._by_proxy.get(proxy_id, ())]
            kept = [r for rs in self._by_proxy.values() for _, r in rs] + list(self._unknown)
        return sorted(kept, key=lambda r: r["receivedAt"])

    def clear(self) -> None:
        with self._lock:
            self._by_proxy.clear()
            self._order.clear()
            self._unknown.clear()
            self._live = 0


@dataclass
class Progress:
    """How far one request got, which its record and a late answer depend on."""

    deadline: float               # time.monotonic() by which the request is answered
    known: bool = False           # it names an existing proxy (its record is kept with that proxy's)
    at_target: bool = False       # the target is being called: running out of time now is the target's doing


class DataPlane:
    def __init__(self, store: Store, admin_token: str, log=sys.stderr):
        self.store = store
        self.admin_token = admin_token
        self.log = log
        self.deadline = _deadline()
        self.limits = ProxyLimits()
        self.jwks = proxy_auth.JwksCache()
        self.tokens = upstream.TokenCache()
        self.records = Records()
        self.evaluator = Evaluator()
        self.proxy_gates = Gates(IN_FLIGHT_PER_PROXY)
        self.client_gates = Gates(IN_FLIGHT_PER_CLIENT)
        # This data plane's mark in the Via header of what it forwards: seeing it come back is a loop.
        self.via = f"rr-emulator-{uuid.uuid4().hex[:16]}"

    def close(self) -> None:
        self.evaluator.close()

    async def __call__(self, scope, receive, send) -> None:
        if scope["path"] == ADMIN_PATH or scope["path"].startswith(ADMIN_PATH + "/"):
            status, body = self._admin(scope)
            await _send(send, status, [("content-type", "application/json")], json.dumps(body).encode())
            return
        status, headers, payload = await self._proxy(scope, receive)
        await _send(send, status, headers, payload)

    # -- one proxied request ----------------------------------------------------------------------------------------

    async def _proxy(self, scope, receive) -> tuple[int, list[tuple[str, str]], bytes]:
        record: dict[str, Any] = {"requestId": str(uuid.uuid4()), "receivedAt": int(time.time() * 1000),
                                  "method": scope["method"], "proxyId": None}
        progress = Progress(time.monotonic() + self.deadline)
        try:
            answer = await asyncio.wait_for(self._handle(scope, receive, record, progress), self.deadline)
        except Refused as refused:
            answer = self._refusal(refused, record)
        except asyncio.TimeoutError:
            late = ApiError(504, "UPSTREAM_TIMEOUT", "the target did not answer within the data plane's "
                            f"{self.deadline:g} s deadline") if progress.at_target else \
                ApiError(504, "GATEWAY_TIMEOUT",
                         f"the request did not finish within the data plane's {self.deadline:g} s deadline")
            answer = self._refusal(Refused(late, "timeout"), record)
        except Exception:  # never a stack trace, and never an answer without a request id or a record
            traceback.print_exc(file=self.log)
            answer = self._refusal(Refused(ApiError(500, "INTERNAL_ERROR", "unexpected data-plane error"), "error"),
                                   record)
        self.records.keep(record, progress.known)
        status, headers, payload = answer
        return status, [*headers, ("x-requestrocket-request-id", record["requestId"])], payload

    @staticmethod
    def _refusal(refused: Refused, record: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        body = {**refused.error.body(), **refused.extra}
        record.update(status=refused.error.status, outcome=refused.outcome, error=refused.error.code,
                      **{k: v for k, v in refused.extra.items() if k in ("ruleId", "scope")})
        headers = [("content-type", "application/json"), *refused.error.headers.items()]
        return refused.error.status, headers, json.dumps(body).encode()

    async def _handle(self, scope, receive, record: dict[str, Any], progress: Progress) -> tuple[int, list, bytes]:
        raw_headers = scope["headers"]
        size = sum(len(k) + len(v) for k, v in raw_headers)
        if size > MAX_HEADER_BYTES or len(raw_headers) > MAX_HEADERS:
            record.update(headerBytes=size, headerCount=len(raw_headers))
            raise Refused(ApiError(431, "REQUEST_HEADER_FIELDS_TOO_LARGE", f"headers: at most {MAX_HEADERS} lines "
                                   f"and {MAX_HEADER_BYTES} bytes of names and values together"), "rejected")
        proxy_id, path, sent_path = split_path(scope)   # the path as judged, and as sent to the target
        record["proxyId"] = _clip(proxy_id)
        raw_query = scope["query_string"].decode("latin-1")
        query = parse_query(raw_query)
        setup = load_setup(self.store, proxy_id) if proxy_id else None
        if setup is None:
            raise Refused(ApiError(404, "NOT_FOUND", "no proxy with this id"), "unknown_proxy")
        progress.known = True
        record["proxyId"] = proxy_id
        if scope["method"] not in FORWARDED_METHODS:
            allowed = ", ".join(FORWARDED_METHODS)
            raise Refused(ApiError(405, "METHOD_NOT_ALLOWED", f"method: {_clip(scope['method'])} is not forwarded by "
                                   f"the data plane; allowed: {allowed}", {"Allow": allowed}), "rejected")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers]
        lower = {k.lower(): v for k, v in headers}
        pcred = setup.proxy_credential
        secret_header = ((pcred.secret or {}).get("headerName") or "").lower() \
            if pcred.doc.get("credentialAuthType") == "apiKey" else ""
        secrets = _secret_values(pcred.secret)
        record.update(path=_clip(path), **recorded(headers, query, {secret_header}, secrets))
        if any(self.via in value for name, value in headers if name.lower() == "via"):   # each line, not the last
            raise Refused(ApiError(508, "LOOP_DETECTED", "the request came back through this data plane: the "
                                   "proxy's target leads back to a proxy"), "loop")
        try:
            caller = await proxy_auth.authenticate(pcred.doc.get("credentialAuthType"), pcred.secret or {},
                                                   proxy_auth.presented(lower, query), lower, self.jwks)
        except proxy_auth.AuthFailed as exc:
            raise Refused(ApiError(401, "UNAUTHORIZED", str(exc)), "unauthorized") from None
        if not setup.proxy.get("proxyActive", True):
            raise Refused(ApiError(403, "PROXY_INACTIVE", "the proxy is inactive and processes no requests"),
                          "inactive")
        limited = self.limits.take(proxy_id,
                                   int(setup.proxy.get("proxyMaxRequestsPerMinute") or MAX_REQUESTS_PER_MINUTE),
                                   int(setup.proxy.get("proxyMaxRequestsPerDay") or MAX_REQUESTS_PER_DAY))
        if limited is not None:
            window, retry_after = limited
            raise Refused(ApiError(429, "RATE_LIMITED", f"the proxy's per-{window} request limit is reached",
                                   {"Retry-After": str(retry_after)}), "rate_limited")
        client = setup.proxy.get("clientId") or ""
        # The proxy's gate first: a request waiting for one of its proxy's slots holds none of its client's, so one
        # busy proxy cannot take the slots of its client's other proxies.
        async with self.proxy_gates.hold(proxy_id), self.client_gates.hold(client):
            try:
                body = await read_body(receive, _declared_length(dict(raw_headers).get(b"content-length")))
            except ApiError as exc:
                raise Refused(exc, "rejected") from None
            parsed = NO_BODY
            if body and has_body_checks(setup.scopes):
                parsed = evaluable_body(body)
            request = Request(scope["method"], path, headers, query, parsed, caller.claims)
            decision = await self.evaluator.evaluate(client, setup.scopes, request)
            if decision is None:
                raise Refused(ApiError(403, "RULES_TIMED_OUT", "the proxy's rules took longer than "
                                       f"{self.evaluator.budget:g} s to judge this request; refused (fail closed)"),
                              "denied")
            record["decision"] = decision_summary(decision)
            if not decision.allowed:
                deciding = decision.deciding
                assert deciding is not None  # a denial always has the scope that decided it
                reason = f"denied by rule {deciding.deciding_rule_id}" if deciding.deciding_rule_id \
                    else f"denied by the {deciding.scope}'s default effect"
                raise Refused(ApiError(403, "RULE_DENIED", f"{reason} ({deciding.scope} scope)"), "denied",
                              {"ruleId": deciding.deciding_rule_id, "scope": deciding.scope})
            return await self._forward(setup, scope, sent_path, headers, raw_query, body, secret_header, secrets,
                                       record, progress)

    async def _forward(self, setup: ProxySetup, scope, sent_path: str, headers, raw_query: str, body: bytes,
                       secret_header: str, secrets: set[str], record: dict[str, Any],
                       progress: Progress) -> tuple[int, list, bytes]:
        tcred = setup.target_credential
        url = upstream.request_target(setup.target.doc["targetBaseURL"], sent_path, forwarded_query(raw_query))
        via = ", ".join([v for k, v in headers if k.lower() == "via"] + [f"1.1 {self.via}"])
        try:
            injected = await upstream.injected_headers(
                tcred.doc.get("credentialAuthType"), tcred.secret or {},
                (tcred.id, tcred.doc.get("credentialUpdatedAt") or ""), self.tokens)
            sent = upstream.forward_headers(headers, injected, {secret_header, "via"}) + [("Via", via)]
            record["forwarded"] = {"method": scope["method"], "url": _recorded_url(url, secrets),
                                   "bodyBytes": len(body), "injectedHeaders": list(injected),
                                   "headers": _recorded_items(sent, {n.lower() for n in injected}, secrets,
                                                              INJECTED)[0]}
            progress.at_target = True   # the request's own deadline: fetch's and the outer one end it as one
            answer = await upstream.fetch(scope["method"], url, sent, body, progress.deadline)
        except upstream.UpstreamFailed as exc:
            raise Refused(ApiError(exc.status, exc.code, str(exc)),
                          "timeout" if exc.code == "UPSTREAM_TIMEOUT" else "upstream_error") from None
        record.update(status=answer.status, outcome="forwarded", upstreamStatus=answer.status)
        headers_out = [*answer.headers, ("x-requestrocket-proxy-auth", "authenticated")]
        return answer.status, headers_out, answer.body

    # -- records and admin ------------------------------------------------------------------------------------------

    def _admin(self, scope) -> tuple[int, Any]:
        token = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        if token != self.admin_token:
            return 401, ApiError(401, "UNAUTHORIZED", "admin token required").body()
        action = scope["path"][len(ADMIN_PATH):]
        try:
            query = admin_query(scope["query_string"], ("proxyId", "limit") if action == "/requests" else ())
        except ApiError as exc:
            return exc.status, exc.body()
        if action == "/requests" and scope["method"] == "GET":
            found = self.records.find(query.get("proxyId"))
            if "limit" in query:
                limit = int(query["limit"])
                found = found[-limit:] if limit else []
            return 200, {"requests": found, "totalRequests": len(found), "message": "Success"}
        if action == "/proxies" and scope["method"] == "GET":
            docs, _ = self.store.page("proxy", limit=RULES_MAX)
            proxies = [json.loads(d) for d in docs]
            return 200, {"proxies": [{"proxyId": p["sKey"], "proxyName": p.get("proxyName"), "clientId": p["clientId"],
                                      "proxyActive": p.get("proxyActive")} for p in proxies], "message": "Success"}
        if action == "/reset" and scope["method"] == "POST":
            self.limits.reset()
            self.records.clear()
            return 200, {"message": "Success"}
        return 404, ApiError(404, "NOT_FOUND", f"no admin route {scope['method']} {scope['path']}").body()


def _deadline() -> float:
    raw = os.environ.get(DEADLINE_VARIABLE)
    try:
        value = DEADLINE if raw in (None, "") else float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise SystemExit(f"{DEADLINE_VARIABLE}: must be a number of seconds from 0 (excluded) to 3600")
    return value


LIMIT_DIGITS = re.compile(r"[0-9]{1,9}")


def admin_query(raw: bytes, allowed: tuple[str, ...]) -> dict[str, str]:
    """An admin route's query: known parameters only, each once; `limit` in ASCII digits 0-RECORDS_MAX."""
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "VALIDATION_ERROR", "query: must be ASCII and UTF-8 percent-encoded") from None
    query: dict[str, str] = {}
    for key, value in pairs:
        if key not in allowed:
            raise ApiError(400, "VALIDATION_ERROR", f"{key}: unknown query parameter; allowed: "
                                                    f"{', '.join(allowed) or 'none'}")
        if key in query:
            raise ApiError(400, "VALIDATION_ERROR", f"{key}: given more than once")
        query[key] = value
    limit = query.get("limit")
    if limit is not None and (not LIMIT_DIGITS.fullmatch(limit) or int(limit) > RECORDS_MAX):
        raise ApiError(400, "VALIDATION_ERROR", f"limit: must be an integer 0-{RECORDS_MAX} (ASCII digits)")
    if "proxyId" in query and not 1 <= len(query["proxyId"]) <= 200:
        raise ApiError(400, "VALIDATION_ERROR", "proxyId: must be 1-200 characters")
    return query


# -- what the rules judge and what is forwarded ----------------------------------------------------------------------

# Percent-escapes that would change a path's structure once decoded (separators, dots, controls): refused.
ENCODED_STRUCTURE = re.compile(r"%(2[fF]|5[cC]|3[fF]|23|0[0-9a-fA-F]|1[0-9a-fA-F]|7[fF])")
PATH_CHARS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*")   # RFC 3986 pchar and '/'


def invalid_path(message: str) -> Refused:
    return Refused(ApiError(400, "INVALID_PATH", f"path: {message}"), "rejected")


def split_path(scope) -> tuple[str, str, str]:
    """(proxy id, the path the rules judge, the same path as forwarded) of `/dataplane/api/{proxyId}/...`.

    The forwarded path is the raw path below the proxy with dot segments removed and `//` collapsed; the judged one
    is that path percent-decoded. Escapes that would decode into structure (`%2F`, `%5C`, `%3F`, `%23`, controls, a
    segment that decodes to `.` or `..`) and backslashes are refused, as is a `..` that climbs above the proxy, so
    the two cannot differ in anything but their encoding. An id that is not a plain segment names no proxy ("")."""
    raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
    prefix = BASE_PATH + "/api/"
    if not raw.startswith(prefix):
        return "", "/", "/"
    proxy_raw, slash, below = raw[len(prefix):].partition("/")
    try:
        proxy_id = unquote(proxy_raw, errors="strict")
    except UnicodeDecodeError:
        proxy_id = ""
    if not proxy_id or any(c in proxy_id for c in "/\\?#%") or proxy_id in (".", ".."):
        proxy_id = ""
    below = slash + below
    if not PATH_CHARS.fullmatch(below):
        raise invalid_path("only RFC 3986 path characters may be sent (no spaces, backslashes or other characters "
                           "outside a path); percent-encode them")
    if ENCODED_STRUCTURE.search(below):
        raise invalid_path("an encoded '/', '\\', '?', '#' or control character is refused: it would "
                           "change the path's structure once decoded")
    segments: list[str] = []
    for segment in below.split("/")[1:]:
        if segment not in (".", "..") and "%" in segment and unquote(segment) in (".", ".."):
            raise invalid_path("an encoded dot segment ('%2E%2E') is refused: it would pose as '..' once decoded")
        if segment == "..":
            if not segments:
                raise invalid_path("'..' would leave the proxy's path")
            segments.pop()
        elif segment != ".":
            segments.append(segment)
    trailing = below.endswith(("/", "/.", "/..")) and bool(segments)
    forwarded = "/" + "/".join(s for s in segments if s) + ("/" if trailing else "")
    forwarded = re.sub(r"/{2,}", "/", forwarded)
    try:
        judged = unquote(forwarded, errors="strict")
    except UnicodeDecodeError:
        raise invalid_path("percent-escapes must encode UTF-8") from None
    return proxy_id, judged, forwarded


def parse_query(raw: str) -> list[tuple[str, str]]:
    """The query as the rules read it (names and values percent-decoded, `+` as space)."""
    if any(c in raw for c in "\x00\r\n"):
        raise invalid_query("control characters are refused")
    try:
        return parse_qsl(raw, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise invalid_query("percent-escapes must encode UTF-8") from None


def invalid_query(message: str) -> Refused:
    return Refused(ApiError(400, "INVALID_QUERY", f"query: {message}"), "rejected")


def forwarded_query(raw: str) -> str:
    """The raw query as sent, less the `Authorization` parameters (the caller's credential stays here)."""
    kept = [part for part in raw.split("&")
            if part and unquote(part.split("=", 1)[0].replace("+", " ")) != proxy_auth.QUERY_PARAMETER]
    return "&".join(kept)


def evaluable_body(body: bytes) -> Any:
    """The one JSON document a body check reads, or 400 BODY_NOT_EVALUABLE (fail closed: never "no values")."""
    depth, deepest, in_string, escaped = 0, 0, False, False
    for byte in body:   # the nesting is measured before parsing, so no parser recursion is ever at stake
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_BODY_DEPTH:
                raise _unevaluable(f"JSON nested deeper than {MAX_BODY_DEPTH} levels")
        elif byte in (0x5D, 0x7D):
            depth -= 1
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise _unevaluable("not UTF-8 text") from None
    except (ValueError, RecursionError) as exc:
        raise _unevaluable(f"not one JSON document ({str(exc).split(':')[0]})") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _unevaluable(why: str) -> Refused:
    return Refused(ApiError(400, "BODY_NOT_EVALUABLE", f"body: {why}; the proxy's body checks cannot read it, so "
                            "it is refused"), "rejected")


# -- records ---------------------------------------------------------------------------------------------------------

def _secret_values(secret: Optional[dict[str, Any]]) -> set[str]:
    """The proxy credential's secret strings (never recorded wherever a caller puts them)."""
    return {v for k, v in (secret or {}).items() if isinstance(v, str) and len(v) >= 4 and is_sensitive(k)}


def credential_like(name: str, value: str, secrets: set[str]) -> bool:
    return name.lower() in CREDENTIAL_HEADERS or bool(CREDENTIAL_NAME.search(name)) \
        or bool(CREDENTIAL_VALUE.search(value)) or any(s and s in value for s in secrets)


def _clip(text: str) -> str:
    return text if len(text) <= RECORD_TEXT_MAX else f"{text[:RECORD_TEXT_MAX]}…[+{len(text) - RECORD_TEXT_MAX}]"


def _recorded_items(items, names: set[str], secrets: set[str], mark: str = REDACTED) -> tuple[dict[str, str], int]:
    """The first RECORD_ITEMS_MAX items by name (a repeated name's values joined, each one counted against the
    bound), and how many were dropped."""
    kept: dict[str, str] = {}
    for name, value in items[:RECORD_ITEMS_MAX]:
        shown = mark if name.lower() in names else REDACTED if credential_like(name, value, secrets) \
            else _clip(value)
        key = _clip(name)
        kept[key] = shown if key not in kept else f"{kept[key]}, {shown}"
    return kept, max(0, len(items) - RECORD_ITEMS_MAX)


def _recorded_url(url: str, secrets: set[str]) -> str:
    """The forwarded URL as recorded: exactly as sent, but a credential-like query value is [REDACTED]."""
    base, sep, query = url.partition("?")
    parts = []
    for part in query.split("&") if sep else ():
        name, eq, value = part.partition("=")
        parts.append(f"{name}={REDACTED}" if eq and credential_like(unquote(name), unquote(value), secrets) else part)
    shown = base + (sep + "&".join(parts) if sep else "")
    return shown if len(shown) <= RECORD_URL_MAX else f"{shown[:RECORD_URL_MAX]}…[+{len(shown) - RECORD_URL_MAX}]"


def recorded(headers, query, credential_headers: set[str], secrets: set[str]) -> dict[str, Any]:
    """The caller's headers and query as a record keeps them: bounded, credentials redacted wherever they are."""
    shown_headers, more_headers = _recorded_items(headers, {n for n in credential_headers if n}, secrets)
    shown_query, more_query = _recorded_items(query, {proxy_auth.QUERY_PARAMETER.lower()}, secrets)
    out: dict[str, Any] = {"headers": shown_headers, "query": shown_query}
    if more_headers or more_query:
        out["omitted"] = {"headers": more_headers, "query": more_query}
    return out


def _declared_length(value: Optional[bytes]) -> Optional[int]:
    if value is None:
        return None
    if not value.isdigit() or not value.isascii():
        raise Refused(ApiError(400, "BAD_REQUEST", "bad Content-Length"), "rejected")
    if int(value) > MAX_BODY:
        raise Refused(ApiError(413, "PAYLOAD_TOO_LARGE", f"body: larger than {MAX_BODY} bytes"), "rejected")
    return int(value)


async def _send(send, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
    head = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers]
    head.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": payload})


_split = split_path   # its earlier name, which tests/unit/test_dataplane_limits.py still imports
