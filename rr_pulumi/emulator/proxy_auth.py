"""Data plane, step one: does the caller hold the proxy credential? One check per proxy auth type.

The caller sends the credential in the `Authorization` header or, when there is no such header, in an
`Authorization` query parameter: apiKey the raw key; bearer `<prefix><token>`; basicAuth `Basic base64(user:pass)`;
jwt the configured JWT as it is (or after `Bearer `); jwtVerify any JWT that verifies with the JWKS or the shared
secret, and the configured audience and issuer. Secrets are compared in constant time; no error text ever repeats
what the caller sent.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

import jwt

from rr_pulumi.emulator import upstream

if TYPE_CHECKING:
    from jwt.types import Options

JWKS_TIMEOUT = 5.0           # seconds for a JWKS's whole answer (a total deadline, however the server drips it)
JWKS_LIFESPAN = 300.0        # seconds a fetched JWKS is used
JWKS_REFRESH_AFTER = 10.0    # an unknown `kid` fetches the JWKS again, at most this often per URI
JWKS_MAX_BYTES = 1024 * 1024
JWKS_CACHED_URIS = 256
HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"]
KEY_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
QUERY_PARAMETER = "Authorization"


class AuthFailed(Exception):
    """401: the message says why in words that never include the presented value."""


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: the JWT claims when the credential is a JWT, else None."""

    claims: Optional[dict[str, Any]] = None


def presented(headers: dict[str, str], query: list[tuple[str, str]]) -> Optional[str]:
    """The credential the caller presents: the Authorization header, else the Authorization query parameter."""
    if headers.get("authorization"):
        return headers["authorization"]
    return next((v for k, v in query if k == QUERY_PARAMETER and v), None)


def _same(given: str, expected: Any) -> bool:
    return isinstance(expected, str) and bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _without_bearer(value: str) -> str:
    return value[7:].strip() if value[:7].lower() == "bearer " else value.strip()


async def authenticate(auth_type: str, secret: dict[str, Any], value: Optional[str], headers: dict[str, str],
                       jwks: "JwksCache") -> Caller:
    """Asynchronous: a JWKS may be fetched (within JWKS_TIMEOUT), holding no thread."""
    secret = secret or {}
    if auth_type == "apiKey":
        header = (secret.get("headerName") or "").lower()
        candidates = [value, headers.get(header) if header else None]
        if any(c and _same(c, secret.get("apiKey")) for c in candidates):
            return Caller()
        raise AuthFailed("missing or invalid API key" if any(candidates) else "missing proxy credential")
    if value is None:
        raise AuthFailed("missing proxy credential: send it in the Authorization header or query parameter")
    if auth_type == "bearer":
        prefix, token = secret.get("prefix"), secret.get("token")
        prefix = "Bearer " if prefix is None else prefix
        if _same(value, f"{prefix}{token}") or _same(value, f"{prefix.rstrip()} {token}"):
            return Caller()
        scheme, sep, rest = value.partition(" ")
        if prefix.endswith(" ") and " " not in prefix.strip() and sep and scheme.lower() == prefix.strip().lower() \
                and _same(rest.lstrip(" "), token):   # an auth scheme is case-insensitive (RFC 9110 11.1)
            return Caller()
        raise AuthFailed("invalid bearer token")
    if auth_type == "basicAuth":
        return _basic(value, secret)
    if auth_type == "jwt":
        token = _without_bearer(value)
        if not _same(token, secret.get("token")):
            raise AuthFailed("invalid JWT")
        return Caller(_unverified_claims(token))
    if auth_type == "jwtVerify":
        return Caller(await _verified_claims(_without_bearer(value), secret, jwks))
    raise AuthFailed(f"auth type {auth_type!r} cannot authenticate callers")


def _basic(value: str, secret: dict[str, Any]) -> Caller:
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic":
        raise AuthFailed("expected Basic authentication")
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise AuthFailed("malformed Basic credentials") from None
    if sep and _same(user, secret.get("username")) & _same(password, secret.get("password")):
        return Caller()
    raise AuthFailed("invalid username or password")


def _unverified_claims(token: str) -> Optional[dict[str, Any]]:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


async def _verified_claims(token: str, secret: dict[str, Any], jwks: "JwksCache") -> dict[str, Any]:
    audience, issuer = secret.get("audience"), secret.get("issuer")
    options: Options = {"verify_aud": audience is not None, "verify_iss": issuer is not None}
    try:
        if secret.get("sharedSecret"):
            key: Any = secret["sharedSecret"]
            algorithms = HMAC_ALGORITHMS
        else:
            key = await jwks.signing_key(secret.get("jwksUri") or "", token)
            algorithms = KEY_ALGORITHMS
        claims = jwt.decode(token, key, algorithms=algorithms, audience=audience, issuer=issuer, options=options)
    except jwt.ExpiredSignatureError:
        raise AuthFailed("JWT expired") from None
    except jwt.InvalidAudienceError:
        raise AuthFailed("JWT audience does not match") from None
    except jwt.InvalidIssuerError:
        raise AuthFailed("JWT issuer does not match") from None
    except jwt.PyJWKClientConnectionError:
        raise AuthFailed("JWT cannot be verified: the JWKS could not be fetched") from None
    except jwt.PyJWKClientError:
        raise AuthFailed("JWT cannot be verified: no matching key in the JWKS") from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise AuthFailed("invalid JWT") from None
    if not isinstance(claims, dict):
        raise AuthFailed("invalid JWT")
    return claims


class JwksCache:
    """Fetched JWKSs by URI (at most JWKS_CACHED_URIS, least recently used out), fetched asynchronously with a total
    deadline; concurrent callers of one URI share one fetch, so a hanging JWKS costs only the callers that need it."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._sets: OrderedDict[str, tuple[list[jwt.PyJWK], float]] = OrderedDict()
        self._fetching: dict[str, asyncio.Future] = {}

    async def signing_key(self, uri: str, token: str) -> Any:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise jwt.InvalidTokenError("malformed header") from None
        keys, fetched = await self._keys(uri, refresh=False)
        key = next((k for k in keys if k.key_id == kid), None)
        if key is None and self.clock() - fetched >= JWKS_REFRESH_AFTER:
            keys, _ = await self._keys(uri, refresh=True)
            key = next((k for k in keys if k.key_id == kid), None)
        if key is None:
            raise jwt.PyJWKClientError("no matching key")
        return key.key

    async def _keys(self, uri: str, refresh: bool) -> tuple[list[jwt.PyJWK], float]:
        hit = self._sets.get(uri)
        if hit is not None and not refresh and self.clock() - hit[1] < JWKS_LIFESPAN:
            self._sets.move_to_end(uri)
            return hit
        task = self._fetching.get(uri)
        if task is None:
            task = self._fetching[uri] = asyncio.ensure_future(self._fetch(uri))
            task.add_done_callback(lambda _t: self._fetching.pop(uri, None))
        keys = await asyncio.shield(task)
        self._sets[uri] = (keys, self.clock())
        self._sets.move_to_end(uri)
        while len(self._sets) > JWKS_CACHED_URIS:
            self._sets.popitem(last=False)
        return self._sets[uri]

    @staticmethod
    async def _fetch(uri: str) -> list[jwt.PyJWK]:
        try:
            answer = await upstream.fetch("GET", uri, [("Accept", "application/json")], b"",
                                          time.monotonic() + JWKS_TIMEOUT, JWKS_MAX_BYTES)
            if answer.status != 200:
                raise ValueError(answer.status)
            data = json.loads(answer.body)
        except (upstream.UpstreamFailed, ValueError, UnicodeDecodeError, RecursionError):
            raise jwt.PyJWKClientConnectionError("the JWKS could not be fetched") from None
        try:
            keys = jwt.PyJWKSet.from_dict(data).keys
        except (jwt.PyJWTError, AttributeError, TypeError, KeyError, ValueError):
            raise jwt.PyJWKClientError("no usable keys") from None
        return [k for k in keys if k.public_key_use in ("sig", None) and k.key_id]
