import pytest

from rr_pulumi.api import client as rr_client
from rr_pulumi.api import config as rr_config
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


@pytest.fixture(autouse=True)
def backend_without_stacks():
    """Adoption by name reads the backend's stacks through `pulumi` (provider.adopt.BACKEND_STACKS); unit tests
    run no `pulumi`: a backend with no stack, unless a test sets its own."""
    from rr_pulumi.provider.adopt import BACKEND_STACKS

    BACKEND_STACKS.reset(lambda args: [] if args[:2] == ["stack", "ls"] else None)
    yield BACKEND_STACKS
    BACKEND_STACKS.reset()


@pytest.fixture(autouse=True)
def no_claims_of_earlier_tests():
    """A create excludes every id this process's creates made (`ownership.Claims`); each fake API numbers its objects
    from 1, so each test starts as a new provider process would."""
    from rr_pulumi.api import ownership

    ownership.forget_claims()
    yield
    ownership.forget_claims()
