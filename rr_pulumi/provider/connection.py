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

from rr_pulumi.api import client as rr_client
from rr_pulumi.api import config as rr_config
from rr_pulumi.provider import pulumi_runs
from rr_pulumi.api.errors import ConfigurationError
from rr_pulumi.api.ratelimit import shared_budget
from rr_pulumi.provider import live_config

Getter = Callable[[str], Any]

_lock = threading.Lock()
_engine_config: Getter = lambda key: None  # noqa: E731 - until `configure`: the environment alone
_settings: dict[Optional[str], rr_config.Settings] = {}
_clients: dict[Optional[str], rr_client.RequestRocketClient] = {}
_client_keys: dict[Optional[str], tuple[str, str]] = {}  # (API URL, token) each client was made for
_verified: set[Optional[str]] = set()
_check_lock = threading.Lock()  # one token check at a time: concurrent callers wait for it and share its outcome
_check_failed: dict[Optional[str], Exception] = {}  # the check's failure, reported to every later caller
_live: dict[Optional[str], "_Renewal"] = {}  # profile -> its token renewal (one per process)


def configure(get: Getter) -> None:
    """Record the config the engine sent (called from the dynamic provider's `configure`, once per provider class:
    a client stays, with its budget and token check, while its URL and token stay the same)."""
    global _engine_config
    _record_cli_once()
    with _lock:
        _engine_config = get
        _settings.clear()


_recorded_cli = threading.Event()


def _record_cli_once() -> None:
    """Record the `pulumi` that started this provider, once per process: the proof `rr-pulumi recover` needs
    to lift its lock should it be killed (pulumi_runs)."""
    if _recorded_cli.is_set():
        return
    _recorded_cli.set()
    cli = live_config.running_pulumi()
    if cli is not None and cli.pid is not None:
        pulumi_runs.record(cli.pid)


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


class _Renewal:
    """One reading of a profile's current token, shared by every thread that asks while it runs."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.token: Optional[str] = None


def current_token(profile: Optional[str] = None) -> Optional[str]:
    """The token the stack config (as it is now) or the environment gives this profile, or None when it cannot be
    known for sure (then the 401 stands: better no renewal than another stack's token).

    Read at most once per profile and process, only after a 401, and with no lock held while `pulumi config get`
    runs: other workers carry on, and concurrent 401s wait for the same reading."""
    with _lock:
        renewal = _live.get(profile)
        owner = renewal is None
        if renewal is None:
            renewal = _live[profile] = _Renewal()
    if owner:
        try:
            renewal.token = _read_current_token(profile)
        finally:
            renewal.done.set()
    renewal.done.wait()
    return renewal.token


def _read_current_token(profile: Optional[str]) -> Optional[str]:
    """The profile's token, resolved as `config.settings_from` does, reading only the keys on its path."""
    env = os.environ
    override = (env.get(rr_config.OVERRIDE_TOKEN_ENV) or "").strip()
    if profile is None and override:
        return override  # given to this command ahead of the stack config (`drift --token`): nothing replaces it
    try:
        if profile is not None:
            where = f"{rr_config.PROFILES_KEY}.{profile}"
            token = live_config.current_value(f"{where}.token", path=True)
            if token:
                return str(token)
            token_env = live_config.current_value(f"{where}.tokenEnv", path=True)
            if token_env:
                return env.get(str(token_env)) or None
        token = live_config.current_value(rr_config.TOKEN_KEY)
    except live_config.Unreadable:
        # The stack's config cannot be read for sure: the environment is the answer only where this stack takes its
        # token from the environment (its recorded config sets none), else there is no renewal.
        recorded = _engine_config
        try:
            if rr_config.settings_from(recorded, {}, profile).token:
                return None
            return rr_config.settings_from(recorded, env, profile).token
        except ConfigurationError:
            return None
    return str(token) if token else (env.get(rr_config.TOKEN_ENV) or None)
