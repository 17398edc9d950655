"""The emulated data plane: `{emulator URL}/dataplane/api/{proxyId}/{path}` (so `requestrocket:dataPlaneUrl` is
`{emulator URL}/dataplane`), plus its admin routes under `/_emulator/dataplane/`.

Pipeline per request (docs/emulator.md, "The data plane"): 404 unknown proxy → 401 proxy credential → 403 inactive
proxy → 429 per-minute / per-day limit → 413 body → 403 rules (one evaluation, `rr_pulumi.rule_evaluation`) →
forward with the target credential injected → the target's status and body. Every request leaves a record; the
injected upstream secret never appears in a record, a log line or an answer.
"""
from __future__ import annotations

import asyncio
import json
import math
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import parse_qsl, urlencode

from ..rule_evaluation import NO_BODY, Decision, Request, Scope, evaluate
from ..config import EMULATOR_DATA_PLANE_PATH
from ..config import emulator_data_plane_url as data_plane_url  # noqa: F401 (the emulator's name for it)
from ..schema.proxy import MAX_REQUESTS_PER_DAY, MAX_REQUESTS_PER_MINUTE
from . import proxy_auth, upstream
from .app import read_body
from .backend import ApiError
from .store import Store

BASE_PATH = EMULATOR_DATA_PLANE_PATH  # the data-plane base URL is the emulator's URL + BASE_PATH
ADMIN_PATH = "/_emulator/dataplane"
RECORDS_PER_PROXY = 1000
REDACTED = "[REDACTED]"            # the caller's credential in a record
INJECTED = "[INJECTED]"            # the target credential in a record
RULES_MAX = 100_000
MAX_BODY = 1024 * 1024             # the same bound as the Core API's bodies


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
    return [{"scope": s.scope, "objectId": s.object_id, "defaultEffect": s.default_effect, "effect": s.effect,
             "matchedRuleIds": [r.get("sKey") for r in s.matched], "ruleId": s.deciding_rule_id}
            for s in decision.scopes]


# -- the ASGI app ---------------------------------------------------------------------------------------------------

class Refused(Exception):
    """An answer of the data plane itself (not the target's), with its record outcome."""

    def __init__(self, error: ApiError, outcome: str, extra: Optional[dict[str, Any]] = None):
        super().__init__(error.message)
        self.error, self.outcome, self.extra = error, outcome, extra or {}


class DataPlane:
    def __init__(self, store: Store, admin_token: str, log=sys.stderr):
        self.store = store
        self.admin_token = admin_token
        self.log = log
        self.limits = ProxyLimits()
        self.jwks = proxy_auth.JwksCache()
        self.tokens = upstream.TokenCache()
        self.records: dict[str, deque] = {}
        self._records_lock = threading.Lock()

    @staticmethod
    def serves(path: str) -> bool:
        return path == BASE_PATH or path.startswith(BASE_PATH + "/") or path.startswith(ADMIN_PATH)

    async def __call__(self, scope, receive, send) -> None:
        if scope["path"].startswith(ADMIN_PATH):
            status, body = self._admin(scope)
            await _send(send, status, [("content-type", "application/json")], json.dumps(body).encode())
            return
        try:
            status, headers, payload = await self._proxy(scope, receive)
        except Exception:  # never a stack trace to the caller
            traceback.print_exc(file=self.log)
            error = ApiError(500, "INTERNAL_ERROR", "unexpected data-plane error")
            status, headers, payload = 500, [("content-type", "application/json")], json.dumps(error.body()).encode()
        await _send(send, status, headers, payload)

    # -- one proxied request ----------------------------------------------------------------------------------------

    async def _proxy(self, scope, receive) -> tuple[int, list[tuple[str, str]], bytes]:
        record: dict[str, Any] = {"requestId": str(uuid.uuid4()), "receivedAt": int(time.time() * 1000),
                                  "method": scope["method"]}
        try:
            answer = await self._handle(scope, receive, record)
        except Refused as refused:
            body = {**refused.error.body(), **refused.extra}
            record.update(status=refused.error.status, outcome=refused.outcome, error=refused.error.code,
                          **{k: v for k, v in refused.extra.items() if k in ("ruleId", "scope")})
            headers = [("content-type", "application/json"), *refused.error.headers.items()]
            answer = (refused.error.status, headers, json.dumps(body).encode())
        self._keep(record)
        status, headers, payload = answer
        return status, [*headers, ("x-requestrocket-request-id", record["requestId"])], payload

    async def _handle(self, scope, receive, record: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        proxy_id, path, raw_path = _split(scope)
        record.update(proxyId=proxy_id, path=path)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        lower = {k.lower(): v for k, v in headers}
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        setup = load_setup(self.store, proxy_id) if proxy_id else None
        if setup is None:
            raise Refused(ApiError(404, "NOT_FOUND", "no proxy with this id"), "unknown_proxy")
        pcred = setup.proxy_credential
        secret_header = ((pcred.secret or {}).get("headerName") or "").lower() \
            if pcred.doc.get("credentialAuthType") == "apiKey" else ""
        record["headers"] = {k: (REDACTED if k.lower() in ("authorization", secret_header) else v) for k, v in headers}
        record["query"] = {k: (REDACTED if k == proxy_auth.QUERY_PARAMETER else v) for k, v in query}

        try:
            caller = await asyncio.to_thread(
                proxy_auth.authenticate, pcred.doc.get("credentialAuthType"), pcred.secret or {},
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
        try:
            body = await read_body(receive, _declared_length(dict(scope["headers"]).get(b"content-length")))
        except ApiError as exc:
            raise Refused(exc, "rejected") from None

        parsed = upstream.json_or_none(body) if body else None
        request = Request(scope["method"], path, headers, query, NO_BODY if parsed is None else parsed, caller.claims)
        decision = await asyncio.to_thread(evaluate, setup.scopes, request)  # slow patterns never stall the loop
        record["decision"] = decision_summary(decision)
        if not decision.allowed:
            deciding = decision.deciding
            reason = f"denied by rule {deciding.deciding_rule_id}" if deciding.deciding_rule_id \
                else f"denied by the {deciding.scope}'s default effect"
            raise Refused(ApiError(403, "RULE_DENIED", f"{reason} ({deciding.scope} scope)"), "denied",
                          {"ruleId": deciding.deciding_rule_id, "scope": deciding.scope})
        return await self._forward(setup, scope, raw_path, headers, query, body, secret_header, record)

    async def _forward(self, setup: ProxySetup, scope, raw_path: str, headers, query, body: bytes,
                       secret_header: str, record: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        tcred = setup.target_credential
        url = upstream.target_url(setup.target.doc["targetBaseURL"], raw_path,
                                  urlencode([(k, v) for k, v in query if k != proxy_auth.QUERY_PARAMETER]))
        kept = [(k, v) for k, v in headers if k.lower() != secret_header]

        def call() -> tuple[upstream.Answer, dict[str, str], list[str]]:
            injected = upstream.injected_headers(tcred.doc.get("credentialAuthType"), tcred.secret or {},
                                                 (tcred.id, tcred.doc.get("credentialUpdatedAt") or ""), self.tokens)
            answer, sent = upstream.forward(scope["method"], url, kept, injected, body)
            return answer, sent, list(injected)

        try:
            answer, sent, injected = await asyncio.to_thread(call)
        except upstream.UpstreamFailed as exc:
            raise Refused(ApiError(502, exc.code, str(exc)), "upstream_error") from None
        names = {n.lower() for n in injected}
        record.update(status=answer.status, outcome="forwarded", upstreamStatus=answer.status,
                      forwarded={"method": scope["method"], "url": url, "bodyBytes": len(body),
                                 "injectedHeaders": injected,
                                 "headers": {k: (INJECTED if k.lower() in names else v) for k, v in sent.items()}})
        headers_out = [*answer.headers, ("x-requestrocket-proxy-auth", "authenticated")]
        return answer.status, headers_out, answer.body

    # -- records and admin ------------------------------------------------------------------------------------------

    def _keep(self, record: dict[str, Any]) -> None:
        proxy_id = record.get("proxyId") or ""
        with self._records_lock:
            self.records.setdefault(proxy_id, deque(maxlen=RECORDS_PER_PROXY)).append(record)

    def _admin(self, scope) -> tuple[int, Any]:
        token = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        if token != self.admin_token:
            return 401, ApiError(401, "UNAUTHORIZED", "admin token required").body()
        action = scope["path"][len(ADMIN_PATH):]
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        if action == "/requests" and scope["method"] == "GET":
            with self._records_lock:
                if query.get("proxyId"):
                    found = list(self.records.get(query["proxyId"], ()))
                else:
                    found = sorted((r for rs in self.records.values() for r in rs), key=lambda r: r["receivedAt"])
            limit = query.get("limit", "")
            if limit.isdigit():
                found = found[-int(limit):] if int(limit) else []
            return 200, {"requests": found, "totalRequests": len(found), "message": "Success"}
        if action == "/proxies" and scope["method"] == "GET":
            docs, _ = self.store.page("proxy", limit=RULES_MAX)
            proxies = [json.loads(d) for d in docs]
            return 200, {"proxies": [{"proxyId": p["sKey"], "proxyName": p.get("proxyName"), "clientId": p["clientId"],
                                      "proxyActive": p.get("proxyActive")} for p in proxies], "message": "Success"}
        if action == "/reset" and scope["method"] == "POST":
            self.limits.reset()
            with self._records_lock:
                self.records.clear()
            return 200, {"message": "Success"}
        return 404, ApiError(404, "NOT_FOUND", f"no admin route {scope['method']} {scope['path']}").body()


def _declared_length(value: Optional[bytes]) -> Optional[int]:
    if value is None:
        return None
    if not value.isdigit():
        raise ApiError(400, "BAD_REQUEST", "bad Content-Length")
    if int(value) > MAX_BODY:
        raise ApiError(413, "PAYLOAD_TOO_LARGE", f"body: larger than {MAX_BODY} bytes")
    return int(value)


def _split(scope) -> tuple[str, str, str]:
    """(proxy id, decoded path below the proxy, raw path below the proxy) of `/dataplane/api/{proxyId}/...`."""
    decoded = scope["path"][len(BASE_PATH):]
    parts = decoded.split("/", 3)
    if len(parts) < 3 or parts[1] != "api" or not parts[2]:
        return "", decoded or "/", decoded or "/"
    prefix = f"{BASE_PATH}/api/{parts[2]}"
    raw = (scope.get("raw_path") or b"").decode("latin-1")
    below = decoded[len(prefix) - len(BASE_PATH):] or "/"
    raw_below = raw[len(prefix):] if raw.startswith(prefix) else below  # forwarded with its own encoding
    return parts[2], below, raw_below or "/"


async def _send(send, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
    head = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers]
    head.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": payload})
