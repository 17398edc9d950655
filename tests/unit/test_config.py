"""Provider configuration: stack config, then environment; the token never shows."""

import pytest

from rr_pulumi.api import config as rr_config
from rr_pulumi.api.errors import ConfigurationError
from rr_pulumi.provider import connection
from rr_pulumi.provider.client import ClientProvider
from pulumi.dynamic import Config, ConfigureRequest


def test_stack_config_wins_over_environment():
    cfg = {"requestrocket:apiUrl": "http://127.0.0.1:9/", "requestrocket:token": "u-from-config"}
    s = rr_config.settings_from(cfg.get, env={"REQUESTROCKET_TOKEN": "u-from-env"})
    assert s.api_url == "http://127.0.0.1:9" and s.token == "u-from-config"


def test_drift_overrides_win_over_the_stack_config_for_the_top_level_only():
    """`rr-pulumi drift --api-url/--token` reach the provider of its `pulumi preview` through these variables."""
    cfg = {"requestrocket:apiUrl": "http://127.0.0.1:9", "requestrocket:token": "u-from-config",
           "requestrocket:profiles": {"acme": {"apiUrl": "https://acme.example.com", "token": "u-acme"}}}
    env = {rr_config.OVERRIDE_API_URL_ENV: "http://127.0.0.1:8080/", rr_config.OVERRIDE_TOKEN_ENV: "u-override"}
    top = rr_config.settings_from(cfg.get, env=env)
    assert (top.api_url, top.token) == ("http://127.0.0.1:8080", "u-override")
    acme = rr_config.settings_from(cfg.get, env=env, profile="acme")
    assert (acme.api_url, acme.token) == ("https://acme.example.com", "u-acme")
    with pytest.raises(ConfigurationError, match=r"^--api-url must be an absolute http\(s\) URL, got 'nope'$"):
        rr_config.settings_from(cfg.get, env={rr_config.OVERRIDE_API_URL_ENV: "nope"})


def test_environment_fallback_and_defaults():
    s = rr_config.settings_from(lambda k: None, env={"REQUESTROCKET_TOKEN": "u-env"})
    assert s.token == "u-env" and s.api_url == "https://api.requestrocket.com"
    assert s.proxy_url("eu-west-1", "p1") == "https://eu-west-1.requestrocket.com/api/p1"


def test_data_plane_template():
    s = rr_config.settings_from({"requestrocket:dataPlaneUrl": "http://localhost:8081/{region}/"}.get, env={})
    assert s.proxy_url("us-east-1", "abc") == "http://localhost:8081/us-east-1/api/abc"


def test_missing_token_names_both_ways():
    s = rr_config.settings_from(lambda k: None, env={})
    with pytest.raises(ConfigurationError) as exc:
        s.require_token()
    assert "pulumi config set --secret requestrocket:token" in str(exc.value)
    assert "REQUESTROCKET_TOKEN" in str(exc.value)


def test_bad_api_url():
    with pytest.raises(ConfigurationError, match="requestrocket:apiUrl must be an absolute http"):
        rr_config.settings_from({"requestrocket:apiUrl": "api.requestrocket.com"}.get, env={})


def test_repr_hides_token():
    s = rr_config.Settings(api_url="http://x", token="u-very-secret")
    assert "u-very-secret" not in repr(s)


def test_configure_reads_namespaced_keys_from_the_engine(monkeypatch):
    """The engine sends dynamic providers the whole stack config with namespaced keys (GetPackageConfig)."""
    monkeypatch.setattr(connection, "_settings", {})
    raw = {"requestrocket:token": "u-cfg", "requestrocket:apiUrl": "http://emu:1", "aws:region": "x"}
    ClientProvider().configure(ConfigureRequest(Config(raw_config=raw, project_name="proj")))
    assert connection.settings().token == "u-cfg" and connection.settings().api_url == "http://emu:1"
    assert vars(ClientProvider()) == {}  # nothing stored on the (pickled) provider


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "http://127.0.0.1:port", "https://api.example.com:-1"])
def test_an_api_url_with_a_port_that_is_no_port_is_refused_naming_the_setting(url):
    # Else it passed here and raised a bare ValueError (a traceback) at the first request.
    with pytest.raises(ConfigurationError, match="requestrocket:apiUrl must be an absolute http"):
        rr_config.settings_from(lambda key: url if key == "requestrocket:apiUrl" else None, {})
