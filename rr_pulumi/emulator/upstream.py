"""Data plane, last step: forward to the target with the target credential injected, and bring the answer back.

Injection per target auth type: apiKey `<headerName or X-API-Key>: <apiKey>`; bearer `Authorization:
<prefix or "Bearer "><token>`; jwt `Authorization: Bearer <token>`; basicAuth `Authorization: Basic ...`; custom its
headers; oauth2 (client_credentials) a token fetched from `tokenUrl`; customToken a token fetched with the configured
request and read at `tokenPath`, sent as `<headerName or Authorization>: <prefix or "Bearer "><token>`; none nothing.
Fetched tokens are cached per credential version. Blocking (requests): run off the event loop.
"""
from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import requests

from ..rule_evaluation import as_text, json_path

TIMEOUT = 30.0
CUSTOM_TOKEN_SECONDS = 60.0
# Never forwarded: hop-by-hop headers, the caller's own credential, and what the HTTP client recomputes.
DROPPED_REQUEST_HEADERS = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                           "transfer-encoding", "upgrade", "host", "content-length", "authorization",
                           "accept-encoding"}
DROPPED_RESPONSE_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding",
                            "upgrade", "trailer"}


class UpstreamFailed(Exception):
    """502: the target or its token endpoint could not be used. The message never holds a secret."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class TokenCache:
    """Tokens fetched for oauth2 and customToken credentials, keyed by credential id and version."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], fetch: Callable[[], tuple[str, float]]) -> str:
        with self._lock:
            hit = self._tokens.get(key)
        if hit is not None and hit[1] > self.clock():
            return hit[0]
        token, lifetime = fetch()
        with self._lock:
            self._tokens[key] = (token, self.clock() + lifetime)
        return token


_local = threading.local()


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.trust_env = False  # the emulator talks to what it is told, not to a proxy from the environment
    return session


def injected_headers(auth_type: str, secret: dict[str, Any], cache_key: tuple[str, str],
                     tokens: TokenCache) -> dict[str, str]:
    """The headers that carry the target credential."""
    secret = secret or {}
    if auth_type == "apiKey":
        return {secret.get("headerName") or "X-API-Key": secret["apiKey"]}
    if auth_type == "bearer":
        prefix = secret.get("prefix")
        return {"Authorization": f"{'Bearer ' if prefix is None else prefix}{secret['token']}"}
    if auth_type == "jwt":
        return {"Authorization": f"Bearer {secret['token']}"}
    if auth_type == "basicAuth":
        pair = f"{secret['username']}:{secret['password']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    if auth_type == "custom":
        return {str(k): str(v) for k, v in (secret.get("headers") or {}).items()}
    if auth_type == "oauth2":
        token = tokens.get(cache_key, lambda: _client_credentials_token(secret))
        return {"Authorization": f"Bearer {token}"}
    if auth_type == "customToken":
        token = tokens.get(cache_key, lambda: (_custom_token(secret), CUSTOM_TOKEN_SECONDS))
        prefix = secret.get("prefix")
        return {secret.get("headerName") or "Authorization": f"{'Bearer ' if prefix is None else prefix}{token}"}
    return {}


def _client_credentials_token(secret: dict[str, Any]) -> tuple[str, float]:
    grant = secret.get("grantType")
    if grant != "client_credentials":
        raise UpstreamFailed("TARGET_CREDENTIAL_UNUSABLE", f"oauth2 grant {grant!r} needs a user's authorisation; "
                             "the emulator can only use client_credentials")
    form = {"grant_type": "client_credentials", "client_id": secret.get("clientId"),
            "client_secret": secret.get("clientSecret")}
    if secret.get("scope"):
        form["scope"] = secret["scope"]
    body = _token_request("POST", secret["tokenUrl"], data=form)
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise UpstreamFailed("TARGET_AUTH_FAILED", "the oauth2 token endpoint returned no access_token")
    expires = body.get("expires_in")
    lifetime = float(expires) - 30 if isinstance(expires, (int, float)) and expires > 60 else 30.0
    return token, lifetime


def _custom_token(secret: dict[str, Any]) -> str:
    payload = secret.get("body")
    kwargs: dict[str, Any] = {"headers": secret.get("headers") or {}}
    if isinstance(payload, dict):
        kwargs["json"] = payload
    elif isinstance(payload, str):
        kwargs["data"] = payload.encode()
    body = _token_request(secret.get("method") or "POST", secret["url"], **kwargs)
    path = secret.get("tokenPath") or "$"
    values = json_path(body, path if path.startswith("$") else "$." + path)
    if not values or values[0] in (None, "") or isinstance(values[0], (dict, list)):
        raise UpstreamFailed("TARGET_AUTH_FAILED", f"the customToken response has no token at {path}")
    return as_text(values[0])


def _token_request(method: str, url: str, **kwargs: Any) -> Any:
    try:
        response = _session().request(method, url, timeout=TIMEOUT, allow_redirects=False, **kwargs)
    except requests.RequestException as exc:
        raise UpstreamFailed("TARGET_AUTH_FAILED", f"token endpoint unreachable ({type(exc).__name__})") from None
    if response.status_code >= 400:
        raise UpstreamFailed("TARGET_AUTH_FAILED", f"token endpoint answered {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise UpstreamFailed("TARGET_AUTH_FAILED", "token endpoint did not answer JSON") from None


def target_url(base_url: str, raw_path: str, query: str) -> str:
    url = base_url.rstrip("/") + (raw_path if raw_path.startswith("/") else "/" + raw_path)
    return url + (f"?{query}" if query else "")


def forward(method: str, url: str, headers: list[tuple[str, str]], injected: dict[str, str],
            body: bytes) -> tuple[Answer, dict[str, str]]:
    """Send the request upstream; returns the answer and the headers actually sent."""
    blocked = {name.lower() for name in injected}
    sent: dict[str, str] = {}
    for name, value in headers:
        if name.lower() not in DROPPED_REQUEST_HEADERS and name.lower() not in blocked:
            sent[name] = f"{sent[name]}, {value}" if name in sent else value
    sent.update(injected)
    try:
        response = _session().request(method, url, headers=sent, data=body or None, timeout=TIMEOUT,
                                      allow_redirects=False, stream=False)
    except requests.RequestException as exc:
        raise UpstreamFailed("UPSTREAM_UNREACHABLE", f"the target did not answer ({type(exc).__name__})") from None
    answer_headers = [(k, v) for k, v in response.headers.items() if k.lower() not in DROPPED_RESPONSE_HEADERS]
    return Answer(response.status_code, answer_headers, response.content), sent


def json_or_none(raw: bytes) -> Optional[Any]:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
