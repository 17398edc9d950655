"""Core API failures as a small exception hierarchy.

Every message names the HTTP method, the path, the status and the API's own `code` and text, so a failed
`pulumi up` says what was asked and what the API answered. Messages never carry the token, and any secret value
that the API might echo back (a `credentialSecret`) is redacted before the message is built.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, Iterable, Mapping, Optional

REDACTED = "[redacted]"

# A JSON object literal following a credentialSecret key, as an API might echo it in an error text.
_SECRET_OBJECT = re.compile(r'("?credentialSecret"?\s*[:=]\s*)(\{[^{}]*(\{[^{}]*\}[^{}]*)*\}|"[^"]*")')
# The same key whose value the text cuts off (no closing brace or quote before the end).
_SECRET_UNCLOSED = re.compile(r'("?credentialSecret"?\s*[:=]\s*)(?!"\[redacted\]")[{"].*\Z', re.DOTALL)
MIN_SECRET = 3  # shorter values are not redacted (they would blank out ordinary words)
DETAIL_LIMIT = 300  # characters of a non-JSON error body kept in a message


class RequestRocketError(Exception):
    """Base class of every error rr-pulumi raises on purpose."""


class ConfigurationError(RequestRocketError):
    """The provider is not configured (no token, malformed URL)."""


class ConnectionCheckFailed(ConfigurationError):
    """The command's connection check failed: a rejected token or an unreachable API (the text names the setting)."""


class ConnectionFailed(RequestRocketError):
    """The API could not be reached, or did not answer in time."""

    def __init__(self, method: str, path: str, reason: str) -> None:
        self.method, self.path, self.reason = method, path, reason
        super().__init__(f"{method} {path} failed: could not reach the RequestRocket API ({reason})")


class ApiError(RequestRocketError):
    """The API answered with an error status; `code` is its UPPER_SNAKE code when it sent one."""

    status: int = 0

    def __init__(
        self,
        method: str,
        path: str,
        status: int,
        code: Optional[str] = None,
        error: Optional[str] = None,
        detail: Optional[str] = None,
    ) -> None:
        self.method, self.path, self.status = method, path, status
        self.code, self.error, self.detail = code, error, detail
        text = "; ".join(part for part in (error, detail) if part)
        head = f"{method} {path} returned {status}" + (f" {code}" if code else "")
        super().__init__(f"{head}: {text}" if text else head)


class InvalidRequest(ApiError):
    """400: the API rejected the body or the query (the message names the field)."""


class Unauthorized(ApiError):
    """401: no token or an unknown token."""


class Forbidden(ApiError):
    """403: the token's user is not allowed to do this in this client."""


class NotFound(ApiError):
    """404: the object (or its client or parent) does not exist."""


class Conflict(ApiError):
    """409: e.g. RESOURCE_IN_USE when deleting a credential or target that a proxy still references."""


class PayloadTooLarge(ApiError):
    """413: the request body is too large."""


class RateLimited(ApiError):
    """429: over the token's rate limit; `retry_after` is the server's hint in seconds (None when absent)."""

    retry_after: Optional[float] = None


class ServerError(ApiError):
    """5xx: the API failed; the request may or may not have been applied."""


class ObjectsBelow(RequestRocketError):
    """A delete refused because the API would delete objects this stack does not manage along with it."""


class UnprovenCreate(RequestRocketError):
    """A create failed ambiguously and no listed object is provably the one it made (see `rr_pulumi.api.ownership`);
    `candidates` are the ids it may have created (empty when the collection could not be listed)."""

    def __init__(self, message: str, candidates: tuple[str, ...] = ()) -> None:
        self.candidates = candidates
        super().__init__(message)


_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    429: RateLimited,
}


def gave_up(error: Exception, attempts: int, seconds: float) -> Exception:
    """The last error of a retried request, saying how hard we tried (so a user knows it was not a one-off)."""
    if attempts > 1 and error.args and isinstance(error.args[0], str):
        error.args = (f"{error.args[0]} (gave up after {attempts} attempts in {seconds:.0f} s)", *error.args[1:])
    return error


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove every known secret value and any echoed credentialSecret object from `text`.

    A text that was cut short before it reached us (by the API or a proxy) may end inside a secret: an unclosed
    credentialSecret object is removed to the end, and so is a tail that is the start of a known secret."""
    text = _SECRET_OBJECT.sub(lambda m: m.group(1) + '"' + REDACTED + '"', text)
    text = _SECRET_UNCLOSED.sub(lambda m: m.group(1) + '"' + REDACTED + '"', text)
    # Longest first, so a secret that contains another is removed whole.
    values = sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True)
    for value in values:
        text = text.replace(value, REDACTED)
    for value in values:
        for cut in range(len(value) - 1, MIN_SECRET - 1, -1):
            if text.endswith(value[:cut]):
                return text[:-cut] + REDACTED
    return text


def _shortened(text: str, limit: int = DETAIL_LIMIT) -> str:
    """At most `limit` characters of an (already redacted) text, saying that it was cut."""
    return text if len(text) <= limit else text[:limit] + "..."


def secret_strings(value: Any) -> list[str]:
    """Every string leaf of a (secret) value, to be redacted from error texts."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in secret_strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in secret_strings(v)]
    return []


def name_arguments(error: ApiError, names: Mapping[str, str]) -> ApiError:
    """The same error with the API's wire field names (`targetRegion`) replaced by the Python arguments
    (`target_region`) in its text; method, path, status and code stay as they were."""
    if not names:
        return error
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted(names, key=len, reverse=True)) + r")\b")

    def rename(text: Optional[str]) -> Optional[str]:
        return pattern.sub(lambda m: names[m.group(1)], text) if text else text

    renamed = type(error)(error.method, error.path, error.status, error.code, rename(error.error), rename(error.detail))
    renamed.__dict__.update({k: v for k, v in error.__dict__.items() if k not in ("error", "detail")})
    text, head = error.args[0] if error.args else "", f"{error.method} {error.path}"
    if isinstance(text, str) and text.startswith(head):  # the path stays as sent
        renamed.args = (head + str(rename(text[len(head):])), *error.args[1:])
    return renamed


def _body_fields(body: Any) -> tuple[Optional[str], Optional[str], Optional[str]]:
    if not isinstance(body, dict):
        return None, None, None

    def text(key: str) -> Optional[str]:
        value = body.get(key)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value, sort_keys=True)

    return text("code"), text("error"), text("message")


def error_from_response(
    method: str,
    path: str,
    status: int,
    body: Any,
    *,
    retry_after: Optional[float] = None,
    secrets: Iterable[str] = (),
) -> ApiError:
    """The exception for an error response: its class from the status, its text from the `{error, code}` body."""
    secrets = list(secrets)
    code, error, detail = _body_fields(body)
    if error is None and detail is None and isinstance(body, str) and body.strip():
        detail = body.strip()
    # Redacted whole, then shortened: a cut made first could split a secret so that its remains escape `redact`.
    error = redact(error, secrets) if error else error
    detail = _shortened(redact(detail, secrets)) if detail else detail
    if detail == error:
        detail = None
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    exc = cls(method, path, status, code, error, detail)
    if isinstance(exc, RateLimited):
        exc.retry_after = retry_after
    return exc


# Also under rr-pulumi 0.1's name at once: an engine built for 0.1 looks the module up by that name to report its
# errors in one line (and `import rr_pulumi.errors` then finds this very module).
sys.modules.setdefault("rr_pulumi.errors", sys.modules[__name__])
