"""Provider configuration: Pulumi stack config first, then environment variables.

The Python dynamic provider's `configure(req)` receives the whole stack configuration with namespaced keys
(the engine passes every key to `pulumi-python` providers since pulumi/pulumi#17673; see
`pkg/resource/deploy/target.go: GetPackageConfig`), so `requestrocket:token` set with
`pulumi config set --secret requestrocket:token u-…` arrives here decrypted. The settings live in this module,
in the provider process only; they are never attributes of the (pickled) provider object, so the token never
reaches `__provider` nor any resource's state.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional
from urllib.parse import urlparse

from .errors import ConfigurationError
from .ratelimit import DEFAULT_PER_MINUTE, parse_per_minute

DEFAULT_API_URL = "https://api.requestrocket.com"
DEFAULT_DATA_PLANE_URL = "https://{region}.requestrocket.com"

API_URL_KEY = "requestrocket:apiUrl"
TOKEN_KEY = "requestrocket:token"
DATA_PLANE_URL_KEY = "requestrocket:dataPlaneUrl"
RATE_LIMIT_KEY = "requestrocket:rateLimitPerMinute"

API_URL_ENV = "REQUESTROCKET_API_URL"
TOKEN_ENV = "REQUESTROCKET_TOKEN"
DATA_PLANE_URL_ENV = "REQUESTROCKET_DATA_PLANE_URL"
RATE_LIMIT_ENV = "REQUESTROCKET_RATE_LIMIT"

MISSING_TOKEN = (
    "No RequestRocket API token is configured. Set it in the stack configuration with "
    f"`pulumi config set --secret {TOKEN_KEY} <token>`, or in the environment variable {TOKEN_ENV}."
)


@dataclass(frozen=True)
class Settings:
    """Where the Core API is and how to authenticate. `repr` never shows the token."""

    api_url: str
    token: Optional[str] = field(default=None, repr=False)
    data_plane_url: str = DEFAULT_DATA_PLANE_URL
    rate_limit_per_minute: Optional[int] = DEFAULT_PER_MINUTE  # None: no client-side pacing

    def require_token(self) -> str:
        if not self.token:
            raise ConfigurationError(MISSING_TOKEN)
        return self.token

    def proxy_url(self, region: str, proxy_id: str) -> str:
        """The data-plane URL of a proxy: `<data-plane base>/api/{proxyId}`."""
        base = self.data_plane_url.replace("{region}", region).rstrip("/")
        return f"{base}/api/{proxy_id}"


def _text(value: Any) -> Optional[str]:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _check_url(name: str, url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigurationError(f"{name} must be an absolute http(s) URL, got {url!r}")
    return url.rstrip("/")


def settings_from(
    get: Callable[[str], Any] = lambda key: None, env: Optional[Mapping[str, str]] = None
) -> Settings:
    """Settings from a config getter (`req.config.get`) with the environment as fallback.

    A missing token is not an error here: it is reported by `Settings.require_token` when the API is first used,
    so that a preview of a program without RequestRocket resources still works.
    """
    env = os.environ if env is None else env
    api_url = _text(get(API_URL_KEY)) or _text(env.get(API_URL_ENV)) or DEFAULT_API_URL
    token = _text(get(TOKEN_KEY)) or _text(env.get(TOKEN_ENV))
    data_plane = _text(get(DATA_PLANE_URL_KEY)) or _text(env.get(DATA_PLANE_URL_ENV)) or DEFAULT_DATA_PLANE_URL
    rate_limit = _text(get(RATE_LIMIT_KEY)) or _text(env.get(RATE_LIMIT_ENV))
    try:
        per_minute = parse_per_minute(rate_limit)
    except ValueError as exc:
        raise ConfigurationError(f"{RATE_LIMIT_KEY} ({RATE_LIMIT_ENV}) {exc}") from None
    return Settings(
        api_url=_check_url(API_URL_KEY, api_url),
        token=token,
        data_plane_url=data_plane.rstrip("/"),
        rate_limit_per_minute=per_minute,
    )


_lock = threading.Lock()
_current: Optional[Settings] = None


def configure(get: Callable[[str], Any]) -> Settings:
    """Record the settings for this provider process (called from the dynamic provider's `configure`)."""
    global _current
    settings = settings_from(get)
    with _lock:
        _current = settings
    return settings


def current() -> Settings:
    """The settings of this process: those from `configure`, else from the environment alone."""
    global _current
    with _lock:
        if _current is None:
            _current = settings_from()
        return _current


def reset() -> None:
    """Forget the recorded settings (tests)."""
    global _current
    with _lock:
        _current = None
