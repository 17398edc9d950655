"""The provider pickles by reference: `__provider` is stable across code changes and carries no configuration."""

import base64

import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider

from rr_pulumi.provider import connection
from rr_pulumi.provider.client import ClientProvider
from rr_pulumi.provider.credential import CredentialProvider
from rr_pulumi.provider.proxy import ProxyProvider
from rr_pulumi.provider.rule import RuleProvider
from rr_pulumi.provider.target import TargetProvider

PROVIDERS = [ClientProvider, CredentialProvider, TargetProvider, ProxyProvider, RuleProvider]


@pytest.mark.parametrize("cls", PROVIDERS)
def test_serialized_by_reference(cls):
    raw = base64.b64decode(serialize_provider(cls()))
    assert cls.__module__.encode() in raw and cls.__name__.encode() in raw
    assert len(raw) < 100  # a reference, not the code
    assert b"def " not in raw and b"co_code" not in raw


@pytest.mark.parametrize("cls", PROVIDERS)
def test_stable_and_token_free_after_configure(cls, monkeypatch):
    monkeypatch.setattr(connection, "_settings", {})
    before = serialize_provider(cls())
    provider = cls()
    provider.configure(ConfigureRequest(Config({"requestrocket:token": "u-topsecret-token"}, "p")))
    after = serialize_provider(provider)
    assert before == after
    assert b"u-topsecret-token" not in base64.b64decode(after)
    assert cls.serialize_as_secret_always is False
