"""Data plane, last step: forward to the target with the target credential injected, and bring the answer back.

Injection per target auth type: apiKey `<headerName or X-API-Key>: <apiKey>`; bearer `Authorization:
<prefix or "Bearer "><token>`; jwt `Authorization: Bearer <token>`; basicAuth `Authorization: Basic ...`; custom its
headers; oauth2 (client_credentials) a token fetched from `tokenUrl`; customToken a token fetched with the configured
request and read at `tokenPath`, sent as `<headerName or Authorization>: <prefix or "Bearer "><token>`; none nothing.
Fetched tokens are cached per credential version.

Every exchange is asynchronous (asyncio streams and h11), on a connection of its own that is closed afterwards: no
thread is held while a target is slow, and no connection is ever shared between proxies. The request target is sent
byte for byte as given (the path and query the rules judged), never re-encoded. Each exchange ends by the deadline
it is given, however the peer drips its answer.
"""
from __future__ import annotations

import asyncio
import base64
import json
import ssl
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import urlencode, urlsplit

import h11

from rr_pulumi.schema.rule_evaluation import JsonPathTooCostly, as_text, json_path
from rr_pulumi.emulator.schema import header_name_problem, header_value_problem

TOKEN_DEADLINE = 10.0            # seconds for a token endpoint's whole answer
CUSTOM_TOKEN_SECONDS = 60.0
TOKEN_PATH_NODES_MAX = 100_000   # nodes a customToken tokenPath may walk in its (at most 256 KiB) answer
MAX_ANSWER_BODY = 10 * 1024 * 1024     # a target answer larger than this is a 502
MAX_ANSWER_HEAD = 64 * 1024            # status line and headers of an answer
READ_CHUNK = 64 * 1024
# Never forwarded: hop-by-hop headers, the caller's own credential, and what the client sets itself.
DROPPED_REQUEST_HEADERS = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                           "transfer-encoding", "upgrade", "host", "content-length", "authorization",
                           "accept-encoding", "expect"}
DROPPED_RESPONSE_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding",
                            "upgrade", "trailer", "proxy-connection"}


class UpstreamFailed(Exception):
    """502 (or 504 on the deadline): the target or its token endpoint could not be used. Never holds a secret."""

    def __init__(self, code: str, message: str, status: int = 502):
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def header_problem(name: Any, value: Any) -> Optional[str]:
    """Why (name, value) cannot be an HTTP/1.1 header line, or None: the control plane's own check of secrets, asked
    again here for secrets stored before it existed."""
    return header_name_problem(name) or header_value_problem(value)


class TokenCache:
    """Tokens fetched for oauth2 and customToken credentials, keyed by credential id and version. Concurrent
    requests for one key share one fetch."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._fetching: dict[tuple[str, str], asyncio.Future] = {}

    async def get(self, key: tuple[str, str], fetch: Callable[[], Awaitable[tuple[str, float]]]) -> str:
        hit = self._tokens.get(key)
        if hit is not None and hit[1] > self.clock():
            return hit[0]
        task = self._fetching.get(key)
        if task is None:
            task = self._fetching[key] = asyncio.ensure_future(fetch())
            task.add_done_callback(lambda _t: self._fetching.pop(key, None))
        token, lifetime = await asyncio.shield(task)
        self._tokens[key] = (token, self.clock() + lifetime)
        return token


async def injected_headers(auth_type: str, secret: dict[str, Any], cache_key: tuple[str, str],
                           tokens: TokenCache) -> dict[str, str]:
    """The headers that carry the target credential (502 TARGET_CREDENTIAL_UNUSABLE when HTTP cannot carry one)."""
    secret = secret or {}
    headers: dict[str, str] = {}
    if auth_type == "apiKey":
        headers = {secret.get("headerName") or "X-API-Key": secret["apiKey"]}
    elif auth_type == "bearer":
        prefix = secret.get("prefix")
        headers = {"Authorization": f"{'Bearer ' if prefix is None else prefix}{secret['token']}"}
    elif auth_type == "jwt":
        headers = {"Authorization": f"Bearer {secret['token']}"}
    elif auth_type == "basicAuth":
        pair = f"{secret['username']}:{secret['password']}".encode()
        headers = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    elif auth_type == "custom":
        headers = {str(k): str(v) for k, v in (secret.get("headers") or {}).items()}
    elif auth_type == "oauth2":
        token = await tokens.get(cache_key, lambda: _client_credentials_token(secret))
        headers = {"Authorization": f"Bearer {token}"}
    elif auth_type == "customToken":
        token = await tokens.get(cache_key, lambda: _custom_token(secret))
        prefix = secret.get("prefix")
        headers = {secret.get("headerName") or "Authorization": f"{'Bearer ' if prefix is None else prefix}{token}"}
    for name, value in headers.items():
        if header_problem(name, value):
            raise UpstreamFailed("TARGET_CREDENTIAL_UNUSABLE",
                                 f"the target credential cannot be sent over HTTP: {header_problem(name, value)}")
    return headers


async def _client_credentials_token(secret: dict[str, Any]) -> tuple[str, float]:
    grant = secret.get("grantType")
    if grant != "client_credentials":
        raise UpstreamFailed("TARGET_CREDENTIAL_UNUSABLE", f"oauth2 grant {grant!r} needs a user's authorisation; "
                             "the emulator can only use client_credentials")
    form = {"grant_type": "client_credentials", "client_id": secret.get("clientId") or "",
            "client_secret": secret.get("clientSecret") or ""}
    if secret.get("scope"):
        form["scope"] = secret["scope"]
    body = await _token_request("POST", secret["tokenUrl"], [("Content-Type", "application/x-www-form-urlencoded")],
                                urlencode(form).encode())
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise UpstreamFailed("TARGET_AUTH_FAILED", "the oauth2 token endpoint returned no access_token")
    expires = body.get("expires_in")
    lifetime = float(expires) - 30 if isinstance(expires, (int, float)) and expires > 60 else 30.0
    return token, lifetime


async def _custom_token(secret: dict[str, Any]) -> tuple[str, float]:
    payload = secret.get("body")
    headers = [(str(k), str(v)) for k, v in (secret.get("headers") or {}).items()]
    data = b""
    if isinstance(payload, dict):
        data = json.dumps(payload).encode()
        headers.append(("Content-Type", "application/json"))
    elif isinstance(payload, str):
        data = payload.encode()
    body = await _token_request(secret.get("method") or "POST", secret["url"], headers, data)
    path = secret.get("tokenPath") or "$"
    try:   # read in the server's event loop, so with a small node limit of its own
        values = json_path(body, path if path.startswith("$") else "$." + path, TOKEN_PATH_NODES_MAX)
    except JsonPathTooCostly:
        raise UpstreamFailed("TARGET_AUTH_FAILED", f"the customToken tokenPath walks more than "
                             f"{TOKEN_PATH_NODES_MAX} nodes of the token endpoint's answer") from None
    if not values or values[0] in (None, "") or isinstance(values[0], (dict, list)):
        raise UpstreamFailed("TARGET_AUTH_FAILED", f"the customToken response has no token at {path}")
    return as_text(values[0]), CUSTOM_TOKEN_SECONDS


async def _token_request(method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> Any:
    if any(header_problem(k, v) for k, v in headers):
        raise UpstreamFailed("TARGET_CREDENTIAL_UNUSABLE", "a customToken header cannot be sent over HTTP")
    try:
        answer = await fetch(method, url, headers, body, time.monotonic() + TOKEN_DEADLINE, MAX_ANSWER_HEAD * 4)
    except UpstreamFailed as exc:
        raise UpstreamFailed("TARGET_AUTH_FAILED", f"token endpoint: {exc}") from None
    if answer.status >= 400:
        raise UpstreamFailed("TARGET_AUTH_FAILED", f"token endpoint answered {answer.status}")
    try:
        return json.loads(answer.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise UpstreamFailed("TARGET_AUTH_FAILED", "token endpoint did not answer JSON") from None


def request_target(base_url: str, path: str, query: str) -> str:
    """The URL a request goes to: the target's base URL + the (judged) path + the (judged) query, as they are."""
    base = urlsplit(base_url)
    target = base.path.rstrip("/") + (path if path.startswith("/") else "/" + path)
    query = "&".join(q for q in (base.query, query) if q)
    return f"{base.scheme}://{base.netloc}{target}" + (f"?{query}" if query else "")


async def fetch(method: str, url: str, headers: list[tuple[str, str]], body: bytes, deadline: float,
                max_body: int = MAX_ANSWER_BODY) -> Answer:
    """One HTTP/1.1 exchange on a fresh connection, done by `deadline` (time.monotonic()) or UpstreamFailed 504."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise UpstreamFailed("UPSTREAM_TIMEOUT", "the request's deadline passed before the target was called", 504)
    try:
        return await asyncio.wait_for(_connect_and_exchange(method, url, headers, body, max_body), left)
    except asyncio.TimeoutError:
        raise UpstreamFailed("UPSTREAM_TIMEOUT", "the target did not answer within the request's deadline",
                             504) from None
    except (OSError, ssl.SSLError, h11.ProtocolError, ValueError) as exc:
        raise UpstreamFailed("UPSTREAM_UNREACHABLE", f"the target did not answer ({type(exc).__name__})") from None


async def _connect_and_exchange(method: str, url: str, headers: list[tuple[str, str]], body: bytes,
                                max_body: int) -> Answer:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    reader, writer = await asyncio.open_connection(
        host, port, ssl=ssl.create_default_context() if secure else None, server_hostname=host if secure else None,
        limit=READ_CHUNK)
    try:
        return await _exchange(reader, writer, method, parts, headers, body, max_body)
    finally:
        writer.transport.abort()   # never reused: the next request, of any proxy, gets its own connection


async def _exchange(reader, writer, method: str, parts, headers: list[tuple[str, str]], body: bytes,
                    max_body: int) -> Answer:
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    head = [("Host", parts.netloc.rpartition("@")[2]), *headers, ("Connection", "close")]
    if body or method in ("POST", "PUT", "PATCH"):
        head.append(("Content-Length", str(len(body))))
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_ANSWER_HEAD)
    out = conn.send(h11.Request(method=method, target=target.encode("latin-1"),
                                headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in head]))
    if body:
        out += conn.send(h11.Data(data=body))
    out += conn.send(h11.EndOfMessage())
    writer.write(out)
    await writer.drain()
    status, answer_headers, chunks, size = 0, [], [], 0
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(READ_CHUNK))
        elif isinstance(event, h11.Response):
            status = event.status_code
            answer_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers.raw_items()]
        elif isinstance(event, h11.Data):
            size += len(event.data)
            if size > max_body:
                raise UpstreamFailed("UPSTREAM_ANSWER_TOO_LARGE", f"the target's answer is larger than {max_body} "
                                     "bytes")
            chunks.append(bytes(event.data))
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            break
        elif isinstance(event, h11.InformationalResponse):
            continue   # 100 Continue, 103 Early Hints: the answer follows
        elif event is h11.PAUSED:
            # The target switched protocols (a 2xx to CONNECT, a 101): h11 returns PAUSED from now on and this loop
            # never awaits, so going round again would freeze the whole server.
            raise UpstreamFailed("UPSTREAM_UNREACHABLE", "the target switched protocols; only HTTP/1.1 is relayed")
        else:
            raise UpstreamFailed("UPSTREAM_UNREACHABLE", f"the target's answer could not be read "
                                 f"({type(event).__name__})")
    kept = [(k, v) for k, v in answer_headers if k.lower() not in DROPPED_RESPONSE_HEADERS]
    return Answer(status, kept, b"".join(chunks))


def forward_headers(headers: list[tuple[str, str]], injected: dict[str, str], dropped: set[str]) -> list[tuple[str,
                                                                                                               str]]:
    """The caller's headers as forwarded (each line kept, not merged), then the injected credential."""
    blocked = {name.lower() for name in injected} | DROPPED_REQUEST_HEADERS | dropped
    return [(k, v) for k, v in headers if k.lower() not in blocked] + list(injected.items())
