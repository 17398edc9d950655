"""The provider process's connections to the Core API: one client per profile, each with its own token and rate
budget, created on first use from the config the engine sent to `configure`.

This is the only process-wide state of the provider. It lives here, never on the (pickled) provider objects, so
no token reaches `__provider` nor any resource's state. When the API rejects a token (it was rotated and revoked
since the engine recorded the config in the state), the client asks `current_token` for the one the stack's
config or the environment gives now, and carries on with it.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Optional

from .. import client as rr_client
from .. import config as rr_config
from ..errors import ConfigurationError
from ..ratelimit import shared_budget
from . import live_config

Getter = Callable[[str], Any]

_lock = threading.Lock()
_engine_config: Getter = lambda key: None  # noqa: E731 - until `configure`: the environment alone
_settings: dict[Optional[str], rr_config.Settings] = {}
_clients: dict[Optional[str], rr_client.RequestRocketClient] = {}
_client_keys: dict[Optional[str], tuple[str, str]] = {}  # (API URL, token) each client was made for
_verified: set[Optional[str]] = set()
_check_lock = threading.Lock()  # one token check at a time: concurrent callers wait for it and share its outcome
_check_failed: dict[Optional[str], Exception] = {}  # the check's failure, reported to every later caller
_live: dict[str, Optional[Getter]] = {}


def configure(get: Getter) -> None:
    """Record the config the engine sent (called from the dynamic provider's `configure`, once per provider class:
    a client stays, with its budget and token check, while its URL and token stay the same)."""
    global _engine_config
    with _lock:
        _engine_config = get
        _settings.clear()


def reset() -> None:
    """Forget everything (tests)."""
    configure(lambda key: None)
    with _lock:
        _clients.clear()
        _client_keys.clear()
        _verified.clear()
        _check_failed.clear()
        _live.clear()


def settings(profile: Optional[str] = None) -> rr_config.Settings:
    """The settings of a profile (None: the top level); ConfigurationError for an unknown profile."""
    with _lock:
        found = _settings.get(profile)
        if found is None:
            found = _settings[profile] = rr_config.settings_from(_engine_config, profile=profile)
        return found


def client(profile: Optional[str] = None) -> rr_client.RequestRocketClient:
    """The client of a profile, created on first use (raises ConfigurationError when it has no token)."""
    settings_ = settings(profile)
    token = settings_.require_token()
    key = (settings_.api_url, token)
    with _lock:
        found = _clients.get(profile)
        if found is None or _client_keys.get(profile, key) != key:
            _verified.discard(profile)
            _check_failed.pop(profile, None)
            _client_keys[profile] = key
            per_minute = settings_.rate_limit_per_minute
            found = _clients[profile] = rr_client.RequestRocketClient(
                settings_.api_url,
                token,
                budget=shared_budget(settings_.api_url, token, per_minute) if per_minute else None,
                renew_token=lambda: current_token(profile),
            )
        return found


def verified_client(profile: Optional[str] = None, even_if_skipped: bool = False) -> rr_client.RequestRocketClient:
    """The client of a profile, after the process's one token check (one per command: the engine starts one
    provider process per command). Concurrent callers wait for that check and share its outcome, a failure too, so a
    wrong token or an unreachable API is found once, in seconds. `skipCredentialsValidation` skips it, unless
    `even_if_skipped` (a resource about to change)."""
    found = client(profile)
    if settings(profile).skip_credentials_validation and not even_if_skipped:
        return found
    with _check_lock:
        if profile in _check_failed:
            raise _check_failed[profile]
        if profile not in _verified:
            try:
                found.verify_token()
            except Exception as exc:
                _check_failed[profile] = exc
                raise
            _verified.add(profile)
    return found


def _live_getter() -> Optional[Getter]:
    """The stack's current config (read once per process, and only when a token was rejected)."""
    with _lock:
        if "config" not in _live:
            config = live_config.current_stack_config()
            _live["config"] = rr_config.getter_from_pulumi_config(config) if config is not None else None
        return _live["config"]


def current_token(profile: Optional[str] = None) -> Optional[str]:
    """The token the stack config (as it is now) or the environment gives this profile."""
    get = _live_getter()
    if get is None:  # the current config cannot be read: the environment's token is the current one
        recorded = _engine_config
        get = lambda key: None if key == rr_config.TOKEN_KEY else recorded(key)  # noqa: E731
    try:
        return rr_config.settings_from(get, os.environ, profile).token
    except ConfigurationError:
        return None
