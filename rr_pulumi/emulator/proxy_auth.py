"""Data plane, step one: does the caller hold the proxy credential? One check per proxy auth type.

The caller sends the credential in the `Authorization` header or, when there is no such header, in an
`Authorization` query parameter: apiKey the raw key; bearer `<prefix><token>`; basicAuth `Basic base64(user:pass)`;
jwt the configured JWT as it is (or after `Bearer `); jwtVerify any JWT that verifies with the JWKS or the shared
secret, and the configured audience and issuer. Secrets are compared in constant time; no error text ever repeats
what the caller sent.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import threading
from dataclasses import dataclass
from typing import Any, Optional

import jwt

JWKS_TIMEOUT = 5.0
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


def authenticate(auth_type: str, secret: dict[str, Any], value: Optional[str], headers: dict[str, str],
                 jwks: "JwksCache") -> Caller:
    """Blocking (a JWKS may be fetched): run it off the event loop."""
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
        raise AuthFailed("invalid bearer token")
    if auth_type == "basicAuth":
        return _basic(value, secret)
    if auth_type == "jwt":
        token = _without_bearer(value)
        if not _same(token, secret.get("token")):
            raise AuthFailed("invalid JWT")
        return Caller(_unverified_claims(token))
    if auth_type == "jwtVerify":
        return Caller(_verified_claims(_without_bearer(value), secret, jwks))
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


def _verified_claims(token: str, secret: dict[str, Any], jwks: "JwksCache") -> dict[str, Any]:
    audience, issuer = secret.get("audience"), secret.get("issuer")
    options = {"verify_aud": audience is not None, "verify_iss": issuer is not None}
    try:
        if secret.get("sharedSecret"):
            key: Any = secret["sharedSecret"]
            algorithms = HMAC_ALGORITHMS
        else:
            key = jwks.signing_key(secret.get("jwksUri") or "", token)
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
    """One PyJWKClient per JWKS URI, so keys are fetched once and refreshed when an unknown `kid` appears."""

    def __init__(self):
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._lock = threading.Lock()

    def signing_key(self, uri: str, token: str) -> Any:
        with self._lock:
            client = self._clients.get(uri)
            if client is None:
                client = self._clients[uri] = jwt.PyJWKClient(uri, cache_keys=True, lifespan=300,
                                                              timeout=JWKS_TIMEOUT)
        return client.get_signing_key_from_jwt(token).key
