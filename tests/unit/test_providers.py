"""Provider methods over the fake API: create/read/update/delete, outputs, secrets, drift, check failures."""

import pytest

from rr_pulumi.api import client as rr_client
from rr_pulumi.provider import connection
from rr_pulumi.provider.client import ClientProvider
from rr_pulumi.provider.credential import CredentialProvider
from rr_pulumi.provider.proxy import ProxyProvider
from rr_pulumi.provider.rule import RuleProvider
from rr_pulumi.provider.target import TargetProvider
from rr_pulumi.schema import UNKNOWN, secret_hash


def checked(provider, inputs):
    result = provider.check({}, {**inputs, "__provider": "p"})
    assert result.failures == []
    return result.inputs


def make_client(api):
    result = ClientProvider().create(checked(ClientProvider(), {"client_name": "Acme"}))
    return result.id


def test_client_lifecycle(provider_env):
    api = provider_env
    p = ClientProvider()
    created = p.create(checked(p, {"client_name": "Acme"}))
    assert created.outs["client_id"] == created.id and created.outs["client_name"] == "Acme"
    updated = p.update(created.id, created.outs, checked(p, {"client_name": "Acme Corp"}))
    assert updated.outs["client_name"] == "Acme Corp" and updated.outs["client_id"] == created.id
    read = p.read(created.id, updated.outs)
    assert read.id == created.id and read.inputs == {"client_name": "Acme Corp"}
    connection.client()._prefetcher.shutdown(wait=True)  # the client's collections, listed ahead of the refresh
    p.delete(created.id, updated.outs)
    method, path, body, _ = api.requests[-1]
    assert (method, path, body) == ("DELETE", f"/api/clients/{created.id}", {"immediatelyDelete": True})
    assert p.read(created.id, updated.outs).id == ""
    p.delete(created.id, updated.outs)  # already gone: fine


def cred_inputs(client_id, **extra):
    return {
        "client_id": client_id,
        "credential_name": "callers",
        "credential_type": "proxy",
        "credential_auth_type": "apiKey",
        "credential_region": "us-east-1",
        "credential_secret": {"api_key": "k-1", "header_name": "X-API-Key"},
        **extra,
    }


def test_credential_create_sends_wire_secret_and_keeps_it_out_of_reads(provider_env):
    api = provider_env
    cid = make_client(api)
    p = CredentialProvider()
    created = p.create(checked(p, cred_inputs(cid)))
    _, path, body, _ = api.requests[-1]
    assert path == f"/api/clients/{cid}/credentials"
    assert body["credentialSecret"] == {"apiKey": "k-1", "headerName": "X-API-Key"}
    assert "clientId" not in body
    outs = created.outs
    assert outs["credential_secret_hash"] == secret_hash({"api_key": "k-1", "header_name": "X-API-Key"})
    assert outs["credential_updated_at"]
    read = p.read(created.id, outs)
    assert read.outs["credential_secret"] == outs["credential_secret"]  # from the state: the API never returns it
    assert read.inputs["credential_secret"] == outs["credential_secret"]
    assert p.diff(created.id, read.outs, checked(p, cred_inputs(cid))).changes is False


def test_credential_rotation_is_a_put_with_only_the_new_secret(provider_env):
    api = provider_env
    cid = make_client(api)
    p = CredentialProvider()
    created = p.create(checked(p, cred_inputs(cid)))
    news = checked(p, cred_inputs(cid, credential_secret={"api_key": "k-2"}))
    diff = p.diff(created.id, created.outs, news)
    assert diff.changes and diff.replaces == []
    updated = p.update(created.id, created.outs, news)
    method, path, body, _ = api.requests[-1]
    assert method == "PUT" and body == {"credentialName": "callers", "credentialSecret": {"apiKey": "k-2"}}
    assert updated.outs["credential_secret_hash"] == secret_hash({"api_key": "k-2"})
    assert updated.outs["credential_updated_at"] != created.outs["credential_updated_at"]
    assert set(created.outs) <= set(updated.outs)  # every output, not only the changed ones


def test_rename_does_not_resend_the_secret(provider_env):
    api = provider_env
    cid = make_client(api)
    p = CredentialProvider()
    created = p.create(checked(p, cred_inputs(cid)))
    p.update(created.id, created.outs, checked(p, cred_inputs(cid, credential_name="renamed")))
    assert api.requests[-1][2] == {"credentialName": "renamed"}


def test_refreshing_a_client_lists_its_collections_ahead_and_a_lookup_does_not(provider_env):
    api = provider_env
    recorded = ClientProvider().create(checked(ClientProvider(), {"client_name": "Acme"}))
    looked_up = ClientProvider().create(checked(ClientProvider(), {"client_name": "Elsewhere"}))
    before = len(api.requests)
    assert ClientProvider().read(looked_up.id, {}).id == looked_up.id  # `Client.get`: nothing recorded
    assert ClientProvider().read(recorded.id, recorded.outs).id == recorded.id  # a refresh
    connection.client()._prefetcher.shutdown(wait=True)
    listed = sorted(path for method, path, _, _ in api.requests[before:] if method == "GET")
    assert listed == sorted(["/api/clients"] + [f"/api/clients/{recorded.id}/{plural}"
                                                for plural in ("credentials", "targets", "proxies")])


def test_out_of_band_update_marks_the_secret_for_resend(provider_env):
    api = provider_env
    cid = make_client(api)
    p = CredentialProvider()
    created = p.create(checked(p, cred_inputs(cid)))
    coll = f"/api/clients/{cid}/credentials"
    api.collections[coll][created.id]["credentialUpdatedAt"] = "2027-01-01T00:00:00.000Z"  # rotated elsewhere
    connection.client().invalidate(coll)
    read = p.read(created.id, created.outs)
    assert read.outs["credential_secret_hash"].startswith("stale:")
    assert p.diff(created.id, read.outs, checked(p, cred_inputs(cid))).changes is True
    updated = p.update(created.id, read.outs, checked(p, cred_inputs(cid)))
    assert "credentialSecret" in api.requests[-1][2]
    assert not updated.outs["credential_secret_hash"].startswith("stale:")


def target_inputs(cid, **extra):
    return {"client_id": cid, "target_name": "stripe", "target_base_url": "https://api.stripe.com",
            "target_region": "us-east-1", **extra}


def test_target_drift_and_out_of_band_delete(provider_env):
    api = provider_env
    cid = make_client(api)
    p = TargetProvider()
    created = p.create(checked(p, target_inputs(cid)))
    assert created.outs["target_default_rule_effect"] == "allow"
    coll = f"/api/clients/{cid}/targets"
    api.collections[coll][created.id]["targetDefaultRuleEffect"] = "deny"
    connection.client().invalidate(coll)
    read = p.read(created.id, created.outs)
    assert read.inputs["target_default_rule_effect"] == "deny"
    assert p.diff(created.id, read.outs, checked(p, target_inputs(cid))).changes is True
    del api.collections[coll][created.id]
    connection.client().invalidate(coll)
    assert p.read(created.id, created.outs).id == ""
    p.delete(created.id, created.outs)


def test_removed_optional_field_is_sent_as_null(provider_env):
    api = provider_env
    cid = make_client(api)
    p = TargetProvider()
    created = p.create(checked(p, target_inputs(cid, target_test_path="/health")))
    p.update(created.id, created.outs, checked(p, target_inputs(cid)))
    assert api.requests[-1][2]["targetTestPath"] is None


def proxy_inputs(cid, **extra):
    return {"client_id": cid, "proxy_name": "payments", "proxy_region": "us-east-1", "proxy_credential_id": "pc",
            "target_id": "t", "target_credential_id": "tc", "proxy_max_requests_per_minute": 60.0, **extra}


def test_proxy_outputs_url_and_limits(provider_env):
    api = provider_env
    cid = make_client(api)
    p = ProxyProvider()
    created = p.create(checked(p, proxy_inputs(cid)))
    assert created.outs["url"] == f"https://us-east-1.rr.test/api/{created.id}"
    body = api.requests[-1][2]
    assert body["proxyProxyCredentialId"] == "pc" and body["proxyMaxRequestsPerMinute"] == 60
    assert isinstance(body["proxyMaxRequestsPerMinute"], int)
    updated = p.update(created.id, created.outs, checked(p, proxy_inputs(cid, target_id="t2")))
    assert updated.outs["target_id"] == "t2" and updated.outs["url"] == created.outs["url"]


def test_rule_create_read_and_adoption(provider_env):
    api = provider_env
    cid = make_client(api)
    p = RuleProvider()
    ins = checked(p, {"client_id": cid, "proxy_id": "p1", "effect": "deny", "priority": 900,
                      "methods": ["delete"], "path_pattern": "^/admin"})
    created = p.create(ins)
    method, path, body, _ = api.requests[-1]
    assert path == f"/api/clients/{cid}/proxies/p1/rules"
    assert body == {"effect": "deny", "priority": 900, "methods": ["DELETE"], "pathPattern": "^/admin"}
    assert p.read(created.id, created.outs).inputs == {k: v for k, v in ins.items() if k != "__provider"}
    api.apply_then_fail = 502
    again = p.create(checked(p, {"client_id": cid, "proxy_id": "p1", "effect": "allow", "priority": 10, "methods": ["GET"]}))
    assert again.outs["effect"] == "allow"
    assert len(api.collections[f"/api/clients/{cid}/proxies/p1/rules"]) == 2
    with pytest.raises(NotImplementedError):
        p.update(created.id, created.outs, ins)


def test_rule_natural_key_ignores_echoed_nulls(provider_env):
    p = RuleProvider()
    values = checked(p, {"client_id": "c", "proxy_id": "p1", "effect": "deny", "priority": 5,
                         "methods": ["get"], "header_checks": [{"name_pattern": "^x-", "presence": "present"}]})
    listed = {"sKey": "r9", "effect": "deny", "priority": 5, "methods": ["GET"], "pathPattern": None,
              "headerChecks": [{"namePattern": "^x-", "valuePattern": None, "presence": "present"}],
              "queryChecks": [], "notes": None, "userId": "u", "clientId": "c"}
    assert p.natural_key(values, listed)
    assert not p.natural_key(values, {**listed, "priority": 6})


def test_check_reports_failures_by_argument(provider_env):
    result = ProxyProvider().check({}, {**proxy_inputs("c"), "proxy_max_requests_per_minute": 5000.0, "__provider": "x"})
    assert [(f.property, f.reason) for f in result.failures] == [
        ("proxy_max_requests_per_minute", "must be between 1 and 1000 (got 5000)")
    ]
    assert provider_env.writes() == []


def test_check_never_puts_a_secret_in_the_property(provider_env):
    result = CredentialProvider().check({}, {**cred_inputs("c"), "credential_secret": {"api_key": 5}, "__provider": "x"})
    [failure] = result.failures
    assert failure.property == "" and failure.reason.startswith("credential_secret.api_key:")


def test_check_with_unknowns_passes(provider_env):
    result = ProxyProvider().check({}, {**proxy_inputs(UNKNOWN), "target_id": UNKNOWN, "__provider": "x"})
    assert result.failures == [] and result.inputs["target_id"] == UNKNOWN


def test_missing_token_is_one_clear_check_failure(monkeypatch):
    from rr_pulumi.api import config as rr_config

    monkeypatch.setattr(connection, "_settings", {None: rr_config.Settings(api_url="http://x", token=None)})
    result = TargetProvider().check({}, {**target_inputs("c"), "__provider": "x"})
    [failure] = result.failures
    assert "pulumi config set --secret requestrocket:token" in failure.reason and "REQUESTROCKET_TOKEN" in failure.reason


def test_rejected_token_is_one_clear_check_failure(monkeypatch, fake_api):
    from rr_pulumi.api import config as rr_config

    monkeypatch.setattr(connection, "_settings", {None: rr_config.Settings(api_url="http://api.test", token="u-bad")})
    monkeypatch.setattr(connection, "_clients", {None: rr_client.RequestRocketClient(
        "http://api.test", "u-bad", transport=fake_api, sleep=lambda s: None)})
    monkeypatch.setattr(connection, "_client_keys", {})
    monkeypatch.setattr(connection, "_verified", set())
    monkeypatch.setattr(connection, "_check_failed", {})
    result = TargetProvider().check({}, {**target_inputs("c"), "__provider": "x"})
    [failure] = result.failures
    assert "rejected the token" in failure.reason and "u-bad" not in failure.reason


def test_a_lookup_of_a_missing_id_fails_in_one_line_and_a_refresh_of_a_gone_object_drops_it(provider_env):
    from rr_pulumi.provider.base import LookupMissing

    api = provider_env
    cid = make_client(api)
    p = TargetProvider()
    with pytest.raises(LookupMissing) as missing:
        p.read("no-such-target", {"client_id": cid})  # Target.get("api", "no-such-target", client_id=cid)
    assert str(missing.value) == (f"Target.get: no target 'no-such-target' in client '{cid}': pass the id of an "
                                  "existing target (a lookup only reads; it never creates one)")
    with pytest.raises(LookupMissing, match=r"^Client.get: no client 'c-x' in the clients this token can see: "):
        ClientProvider().read("c-x", {})
    assert ClientProvider().missing_text("c-x", {"profile": "acme"}).startswith(
        "Client.get: no client 'c-x' in the clients this token can see with connection profile 'acme': ")
    created = p.create(checked(p, target_inputs(cid)))
    assert p.read(created.id, {"client_id": cid}).outs["target_name"] == "stripe"  # the lookup of one that exists
    p.delete(created.id, created.outs)
    assert p.read(created.id, created.outs).id == ""  # a refresh: gone, dropped from the state
