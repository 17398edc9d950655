"""Adoption: choosing the object, refusing what cannot be taken over, applying only what differs, and the
program-side guard against two resources adopting one object."""

import dataclasses

import pytest

from rr_pulumi import resource_base, resources
from rr_pulumi.provider import base as _base
from rr_pulumi.provider.adopt import AdoptedIds, AdoptionError, immutable_conflicts, item_to_adopt
from rr_pulumi.provider.client import ClientProvider
from rr_pulumi.provider.credential import CredentialProvider
from rr_pulumi.provider.rule import RuleProvider
from rr_pulumi.provider.target import TargetProvider
from rr_pulumi.schema import TargetSchema, kinds


@pytest.fixture(autouse=True)
def fresh_registries(monkeypatch):
    monkeypatch.setattr(_base, "ADOPTED", AdoptedIds())
    resources.forget_declarations()
    yield
    resources.forget_declarations()


def checked(provider, inputs):
    result = provider.check({}, {**inputs, "__provider": "p"})
    assert result.failures == []
    return result.inputs


ITEMS = [{"sKey": "t1", "targetName": "api"}, {"sKey": "t2", "targetName": "web"}, {"sKey": "t3", "targetName": "web"}]


def choose(markers, taken=frozenset(), kind=kinds.TARGET):
    return item_to_adopt(kind, "client 'c1'", ITEMS, lambda i: i["sKey"], markers,
                lambda i: i["targetName"] == markers.get("name"), f"target_name {markers.get('name')!r}", set(taken))


def test_pick_by_id_and_by_natural_key():
    assert choose({"adopt_id": "t2"})["sKey"] == "t2"
    assert choose({"adopt": True, "name": "api"})["sKey"] == "t1"


def test_pick_errors_name_the_object_and_where_it_was_looked_for():
    with pytest.raises(AdoptionError, match=r"cannot adopt target 'tx': no such target in client 'c1'"):
        choose({"adopt_id": "tx"})
    with pytest.raises(AdoptionError, match=r"target_name 'nope': none exists in client 'c1'"):
        choose({"adopt": True, "name": "nope"})
    with pytest.raises(AdoptionError, match=r"several match \(t2, t3\); use adopt_id"):
        choose({"adopt": True, "name": "web"})
    with pytest.raises(AdoptionError, match="another resource of this stack already created or adopted it"):
        choose({"adopt": True, "name": "api"}, taken={"t1"})


def test_identical_rules_are_handed_out_one_each():
    assert choose({"adopt": True, "name": "web"}, taken={"t2"}, kind=kinds.RULE)["sKey"] == "t3"


def test_objects_without_a_name_are_interchangeable_whatever_the_kind_is_called():
    """The kind's declared facts decide (it has no name field), not its word being "rule"."""
    unnamed = dataclasses.replace(kinds.RULE, name="Hook", word="hook")
    assert choose({"adopt": True, "name": "web"}, taken={"t2"}, kind=unnamed)["sKey"] == "t3"
    named = dataclasses.replace(kinds.TARGET, name="Rule", word="rule")
    with pytest.raises(AdoptionError, match=r"cannot adopt rule with target_name 'web': several match"):
        choose({"adopt": True, "name": "web"}, kind=named)


def test_immutable_conflicts_name_live_and_declared_values():
    item = {"targetName": "api", "targetRegion": "eu-west-1", "targetBaseURL": "https://a.example.com"}
    values = {"target_name": "api", "target_region": "us-east-1", "target_base_url": "https://b.example.com"}
    assert immutable_conflicts(TargetSchema, values, item) == [
        "target_region is 'eu-west-1' on the API but 'us-east-1' in the program"
    ]


def test_adopting_a_target_puts_only_what_differs(provider_env):
    api = provider_env
    cid = ClientProvider().create(checked(ClientProvider(), {"client_name": "Acme"})).id
    existing = api.put(f"/api/clients/{cid}/targets", {
        "targetName": "api", "targetBaseURL": "https://old.example.com", "targetRegion": "us-east-1",
        "targetTestPath": "/health", "targetDefaultRuleEffect": "allow"})
    p = TargetProvider()
    inputs = checked(p, {"client_id": cid, "target_name": "api", "target_base_url": "https://new.example.com",
                         "target_region": "us-east-1", "adopt": True})
    assert inputs["adopt"] is True
    created = p.create(inputs)
    assert created.id == existing["sKey"]
    writes = api.writes()
    assert writes[-1] == ("PUT", f"/api/clients/{cid}/targets/{existing['sKey']}")
    body = api.requests[-1][2]
    assert body == {"targetBaseURL": "https://new.example.com", "targetTestPath": None}  # undeclared: cleared
    assert not any(m == "POST" and p.endswith("/targets") for m, p in writes)
    assert p.diff(created.id, created.outs, inputs).changes is False


def test_adopting_without_differences_sends_nothing(provider_env):
    api = provider_env
    cid = ClientProvider().create(checked(ClientProvider(), {"client_name": "Acme"})).id
    api.put(f"/api/clients/{cid}/targets", {"targetName": "api", "targetBaseURL": "https://a.example.com",
                                             "targetRegion": "us-east-1", "targetDefaultRuleEffect": "allow"})
    writes = len(api.writes())
    TargetProvider().create(checked(TargetProvider(), {
        "client_id": cid, "target_name": "api", "target_base_url": "https://a.example.com",
        "target_region": "us-east-1", "adopt": True}))
    assert len(api.writes()) == writes



def test_adoption_by_name_never_takes_what_another_resource_of_this_deployment_created(provider_env):
    # The backend's stacks are read once per provider process, before this deployment creates anything: the
    # process's own creates are what tell a resource created as "api" a moment ago from someone else's "api".
    api = provider_env
    cid = ClientProvider().create(checked(ClientProvider(), {"client_name": "Acme"})).id
    p = TargetProvider()
    declared = {"client_id": cid, "target_name": "api", "target_base_url": "https://a.example.com",
                "target_region": "us-east-1"}
    made = p.create(checked(p, declared))
    with pytest.raises(AdoptionError, match="another resource of this stack already created or adopted it"):
        p.create(checked(p, {**declared, "adopt": True}))
    theirs = api.put(f"/api/clients/{cid}/targets", {
        "targetName": "web", "targetBaseURL": "https://a.example.com", "targetRegion": "us-east-1",
        "targetDefaultRuleEffect": "allow"})  # made outside this process: still adoptable by name
    assert p.create(checked(p, {**declared, "target_name": "web", "adopt": True})).id == theirs["sKey"] != made.id
    assert p.create(checked(p, {**declared, "adopt_id": made.id})).id == made.id  # by id: the user says which

def adopt_credential(api, **extra):
    cid = ClientProvider().create(checked(ClientProvider(), {"client_name": "Acme"})).id
    existing = api.put(f"/api/clients/{cid}/credentials", {
        "credentialName": "callers", "credentialType": "proxy", "credentialAuthType": "apiKey",
        "credentialRegion": "us-east-1"})
    p = CredentialProvider()
    inputs = checked(p, {"client_id": cid, "credential_name": "callers", "credential_type": "proxy",
                         "credential_auth_type": "apiKey", "credential_region": "us-east-1",
                         "adopt_id": existing["sKey"], **extra})
    writes = len(api.writes())
    created = p.create(inputs)
    assert created.id == existing["sKey"]
    assert p.diff(created.id, created.outs, inputs).changes is False
    return api.writes()[writes:], created


def test_adopting_a_credential_without_a_secret_keeps_the_live_one(provider_env):
    writes, created = adopt_credential(provider_env)
    assert writes == [] and "credential_secret" not in created.outs


def test_adopting_records_a_declared_secret_without_sending_it(provider_env):
    writes, created = adopt_credential(provider_env, credential_secret={"api_key": "k-1"})
    assert writes == [] and created.outs["credential_secret"] == {"api_key": "k-1"}


def test_rotate_on_adopt_sends_the_declared_secret(provider_env):
    api = provider_env
    writes, _ = adopt_credential(api, credential_secret={"api_key": "k-1"}, rotate_on_adopt=True)
    assert [m for m, _ in writes] == ["PUT"] and api.requests[-1][2] == {"credentialSecret": {"apiKey": "k-1"}}


def test_a_created_credential_still_needs_a_secret(provider_env):
    result = CredentialProvider().check({}, {"client_id": "c1", "credential_name": "callers", "credential_type": "proxy",
                                            "credential_auth_type": "apiKey", "credential_region": "us-east-1",
                                            "__provider": "p"})
    assert [f.reason for f in result.failures] == ["credential_secret: is required for credential_auth_type 'apiKey'"]


def test_adopting_a_credential_of_another_region_is_refused(provider_env):
    api = provider_env
    cid = ClientProvider().create(checked(ClientProvider(), {"client_name": "Acme"})).id
    api.put(f"/api/clients/{cid}/credentials", {"credentialName": "callers", "credentialType": "proxy",
                                                 "credentialAuthType": "apiKey", "credentialRegion": "eu-west-1"})
    p = CredentialProvider()
    inputs = checked(p, {"client_id": cid, "credential_name": "callers", "credential_type": "proxy",
                         "credential_auth_type": "apiKey", "credential_region": "us-east-1",
                         "credential_secret": {"api_key": "k-1"}, "adopt": True})
    with pytest.raises(AdoptionError, match="credential_region is 'eu-west-1' on the API but 'us-east-1'"):
        p.create(inputs)


def test_rules_are_adopted_by_every_field_and_never_updated(provider_env):
    api = provider_env
    cid = ClientProvider().create(checked(ClientProvider(), {"client_name": "Acme"})).id
    rules = f"/api/clients/{cid}/proxies/p1/rules"
    first = api.put(rules, {"effect": "deny", "priority": 900, "methods": ["DELETE"]})
    second = api.put(rules, {"effect": "deny", "priority": 900, "methods": ["DELETE"]})
    p = RuleProvider()
    inputs = checked(p, {"client_id": cid, "proxy_id": "p1", "effect": "deny", "priority": 900,
                         "methods": ["delete"], "adopt": True})
    writes = len(api.writes())
    ids = {p.create(inputs).id, p.create(inputs).id}
    assert ids == {first["sKey"], second["sKey"]} and len(api.writes()) == writes
    with pytest.raises(AdoptionError, match="another resource of this stack already created or adopted it"):
        p.create(inputs)
    third = api.put(rules, {"effect": "allow", "priority": 5})
    different = checked(p, {"client_id": cid, "proxy_id": "p1", "effect": "deny", "priority": 5,
                            "adopt_id": third["sKey"]})
    with pytest.raises(AdoptionError, match="its fields differ from the declaration, and rules cannot be updated"):
        RuleProvider().create(different)


def test_adopt_id_must_be_text():
    result = TargetProvider().check({}, {"client_id": "c", "target_name": "a", "target_base_url": "https://a.b",
                                         "target_region": "us-east-1", "adopt_id": 12})
    assert [f.reason for f in result.failures] == ["adopt_id: must be the id of the object to adopt (got 12)"]


def test_two_declarations_of_one_object_are_refused_when_one_adopts():
    resource_base._adoption("target", "billing", True, None, ("c1", "billing-api"))
    with pytest.raises(resources.AdoptionConflict, match=(
            r"target 'billing-again' and target 'billing' would both manage the target with natural key "
            r"'c1', 'billing-api'")):
        resource_base._adoption("target", "billing-again", False, None, ("c1", "billing-api"))
    resource_base._adoption("target", "other", False, None, ("c1", "other"))
    resource_base._adoption("target", "other-2", False, None, ("c1", "other"))  # neither adopts: the API decides
    resource_base._adoption("target", "by-id", False, "t9", None)
    with pytest.raises(resources.AdoptionConflict, match="with id 't9'"):
        resource_base._adoption("target", "by-id-again", False, "t9", None)
    with pytest.raises(ValueError, match="set adopt=True or adopt_id, not both"):
        resource_base._adoption("target", "both", True, "t8", None)


def test_the_backend_stacks_are_read_in_the_cli_s_folder_without_applying_its_cwd_again(monkeypatch, tmp_path):
    # `PULUMI_OPTION_CWD=proj pulumi up`: the CLI has changed into proj already (its /proc cwd); a `pulumi stack ls`
    # started there with the variable still set would change into proj/proj and fail (adoption by name refused).
    import subprocess

    from rr_pulumi.provider import adopt, live_config

    seen = {}

    def run(command, cwd, env, **kw):
        seen.update(cwd=cwd, env=env)
        return subprocess.CompletedProcess(command, 0, "[]", "")

    cli = live_config.PulumiInvocation("/usr/bin/pulumi", ("pulumi", "up"), str(tmp_path), None, 4242)
    monkeypatch.setattr(live_config, "running_pulumi", lambda: cli)
    monkeypatch.setattr(adopt.subprocess, "run", run)
    monkeypatch.setenv("PULUMI_OPTION_CWD", "proj")
    assert adopt._pulumi_runner()(["stack", "ls", "--all", "--json"]) == []
    assert seen["cwd"] == str(tmp_path) and "PULUMI_OPTION_CWD" not in seen["env"]
