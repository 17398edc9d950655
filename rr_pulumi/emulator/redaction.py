"""What the emulator never prints as it came: secret values (by key) and control characters that could forge a log
line. Shared by the request log of the contract routes and the data plane's record of a call."""
from __future__ import annotations

import re
from typing import Any

# Keys whose values are never logged, compared without case or punctuation (credentialSecret, credential_secret, ...).
SENSITIVE_KEY_PARTS = ("secret", "password", "passwd")
SENSITIVE_KEYS = ("apikey", "token", "authorization", "privatekey")


def is_sensitive(key: str) -> bool:
    folded = re.sub(r"[^a-z0-9]", "", key.casefold())
    return any(part in folded for part in SENSITIVE_KEY_PARTS) or folded in SENSITIVE_KEYS


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("[REDACTED]" if is_sensitive(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """Control characters (and Unicode line separators) as escapes, so a request cannot forge a log line."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)
