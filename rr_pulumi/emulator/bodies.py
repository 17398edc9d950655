"""Request bodies on the wire: read completely or not at all, then parse as strict UTF-8 JSON.

Shared by the contract routes, the admin API and any route mounted beside them, so every door applies the same
rules: a body cut short (the client went away before sending its Content-Length) is never executed, and anything
that is not UTF-8 JSON text is a 400 INVALID_JSON.
"""
from __future__ import annotations

import json
from typing import Any

from rr_pulumi.emulator.backend import ApiError

MAX_BODY = 1024 * 1024


class IncompleteBody(ApiError):
    """The client disconnected (or stopped) before sending the whole body: nothing is executed or answered."""

    def __init__(self, received: int, declared: int | None):
        super().__init__(400, "INCOMPLETE_BODY", f"body: {received} of {declared} bytes received")


def declared_length(value: bytes | None) -> int | None:
    """The Content-Length header as a number; 400 when it is not a plain non-negative ASCII integer."""
    if value is None:
        return None
    if not value.isdigit() or not value.isascii():
        raise ApiError(400, "INVALID_JSON", "body: bad Content-Length")
    length = int(value)
    if length > MAX_BODY:
        raise ApiError(413, "PAYLOAD_TOO_LARGE", f"body: larger than {MAX_BODY} bytes")
    return length


async def read_body(receive, length: int | None) -> bytes:
    """The whole body (up to MAX_BODY), or IncompleteBody when the client disconnects before it is complete."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise IncompleteBody(size, length)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413, "PAYLOAD_TOO_LARGE", f"body: larger than {MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    if length is not None and size != length:
        raise IncompleteBody(size, length)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """Strict JSON text: UTF-8 only (no BOM, no UTF-16/32 guessing), no NaN/Infinity, no lone surrogates."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "INVALID_JSON", f"body: not valid UTF-8 (byte {exc.start})") from None
    if text.startswith("\ufeff"):
        raise ApiError(400, "INVALID_JSON", "body: must not start with a byte order mark")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "INVALID_JSON", f"body: malformed JSON ({exc})") from None
    if has_lone_surrogate(value):
        raise ApiError(400, "INVALID_JSON", "body: a string holds a lone surrogate (\\ud800-\\udfff), not Unicode")
    return value


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def has_lone_surrogate(value: Any) -> bool:
    """True when a key or string anywhere in a decoded JSON value cannot be encoded as UTF-8."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not _is_unicode(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
