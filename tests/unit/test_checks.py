"""Checks at preview beyond the schema: allowed regions, placeholders, profiles, API errors in Python names,
one-line rr-pulumi errors in the provider server."""

import traceback

import pytest

from rr_pulumi.api import config as rr_config
from rr_pulumi.api.errors import InvalidRequest, name_arguments
from rr_pulumi.provider import connection, diagnostics
from rr_pulumi.provider.adopt import AdoptionError
from rr_pulumi.provider.checks import placeholder_failures, region_failures
from rr_pulumi.provider.credential import CredentialProvider, rotated_out_of_band
from rr_pulumi.provider.proxy import ProxyProvider
from rr_pulumi.provider.target import TargetProvider
from rr_pulumi.schema import CredentialSchema, TargetSchema


def test_regions_outside_the_list_name_the_argument_and_the_allowed_values():
    [failure] = region_failures(TargetSchema, {"target_region": "sa-east-1"}, ("us-east-1", "eu-west-1"))
    assert failure.argument == "target_region"
    assert failure.reason.startswith("'sa-east-1' is not an allowed region; allowed: us-east-1, eu-west-1")
    assert region_failures(TargetSchema, {"target_region": "eu-west-1"}, ("eu-west-1",)) == []
    # Nothing configured: the list is the default, and the message says so rather than blame the stack's setting.
    [failure] = region_failures(TargetSchema, {"target_region": "sa-east-1"}, rr_config.DEFAULT_REGIONS)
    assert failure.reason.endswith("(the regions RequestRocket serves; the stack's requestrocket:regions can narrow them)")


def test_placeholders_are_refused_by_path_without_the_value():
    inputs = {"credential_secret": {"api_key": "<apiKey>", "header_name": "X-Key", "extra": ["<token>"]}}
    failures = placeholder_failures(CredentialSchema, inputs)
    assert [f.argument for f in failures] == ["credential_secret.api_key", "credential_secret.extra[0]"]
    assert not any("<apiKey>" in f.reason for f in failures)
    assert placeholder_failures(CredentialSchema, {"credential_secret": {"api_key": "<not a placeholder"}}) == []


def test_check_uses_the_configured_regions(provider_env, monkeypatch):
    top = connection._settings[None]
    monkeypatch.setitem(connection._settings, None, rr_config.Settings(**{**vars(top), "regions": ("eu-west-1",)}))
    inputs = {"client_id": "c", "target_name": "api", "target_base_url": "https://a.example.com",
              "target_region": "us-east-1", "__provider": "p"}
    [failure] = TargetProvider().check({}, inputs).failures
    assert failure.property == "target_region" and "allowed: eu-west-1" in failure.reason
    # Not a region code at all: the same answer, not only the format the schema wants.
    [failure] = TargetProvider().check({}, {**inputs, "target_region": "mars"}).failures
    assert failure.property == "target_region"
    assert failure.reason.startswith("'mars' is not an allowed region; allowed: eu-west-1")


def test_profile_is_an_input_and_changing_it_replaces(provider_env, monkeypatch):
    monkeypatch.setitem(connection._settings, "other", connection._settings[None])
    monkeypatch.setitem(connection._clients, "other", connection._clients[None])
    inputs = {"client_id": "c", "target_name": "api", "target_base_url": "https://a.example.com",
              "target_region": "us-east-1", "__provider": "p"}
    checked = TargetProvider().check({}, {**inputs, "profile": "other"})
    assert checked.failures == [] and checked.inputs["profile"] == "other"
    diff = TargetProvider().diff("t1", {**inputs, "profile": "other"}, {**inputs, "profile": "another"})
    assert diff.changes is True and diff.replaces == ["profile"]
    assert TargetProvider().diff("t1", inputs, inputs).changes is False


def test_an_unknown_profile_fails_the_check(provider_env):
    inputs = {"client_id": "c", "target_name": "api", "target_base_url": "https://a.example.com",
              "target_region": "us-east-1", "profile": "nope", "__provider": "p"}
    [failure] = TargetProvider().check({}, inputs).failures
    assert failure.reason.startswith("profile: unknown connection profile 'nope'")


def test_api_errors_name_python_arguments_and_keep_method_path_and_code():
    error = InvalidRequest("POST", "/api/clients/c1/proxies", 400, "VALIDATION_ERROR", "Validation failed",
                           "proxyTargetCredentialId: must be a credential of credentialType target")
    renamed = name_arguments(error, ProxyProvider().wire_names())
    assert isinstance(renamed, InvalidRequest) and renamed.code == "VALIDATION_ERROR"
    assert str(renamed) == ("POST /api/clients/c1/proxies returned 400 VALIDATION_ERROR: Validation failed; "
                            "target_credential_id: must be a credential of credential_type target")


def test_rotation_marker_only_when_nothing_else_moved():
    before = {"credential_name": "a", "credential_type": "proxy", "credential_updated_at": "t1"}
    assert rotated_out_of_band(before, {**before, "credential_updated_at": "t2"})
    assert not rotated_out_of_band(before, {**before, "credential_name": "b", "credential_updated_at": "t2"})
    assert not rotated_out_of_band(before, before)


def server_text(error, env, argv=()):
    try:
        raise error
    except Exception:
        shim = diagnostics._ShortTracebacks()
        old_env = dict(diagnostics.os.environ)
        diagnostics.os.environ.clear()
        diagnostics.os.environ.update(env)
        try:
            return shim.format_exc()
        finally:
            diagnostics.os.environ.clear()
            diagnostics.os.environ.update(old_env)


def test_the_server_prints_rr_pulumi_errors_as_one_line_unless_asked():
    assert server_text(AdoptionError("cannot adopt target 'x'"), {}) == "cannot adopt target 'x'"
    assert "Traceback" in server_text(AdoptionError("x"), {"RR_PULUMI_TRACEBACK": "1"})
    assert "Traceback" in server_text(KeyError("bug"), {})  # not ours on purpose: a bug keeps its traceback
    assert diagnostics.tracebacks_wanted({}, ["prog", "-v=9"]) and not diagnostics.tracebacks_wanted({}, ["-v=0"])
    assert diagnostics._ShortTracebacks().format_list is traceback.format_list


def test_adopting_without_a_secret_passes_the_check_creating_does_not(provider_env):
    inputs = {"client_id": "c", "credential_name": "x", "credential_type": "proxy", "credential_auth_type": "apiKey",
              "credential_region": "us-east-1", "__provider": "p"}
    assert CredentialProvider().check({}, {**inputs, "adopt": True}).failures == []
    assert CredentialProvider().check({}, inputs).failures != []


def test_an_empty_answer_names_the_real_method(fake_api, api_client):
    fake_api.script += [(200, {"clients": []}, {}), (201, {"message": "Success"}, {})]  # the list before, the POST
    with pytest.raises(Exception) as exc:
        api_client.create("/api/clients", {"clientName": "x"}, lambda item: False)
    assert str(exc.value).startswith("POST /api/clients succeeded without returning the client it created")


def test_every_error_class_is_a_request_rocket_error():
    import inspect

    from rr_pulumi.api import client
    from rr_pulumi.api import errors
    from rr_pulumi.provider import adopt

    classes = [c for m in (errors, client, adopt) for _, c in inspect.getmembers(m, inspect.isclass)
               if issubclass(c, Exception) and c.__module__ == m.__name__]
    assert classes and all(issubclass(c, errors.RequestRocketError) for c in classes)
