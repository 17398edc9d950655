"""Connection settings per profile, the token renewal after a 401, and the live-config command line."""

import pytest

from rr_pulumi.api import config as rr_config
from rr_pulumi.api.client import RequestRocketClient
from rr_pulumi.api.errors import ConfigurationError, Unauthorized
from rr_pulumi.provider import connection

from .conftest import API_URL
from .fake_api import TOKEN

PROFILES = {
    "acme": {"apiUrl": "http://acme.test/", "token": "u-acme"},
    "beta": {"tokenEnv": "BETA_TOKEN", "rateLimitPerMinute": "1000"},
    "bare": {},
}


def settings(profile=None, env=None, **config):
    values = {"requestrocket:apiUrl": "http://top.test", "requestrocket:token": "u-top", **config}
    return rr_config.settings_from(values.get, env=env or {}, profile=profile)


@pytest.mark.parametrize("profiles", [PROFILES, __import__("json").dumps(PROFILES)])
def test_a_profile_overrides_the_top_level_settings(profiles):
    acme = settings("acme", **{"requestrocket:profiles": profiles})
    assert (acme.api_url, acme.token, acme.profile) == ("http://acme.test", "u-acme", "acme")
    beta = settings("beta", env={"BETA_TOKEN": "u-beta"}, **{"requestrocket:profiles": profiles})
    assert (beta.api_url, beta.token, beta.rate_limit_per_minute) == ("http://top.test", "u-beta", 1000)
    bare = settings("bare", **{"requestrocket:profiles": profiles})
    assert (bare.api_url, bare.token) == ("http://top.test", "u-top")  # unset keys fall back


def test_an_unset_token_env_is_named_when_the_token_is_needed():
    beta = settings("beta", **{"requestrocket:profiles": PROFILES})
    with pytest.raises(ConfigurationError) as exc:
        beta.require_token()
    assert "profile 'beta'" in str(exc.value) and "BETA_TOKEN" in str(exc.value)
    # The reason leads (the variable is unset), not the advice to name a variable the profile already names.
    assert str(exc.value).startswith("No RequestRocket API token for profile 'beta': the environment variable "
                                     "BETA_TOKEN named by requestrocket:profiles.beta.tokenEnv is not set; export it")


def test_an_unknown_profile_names_the_known_ones():
    with pytest.raises(ConfigurationError, match="unknown connection profile 'gamma'; known profiles: acme, bare, beta"):
        settings("gamma", **{"requestrocket:profiles": PROFILES})
    with pytest.raises(ConfigurationError, match="known profiles: none"):
        settings("gamma")


@pytest.mark.parametrize("bad, message", [
    ({"acme": {"url": "x"}}, "unknown key"),
    ({"acme": {"token": "a", "tokenEnv": "B"}}, "not both"),
    ({"a b": {}}, "profile name"),
    ("[1]", "must be an object"),
])
def test_malformed_profiles_are_refused(bad, message):
    with pytest.raises(ConfigurationError, match=message):
        settings("acme", **{"requestrocket:profiles": bad})


def test_regions_from_a_list_a_string_or_the_default():
    assert settings().regions == rr_config.DEFAULT_REGIONS
    assert settings(**{"requestrocket:regions": ["eu-west-1"]}).regions == ("eu-west-1",)
    assert settings(**{"requestrocket:regions": '["eu-west-1", "us-east-1"]'}).regions == ("eu-west-1", "us-east-1")
    assert settings(**{"requestrocket:regions": " eu-west-1, sa-east-1 "}).regions == ("eu-west-1", "sa-east-1")
    with pytest.raises(ConfigurationError, match="requestrocket:regions"):
        settings(**{"requestrocket:regions": [1]})


def test_pulumi_config_output_is_read_with_structured_values():
    get = rr_config.getter_from_pulumi_config({
        "requestrocket:token": {"value": "u-x", "secret": True},
        "requestrocket:profiles": {"value": "{}", "objectValue": {"a": {"token": "u-a"}}, "secret": True},
    })
    assert rr_config.settings_from(get, env={}, profile="a").token == "u-a"


def test_each_profile_has_its_own_client_and_budget(monkeypatch):
    connection.reset()
    connection.configure({"requestrocket:token": "u-top", "requestrocket:profiles": PROFILES}.get)
    top, acme = connection.client(), connection.client("acme")
    assert top is connection.client() and top is not acme
    assert acme.api_url == "http://acme.test" and top.budget is not acme.budget
    # The engine configures each provider class: the same settings keep the same client (one budget, one check).
    connection.configure({"requestrocket:token": "u-top", "requestrocket:profiles": PROFILES}.get)
    assert connection.client() is top
    connection.configure({"requestrocket:token": "u-other"}.get)
    assert connection.client() is not top
    connection.reset()


def test_a_rejected_token_is_renewed_once_and_the_request_sent_again(fake_api):
    asked = []

    def renew():
        asked.append(1)
        return TOKEN

    api = RequestRocketClient(API_URL, "u-revoked", transport=fake_api, sleep=lambda s: None,
                              renew_token=renew)
    assert api.list("/api/clients") == []
    assert [h["Authorization"] for *_, h in fake_api.requests] == ["u-revoked", TOKEN] and asked == [1]


def test_renewal_that_finds_no_other_token_reports_the_401(fake_api):
    api = RequestRocketClient(API_URL, "u-revoked", transport=fake_api, sleep=lambda s: None,
                              renew_token=lambda: "u-revoked")
    with pytest.raises(Unauthorized) as exc:
        api.list("/api/clients")
    assert "u-revoked" not in str(exc.value)
    with pytest.raises(Unauthorized):
        api.list("/api/clients")
    assert len(fake_api.requests) == 2  # the same rejected token is not renewed twice


def _unreadable(key, path=False):
    raise connection.live_config.Unreadable("no pulumi parent")


def test_the_environment_renews_only_a_stack_that_takes_its_token_from_the_environment(monkeypatch):
    monkeypatch.setattr(connection.live_config, "current_value", _unreadable)
    monkeypatch.setenv("REQUESTROCKET_TOKEN", "u-from-env")
    connection.reset()
    connection.configure({"requestrocket:apiUrl": "http://top.test"}.get)  # no token in the stack config
    assert connection.current_token() == "u-from-env"
    connection.reset()
    # The stack's config sets a token, and its current value cannot be read: the environment's token is not this
    # stack's (the config wins over it), so there is no renewal.
    connection.configure({"requestrocket:token": "u-recorded"}.get)
    assert connection.current_token() is None
    connection.reset()


def test_the_current_token_comes_from_the_live_stack_config_one_key_at_a_time(monkeypatch):
    asked = []

    def current_value(key, path=False):
        asked.append((key, path))
        return {"requestrocket:token": "u-rotated",
                "requestrocket:profiles.acme.token": "u-acme-rotated"}.get(key)

    monkeypatch.setattr(connection.live_config, "current_value", current_value)
    monkeypatch.setenv("BETA_TOKEN", "u-beta")
    connection.reset()
    connection.configure({"requestrocket:token": "u-recorded", "requestrocket:profiles": PROFILES}.get)
    assert connection.current_token() == "u-rotated"
    assert connection.current_token("acme") == "u-acme-rotated"
    assert asked == [("requestrocket:token", False), ("requestrocket:profiles.acme.token", True)]
    asked.clear()
    monkeypatch.setattr(connection.live_config, "current_value", lambda key, path=False: {
        "requestrocket:profiles.beta.tokenEnv": "BETA_TOKEN"}.get(key))
    assert connection.current_token("beta") == "u-beta"
    assert connection.current_token() == "u-rotated"  # read once per profile and process
    connection.reset()


def test_concurrent_401s_share_one_reading_and_hold_no_lock_while_it_runs(monkeypatch):
    import threading

    started, release, calls = threading.Event(), threading.Event(), []

    def slow(key, path=False):
        calls.append(key)
        started.set()
        assert release.wait(10)
        return "u-rotated"

    monkeypatch.setattr(connection.live_config, "current_value", slow)
    connection.reset()
    connection.configure({"requestrocket:token": "u-recorded"}.get)
    results = []
    threads = [threading.Thread(target=lambda: results.append(connection.current_token())) for _ in range(4)]
    for thread in threads:
        thread.start()
    assert started.wait(10)
    # While the reading runs, other workers still get their clients and settings (no lock is held).
    assert connection.client().api_url and connection.settings().token == "u-recorded"
    release.set()
    for thread in threads:
        thread.join(10)
    assert results == ["u-rotated"] * 4 and calls == ["requestrocket:token"]
    connection.reset()


def test_a_token_given_on_the_command_line_is_never_renewed_from_the_stack_config(monkeypatch):
    # `rr-pulumi drift --api-url URL --token T` runs the provider with the override variables; a 401 for T must not
    # make it send the stack's own token (to URL, which may be another API).
    monkeypatch.setattr(connection.live_config, "current_value",
                        lambda key, path=False: {"requestrocket:token": "u-stack"}.get(key))
    monkeypatch.setenv(rr_config.OVERRIDE_API_URL_ENV, "http://other.test")
    monkeypatch.setenv(rr_config.OVERRIDE_TOKEN_ENV, "u-command-line")
    connection.reset()
    connection.configure({"requestrocket:token": "u-stack"}.get)
    assert connection.settings().token == "u-command-line"
    assert connection.current_token() == "u-command-line"   # the same token: no renewal, the 401 stands
    connection.reset()
