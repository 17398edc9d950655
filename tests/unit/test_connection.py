"""Connection settings per profile, the token renewal after a 401, and the live-config command line."""

import pytest

from rr_pulumi import config as rr_config
from rr_pulumi.client import RequestRocketClient
from rr_pulumi.errors import ConfigurationError, Unauthorized
from rr_pulumi.provider import connection
from rr_pulumi.provider.live_config import PulumiInvocation, config_command

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


def test_the_current_token_comes_from_the_environment_when_the_config_cannot_be_read(monkeypatch):
    connection.reset()
    monkeypatch.setattr(connection.live_config, "current_stack_config", lambda: None)
    monkeypatch.setenv("REQUESTROCKET_TOKEN", "u-from-env")
    connection.configure({"requestrocket:token": "u-recorded"}.get)
    assert connection.current_token() == "u-from-env"
    connection.reset()


def test_the_current_token_comes_from_the_live_stack_config(monkeypatch):
    connection.reset()
    monkeypatch.setattr(connection.live_config, "current_stack_config",
                        lambda: {"requestrocket:token": {"value": "u-rotated", "secret": True}})
    connection.configure({"requestrocket:token": "u-recorded"}.get)
    assert connection.current_token() == "u-rotated"
    connection.reset()


@pytest.mark.parametrize("argv, flags, cwd", [
    (["pulumi", "refresh", "--yes"], [], "/p"),
    (["pulumi", "refresh", "--stack", "dev", "--yes"], ["--stack", "dev"], "/p"),
    (["pulumi", "refresh", "-s=org/dev", "-C", "sub"], ["--stack", "org/dev"], "/p/sub"),
    (["pulumi", "destroy", "--config-file", "c.yaml", "--cwd=/q"], ["--config-file", "c.yaml"], "/q"),
])
def test_the_config_command_selects_the_same_stack(argv, flags, cwd):
    command, folder = config_command(PulumiInvocation("/bin/pulumi", tuple(argv), "/p"))
    assert command == ["/bin/pulumi", "config", "--json", "--show-secrets", "--non-interactive", *flags]
    assert folder == cwd
