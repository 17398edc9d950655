"""Types shared by several schemas: regions, rule effects, URLs, names."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Optional
from urllib.parse import urlparse

from pydantic import AfterValidator

from rr_pulumi.schema.model import REGION_PATTERN, prop
from rr_pulumi.schema.wire import DEFAULT_REGIONS as DEFAULT_REGIONS  # declared once, in the pydantic-free layer

RuleEffect = Literal["allow", "deny"]
Presence = Literal["present", "absent"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

NAME_MAX = 100
TEXT_MAX = 2048
PATTERN_MAX = 1000
ID_MAX = 200
ALIAS_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def _region(value: str) -> str:
    if not REGION_PATTERN.match(value):
        raise ValueError(f"must be an AWS region code such as us-east-1 or eu-west-1 (got {value!r})")
    return value


def _http_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"must be an absolute http:// or https:// URL (got {value!r})")
    return value


def _regex(value: str) -> str:
    if len(value) > PATTERN_MAX:
        raise ValueError(f"must be at most {PATTERN_MAX} characters long (got {len(value)})")
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"must be a regular expression that compiles ({exc}; got {value!r})") from None
    return value


def _path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"must be a path starting with '/' (got {value!r})")
    return value


def _alias(value: str) -> str:
    if not ALIAS_PATTERN.match(value):
        raise ValueError(f"must be 1-100 characters from A-Z, a-z, 0-9, '-' and '_' (got {value!r})")
    return value


Region = Annotated[str, AfterValidator(_region)]
UrlPath = Annotated[str, AfterValidator(_path)]
Alias = Annotated[str, AfterValidator(_alias)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
Regex = Annotated[str, AfterValidator(_regex)]


def client_id_prop(resource: str) -> Optional[str]:
    """Every resource but the client belongs to one client; moving it to another client replaces it."""
    return prop(
        "clientId",
        required=True,
        immutable=True,
        path=True,
        min_length=1,
        references="Client",
        description=f"Id of the client (organisation) that owns the {resource}.",
    )


def name_prop(wire: str, resource: str) -> Optional[str]:
    return prop(
        wire,
        required=True,
        min_length=1,
        max_length=NAME_MAX,
        description=f"Name of the {resource} (1-{NAME_MAX} characters). The API allows two with one name; "
        "adopting by name (`adopt=True`) needs it unique within its client.",
    )


def timestamp_prop(wire: str, what: str) -> Optional[str]:
    return prop(wire, computed=True, description=f"When the {what} (ISO-8601 UTC, set by the server).")
