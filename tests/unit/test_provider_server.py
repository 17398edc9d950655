"""The provider server: Pulumi's own server module, with a wider worker pool, sized from one setting."""

from concurrent import futures

import pytest

from rr_pulumi.api.concurrency import DEFAULT_WORKERS, WORKERS_ENV, provider_workers
from rr_pulumi.provider.server import widened


def test_workers_default_and_setting():
    assert provider_workers({}) == DEFAULT_WORKERS
    assert provider_workers({WORKERS_ENV: " 64 "}) == 64


@pytest.mark.parametrize("value", ["0", "-3", "many", "2.5", "5000"])
def test_bad_worker_counts_name_the_setting_and_the_range(value):
    with pytest.raises(ValueError, match=rf"{WORKERS_ENV} must be a whole number from 1 to 1024, got '{value}'"):
        provider_workers({WORKERS_ENV: value})


def test_pulumis_four_worker_pool_is_replaced_by_the_configured_one():
    made = []
    make = widened(lambda pool, *args, **kwargs: made.append((pool, args, kwargs)) or "server", 32)
    assert make(futures.ThreadPoolExecutor(max_workers=4), options=[("a", 1)]) == "server"
    pool, _, kwargs = made[0]
    assert pool._max_workers == 32 and kwargs["options"] == [("a", 1)]
    assert [i.guarded_method for i in kwargs["interceptors"]] == ["Read", "Configure"]
    pool.shutdown()


def test_a_pool_at_least_as_wide_or_of_another_kind_is_kept():
    made = []
    make = widened(lambda pool, *args, **kwargs: made.append(pool), 8)
    wide = futures.ThreadPoolExecutor(max_workers=16)
    make(wide)
    make(None)
    assert made == [wide, None]
    wide.shutdown()


@pytest.fixture
def fresh_connection(monkeypatch):
    from rr_pulumi.provider import connection

    for name, empty in (("_settings", {}), ("_clients", {}), ("_client_keys", {}), ("_verified", set()),
                        ("_check_failed", {}), ("_live", {})):
        monkeypatch.setattr(connection, name, empty)
    monkeypatch.setattr(connection, "_read_current_token", lambda profile: None)  # no `pulumi` to ask
    monkeypatch.delenv("REQUESTROCKET_TOKEN", raising=False)
    monkeypatch.delenv("REQUESTROCKET_SKIP_CREDENTIALS_VALIDATION", raising=False)


def configure_args(**config):
    from google.protobuf import struct_pb2

    args = struct_pb2.Struct()
    args.update(config)
    return args


def test_configure_makes_the_token_check_and_names_the_skip_setting(fresh_connection):
    from rr_pulumi.provider.server import configure_failure

    down = {"requestrocket:apiUrl": "http://127.0.0.1:9", "requestrocket:token": "u-any"}  # nothing listens on 9
    failure = configure_failure(configure_args(**down))
    assert failure.startswith("requestrocket:apiUrl: cannot use the RequestRocket API: GET /api/clients failed")
    assert "gave up after 2 attempts" in failure and "requestrocket:skipCredentialsValidation true" in failure
    assert "u-any" not in failure


@pytest.mark.parametrize("config", [
    {"requestrocket:apiUrl": "http://127.0.0.1:9"},  # no token: the resources say so, naming their setting
    {"requestrocket:apiUrl": "http://127.0.0.1:9", "requestrocket:token": "u-any",
     "requestrocket:skipCredentialsValidation": "true"},
    {"requestrocket:apiUrl": "http://127.0.0.1:9", "requestrocket:token": "u-any",
     "requestrocket:profiles": '{"acme": {"token": "u-acme"}}'},  # each profile: at its first resource
    {"requestrocket:apiUrl": "not-a-url", "requestrocket:token": "u-any"},  # reported by the resources' check
])
def test_configure_leaves_to_the_resources_what_they_report_better(fresh_connection, config):
    from rr_pulumi.provider.server import configure_failure

    assert configure_failure(configure_args(**config)) is None
