"""The one token check per command (per provider process): shared by concurrent callers, failures included, bounded
in time, skippable with requestrocket:skipCredentialsValidation."""

from __future__ import annotations

import threading

import pytest

from rr_pulumi.api import client as rr_client
from rr_pulumi.api import config as rr_config
from rr_pulumi.api.errors import ConfigurationError, ConnectionCheckFailed
from rr_pulumi.provider import connection
from rr_pulumi.provider.target import TargetProvider
from rr_pulumi.api.transport import NotSent

from .conftest import API_URL
from .fake_api import TOKEN, FakeApi


def wire(monkeypatch, api: FakeApi, token: str = TOKEN, skip: bool = False) -> rr_client.RequestRocketClient:
    """The provider's connection, not yet checked, on the fake API."""
    settings = rr_config.Settings(api_url=API_URL, token=token, skip_credentials_validation=skip)
    found = rr_client.RequestRocketClient(API_URL, token, transport=api, sleep=lambda s: None)
    monkeypatch.setattr(connection, "_settings", {None: settings})
    monkeypatch.setattr(connection, "_clients", {None: found})
    monkeypatch.setattr(connection, "_client_keys", {None: (API_URL, token)})
    monkeypatch.setattr(connection, "_verified", set())
    monkeypatch.setattr(connection, "_check_failed", {})
    return found


def target(client_id: str = "c-1") -> dict:
    return {"client_id": client_id, "target_name": "api", "target_base_url": "https://api.example.com",
            "target_region": "us-east-1"}


def recorded(client_id: str = "c-1") -> dict:
    values, _ = TargetProvider().validate(target(client_id))
    return values


def test_an_unchanged_resource_is_checked_once_per_process(monkeypatch):
    api = FakeApi()
    wire(monkeypatch, api)
    provider = TargetProvider()
    for _ in range(3):
        assert provider.check(recorded(), {**target(), "__provider": "x"}).failures == []
    assert [(m, p) for m, p, _, _ in api.requests] == [("GET", "/api/clients")]


def test_a_wrong_token_fails_an_unchanged_resource_in_one_line_naming_the_skip_setting(monkeypatch):
    api = FakeApi()
    wire(monkeypatch, api, token="u-wrong")
    [failure] = TargetProvider().check(recorded(), {**target(), "__provider": "x"}).failures
    assert failure.reason.startswith("requestrocket:token: the RequestRocket API rejected the token")
    assert "requestrocket:skipCredentialsValidation true" in failure.reason and "u-wrong" not in failure.reason
    assert "\n" not in failure.reason


def test_concurrent_callers_share_one_check_and_its_failure(monkeypatch):
    api = FakeApi()
    wire(monkeypatch, api, token="u-wrong")
    entered, release = threading.Event(), threading.Event()
    answer = api.send

    def slow(request):
        entered.set()
        release.wait(5)
        return answer(request)

    api.send = slow
    errors: list[BaseException] = []

    def call():
        try:
            connection.verified_client()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    assert entered.wait(5)
    release.set()
    for thread in threads:
        thread.join(5)
    assert len(errors) == 8 and {type(e).__name__ for e in errors} == {"Unauthorized"}
    assert len(api.requests) == 1  # one check, its failure given to all eight
    with pytest.raises(Exception, match="401"):
        connection.verified_client()
    assert len(api.requests) == 1


def test_an_unreachable_api_gives_up_after_two_attempts_and_a_read_says_so_once(monkeypatch):
    api = FakeApi()
    wire(monkeypatch, api)
    api.script = [(0, NotSent("could not connect to api.test:443: ConnectionRefusedError"), {})] * 5
    with pytest.raises(ConnectionCheckFailed) as exc:
        TargetProvider().read("t-1", {**recorded(), "target_name": "api"})
    assert str(exc.value).startswith("requestrocket:apiUrl: cannot use the RequestRocket API: GET /api/clients failed")
    assert "gave up after 2 attempts" in str(exc.value) and "skipCredentialsValidation" in str(exc.value)
    assert len(api.requests) == 2
    with pytest.raises(ConnectionCheckFailed):  # every later call: the same answer, no new attempt
        TargetProvider().delete("t-1", recorded())
    assert len(api.requests) == 2


def test_skip_credentials_validation_skips_the_check_but_not_for_a_resource_about_to_change(monkeypatch):
    api = FakeApi()
    wire(monkeypatch, api, token="u-wrong", skip=True)
    provider = TargetProvider()
    assert provider.check(recorded(), {**target(), "__provider": "x"}).failures == []
    assert api.requests == []  # a no-op preview makes no call at all
    [failure] = provider.check(recorded(), {**target(), "target_name": "renamed", "__provider": "x"}).failures
    assert "rejected the token" in failure.reason and len(api.requests) == 1


@pytest.mark.parametrize("value, skip", [("true", True), (True, True), ("false", False), (None, False), ("1", True)])
def test_the_skip_setting_is_read_from_config_or_environment(value, skip):
    config = {"requestrocket:skipCredentialsValidation": value}
    assert rr_config.settings_from(config.get, env={}).skip_credentials_validation is skip
    env = {} if value is None else {"REQUESTROCKET_SKIP_CREDENTIALS_VALIDATION": str(value)}
    assert rr_config.settings_from(lambda key: None, env=env).skip_credentials_validation is skip


def test_a_malformed_skip_setting_names_the_key_and_the_allowed_values():
    with pytest.raises(ConfigurationError, match=r"requestrocket:skipCredentialsValidation .* must be true or false"):
        rr_config.settings_from({"requestrocket:skipCredentialsValidation": "maybe"}.get, env={})


def test_the_check_primes_the_clients_cache(monkeypatch):
    api = FakeApi()
    found = wire(monkeypatch, api)
    api.put("/api/clients", {"clientName": "acme"})
    connection.verified_client()
    assert list(found._cached(rr_client.CLIENTS)) == ["1"]
    assert len(api.requests) == 1  # the check's page was the list




def test_a_failing_api_gets_the_usual_retries_in_the_check(monkeypatch):
    """Only an API that cannot be reached is given up on quickly; 5xx answers are retried as for any GET."""
    api = FakeApi()
    wire(monkeypatch, api)
    api.script = [(500, {"error": "boom", "code": "INTERNAL"}, {})] * 3
    connection.verified_client()
    assert len(api.requests) == 4
