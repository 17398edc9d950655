import pytest

from rr_pulumi import client as rr_client
from rr_pulumi import config as rr_config
from rr_pulumi.provider import connection

from .fake_api import TOKEN, FakeApi

API_URL = "http://api.test"


@pytest.fixture
def fake_api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def api_client(fake_api):
    return rr_client.RequestRocketClient(API_URL, TOKEN, transport=fake_api, sleep=lambda s: None)


@pytest.fixture
def provider_env(monkeypatch, fake_api, api_client):
    """Providers wired to the fake API: settings with a token, the top-level connection's client replaced."""
    settings = rr_config.Settings(api_url=API_URL, token=TOKEN, data_plane_url="https://{region}.rr.test")
    monkeypatch.setattr(connection, "_settings", {None: settings})
    monkeypatch.setattr(connection, "_clients", {None: api_client})
    monkeypatch.setattr(connection, "_client_keys", {})
    monkeypatch.setattr(connection, "_verified", {None})
    monkeypatch.setattr(connection, "_check_failed", {})
    return fake_api
