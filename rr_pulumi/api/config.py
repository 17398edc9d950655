"""Connection settings: Pulumi stack config first, then environment variables; one resolver for every tool.

`settings_from(get, env, profile)` is pure: `get(key)` returns the raw value of a full config key
(`requestrocket:apiUrl`); a structured value (`requestrocket:profiles`, `requestrocket:regions`) may arrive as a
JSON string or already decoded. The provider feeds it the config the engine sends to `configure` (the engine passes
every key to `pulumi-python` providers since pulumi/pulumi#17673; see `pkg/resource/deploy/target.go:
GetPackageConfig`); drift, export and recovery feed it `pulumi config --json --show-secrets`.

Named profiles let one program use several accounts:

    requestrocket:profiles:
      acme: {apiUrl: https://..., token: <secret>}            # or tokenEnv: ACME_TOKEN
      beta: {tokenEnv: BETA_TOKEN, rateLimitPerMinute: 1000}

A profile's unset keys fall back to the top-level ones. Tokens live only here and in the provider process: never
in a resource's inputs or outputs.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional
from urllib.parse import urlparse

from rr_pulumi.api.errors import ConfigurationError
from rr_pulumi.api.ratelimit import DEFAULT_PER_MINUTE, parse_per_minute
from rr_pulumi.schema.wire import DEFAULT_REGIONS as DEFAULT_REGIONS  # the settings' default region list

DEFAULT_API_URL = "https://api.requestrocket.com"
DEFAULT_DATA_PLANE_URL = "https://{region}.requestrocket.com"
EMULATOR_DATA_PLANE_PATH = "/dataplane"  # rr-emulator serves the data plane at its own URL + this path

NAMESPACE = "requestrocket"
API_URL_KEY = "requestrocket:apiUrl"
TOKEN_KEY = "requestrocket:token"
DATA_PLANE_URL_KEY = "requestrocket:dataPlaneUrl"
RATE_LIMIT_KEY = "requestrocket:rateLimitPerMinute"
REGIONS_KEY = "requestrocket:regions"
PROFILES_KEY = "requestrocket:profiles"
# Like pulumi-aws's skipCredentialsValidation: true skips the one token check each command makes before its first
# API call (a no-op preview then makes no call at all, and a wrong token shows only where something is written).
SKIP_CHECK_KEY = "requestrocket:skipCredentialsValidation"

API_URL_ENV = "REQUESTROCKET_API_URL"
TOKEN_ENV = "REQUESTROCKET_TOKEN"
DATA_PLANE_URL_ENV = "REQUESTROCKET_DATA_PLANE_URL"
RATE_LIMIT_ENV = "REQUESTROCKET_RATE_LIMIT"
REGIONS_ENV = "REQUESTROCKET_REGIONS"
# Set by `rr-pulumi drift --api-url/--token` for the `pulumi` it runs: unlike the two above they come *before* the
# stack configuration (for the top-level settings only), so the provider reads with what the command line said.
OVERRIDE_API_URL_ENV = "RR_PULUMI_OVERRIDE_API_URL"
OVERRIDE_TOKEN_ENV = "RR_PULUMI_OVERRIDE_TOKEN"
SKIP_CHECK_ENV = "REQUESTROCKET_SKIP_CREDENTIALS_VALIDATION"

# Keys of one profile (camelCase, like the top-level keys they override).
PROFILE_KEYS = ("apiUrl", "token", "tokenEnv", "dataPlaneUrl", "rateLimitPerMinute")
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def emulator_data_plane_url(emulator_url: str) -> str:
    """Where an emulator at `emulator_url` serves its data plane (the URL its `dataplane` line prints)."""
    return emulator_url.rstrip("/") + EMULATOR_DATA_PLANE_PATH


def missing_token_text(profile: Optional[str] = None) -> str:
    """How to give a token, for the top level or for one profile."""
    if profile is None:
        return (
            "No RequestRocket API token is configured. Set it in the stack configuration with "
            f"`pulumi config set --secret {TOKEN_KEY} <token>`, or in the environment variable {TOKEN_ENV}."
        )
    return (
        f"No RequestRocket API token is configured for profile {profile!r}. Set it with "
        f"`pulumi config set --path --secret '{PROFILES_KEY}.{profile}.token' <token>`, or name an environment "
        f"variable with `pulumi config set --path --plaintext '{PROFILES_KEY}.{profile}.tokenEnv' VAR_NAME`."
    )


MISSING_TOKEN = missing_token_text()


@dataclass(frozen=True)
class Settings:
    """Where the Core API is and how to authenticate. `repr` never shows the token."""

    api_url: str
    token: Optional[str] = field(default=None, repr=False)
    data_plane_url: str = DEFAULT_DATA_PLANE_URL
    rate_limit_per_minute: Optional[int] = DEFAULT_PER_MINUTE  # None: no client-side pacing
    regions: tuple[str, ...] = DEFAULT_REGIONS
    profile: Optional[str] = None  # None: the top-level settings
    token_missing_reason: Optional[str] = field(default=None, repr=False)  # e.g. "tokenEnv ACME_TOKEN is not set"
    skip_credentials_validation: bool = False

    def require_token(self) -> str:
        if not self.token:
            if self.token_missing_reason:  # a tokenEnv is set: its variable is what is missing
                raise ConfigurationError(f"No RequestRocket API token for profile {self.profile!r}: "
                                         f"{self.token_missing_reason}; export it, or set the profile's token instead")
            raise ConfigurationError(missing_token_text(self.profile))
        return self.token

    def proxy_url(self, region: str, proxy_id: str) -> str:
        """The data-plane URL of a proxy: `<data-plane base>/api/{proxyId}`."""
        base = self.data_plane_url.replace("{region}", region).rstrip("/")
        return f"{base}/api/{proxy_id}"


# ----------------------------------------------------------------------------------------------------------------
# Reading raw values


def _text(value: Any) -> Optional[str]:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _structured(key: str, value: Any) -> Any:
    """A structured config value: decoded JSON when it arrives as a string, else as it is."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "["):
            try:
                return json.loads(stripped)
            except ValueError:
                raise ConfigurationError(f"{key} is not valid JSON; set it with `pulumi config set --path`") from None
    return value


def check_url(name: str, url: str) -> str:
    parsed = urlparse(url)
    try:
        parsed.port  # noqa: B018 - a port out of range or not a number raises here, not at the first request
        valid = parsed.scheme in ("http", "https") and bool(parsed.netloc)
    except ValueError:
        valid = False
    if not valid:
        raise ConfigurationError(f"{name} must be an absolute http(s) URL, got {url!r}")
    return url.rstrip("/")


def parse_regions(value: Any, key: str = REGIONS_KEY) -> tuple[str, ...]:
    """Allowed regions from a list or a comma-separated string; unset gives the contract's five."""
    value = _structured(key, value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_REGIONS
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(r, str) for r in items):
        raise ConfigurationError(f"{key} must be a list of region codes or a comma-separated string")
    regions = tuple(r.strip() for r in items if r.strip())
    if not regions:
        raise ConfigurationError(f"{key} must name at least one region")
    return regions


def parse_flag(key: str, value: Any) -> bool:
    """A true/false setting from the stack config (a string or a bool) or the environment; unset is false."""
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("", "false", "0", "no", "off"):
        return False
    raise ConfigurationError(f"{key} must be true or false, got {value!r}")


def parse_profiles(value: Any) -> dict[str, dict[str, Any]]:
    """The profiles object, checked: names, known keys, string values."""
    value = _structured(PROFILES_KEY, value)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise ConfigurationError(
            f"{PROFILES_KEY} must be an object of profiles: {{NAME: {{apiUrl, token | tokenEnv}}}}")
    profiles: dict[str, dict[str, Any]] = {}
    for name, body in value.items():
        where = f"{PROFILES_KEY}.{name}"
        if not _PROFILE_NAME.match(str(name)):
            raise ConfigurationError(f"{where}: a profile name is 1-64 characters from A-Z, a-z, 0-9, '_', '-', '.'")
        if not isinstance(body, dict):
            raise ConfigurationError(f"{where} must be an object with keys from: {', '.join(PROFILE_KEYS)}")
        unknown = sorted(set(body) - set(PROFILE_KEYS))
        if unknown:
            raise ConfigurationError(
                f"{where} has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(PROFILE_KEYS)}")
        if body.get("token") and body.get("tokenEnv"):
            raise ConfigurationError(f"{where}: set token or tokenEnv, not both")
        profiles[str(name)] = dict(body)
    return profiles


# ----------------------------------------------------------------------------------------------------------------
# The resolver


def settings_from(
    get: Callable[[str], Any] = lambda key: None,
    env: Optional[Mapping[str, str]] = None,
    profile: Optional[str] = None,
) -> Settings:
    """Settings from a config getter (`req.config.get`) with the environment as fallback.

    With `profile`, that profile's settings (unset keys fall back to the top-level ones); an unknown profile is a
    ConfigurationError naming it and the known ones. A missing token is not an error here: it is reported by
    `Settings.require_token` when the API is first used, so that a preview of a program without RequestRocket
    resources still works.
    """
    env = os.environ if env is None else env
    api_url = _text(get(API_URL_KEY)) or _text(env.get(API_URL_ENV)) or DEFAULT_API_URL
    token = _text(get(TOKEN_KEY)) or _text(env.get(TOKEN_ENV))
    data_plane = _text(get(DATA_PLANE_URL_KEY)) or _text(env.get(DATA_PLANE_URL_ENV)) or DEFAULT_DATA_PLANE_URL
    rate_limit = _text(get(RATE_LIMIT_KEY)) or _text(env.get(RATE_LIMIT_ENV))
    rate_key = f"{RATE_LIMIT_KEY} ({RATE_LIMIT_ENV})"
    regions = parse_regions(get(REGIONS_KEY) if get(REGIONS_KEY) is not None else env.get(REGIONS_ENV))
    skip = get(SKIP_CHECK_KEY)
    skip_check = parse_flag(f"{SKIP_CHECK_KEY} ({SKIP_CHECK_ENV})",
                            skip if skip is not None else env.get(SKIP_CHECK_ENV))
    api_key, missing_reason = API_URL_KEY, None
    if profile is not None:
        profiles = parse_profiles(get(PROFILES_KEY))
        if profile not in profiles:
            known = ", ".join(sorted(profiles)) or f"none (set them under {PROFILES_KEY})"
            raise ConfigurationError(f"unknown connection profile {profile!r}; known profiles: {known}")
        body, where = profiles[profile], f"{PROFILES_KEY}.{profile}"
        api_url = _text(body.get("apiUrl")) or api_url
        api_key = f"{where}.apiUrl" if _text(body.get("apiUrl")) else api_key
        data_plane = _text(body.get("dataPlaneUrl")) or data_plane
        if _text(body.get("rateLimitPerMinute")):
            rate_limit, rate_key = _text(body.get("rateLimitPerMinute")), f"{where}.rateLimitPerMinute"
        token_env = _text(body.get("tokenEnv"))
        if _text(body.get("token")):
            token = _text(body.get("token"))
        elif token_env:
            token = _text(env.get(token_env))
            missing_reason = (None if token
                              else f"the environment variable {token_env} named by {where}.tokenEnv is not set")
    override_url = _text(env.get(OVERRIDE_API_URL_ENV))
    if profile is None and override_url:
        api_url, api_key = override_url, "--api-url"
    if profile is None:
        token = _text(env.get(OVERRIDE_TOKEN_ENV)) or token
    try:
        per_minute = parse_per_minute(rate_limit)
    except ValueError as exc:
        raise ConfigurationError(f"{rate_key} {exc}") from None
    return Settings(
        api_url=check_url(api_key, api_url),
        token=token,
        data_plane_url=data_plane.rstrip("/"),
        rate_limit_per_minute=per_minute,
        regions=regions,
        profile=profile,
        token_missing_reason=missing_reason,
        skip_credentials_validation=skip_check,
    )


def getter_from_pulumi_config(config: Mapping[str, Any]) -> Callable[[str], Any]:
    """A `get` over the output of `pulumi config --json --show-secrets` (`{key: {value, objectValue?, secret}}`)."""

    def get(key: str) -> Any:
        entry = config.get(key)
        if not isinstance(entry, dict):
            return entry
        return entry.get("objectValue", entry.get("value"))

    return get
