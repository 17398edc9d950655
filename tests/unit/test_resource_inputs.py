"""What a program sends the engine for each declaration (Pulumi's mocks stand in for the engine): references
become ids, `profile` and `rotate_on_adopt` are inputs only when set, and adopting with rotation warns at preview."""

from __future__ import annotations

import asyncio

import pulumi
import pytest

import rr_pulumi
from rr_pulumi import resource_base
from rr_pulumi.resource_base import ProgramError


class Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.inputs: dict[str, dict] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.inputs[args.name] = dict(args.inputs)
        return [f"{args.name}-id", dict(args.inputs)]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


@pytest.fixture
def engine(monkeypatch):
    # Pulumi's mocks need a current event loop; an earlier test's asyncio.run() in this worker leaves none.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, preview=True)
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, resource=None, **_: warnings.append(message))
    recorder.warnings = warnings  # type: ignore[attr-defined]
    resource_base.forget_declarations()
    yield recorder
    resource_base.forget_declarations()
    asyncio.set_event_loop(None)
    loop.close()


@pulumi.runtime.test
def test_references_become_ids_and_options_are_inputs_only_when_set(engine):
    org = rr_pulumi.Client("org", client_name="acme", profile="acme")
    plain = rr_pulumi.Client("plain", client_name="other")
    cred = rr_pulumi.Credential("callers", client_id=org, credential_name="c", credential_type="proxy",
                                credential_region="us-east-1", credential_secret=rr_pulumi.ApiKeySecret(api_key="k"),
                                adopt=True, rotate_on_adopt=True)

    def check(_):
        assert engine.inputs["org"]["profile"] == "acme" and "profile" not in engine.inputs["plain"]
        callers = engine.inputs["callers"]
        assert callers["client_id"] == "org-id"
        assert callers["credential_auth_type"] == "apiKey" and callers["rotate_on_adopt"] is True
        assert callers["adopt"] is True
        assert engine.warnings == [
            "Credential 'callers' adopts an existing credential; `pulumi up` will rotate its secret to the declared one"
        ]

    return pulumi.Output.all(org.id, plain.id, cred.id).apply(check)


@pulumi.runtime.test
def test_without_rotation_adoption_sends_no_rotation_marker_and_no_warning(engine):
    cred = rr_pulumi.Credential("callers", client_id="c1", credential_name="c", credential_type="proxy",
                                credential_region="us-east-1", adopt_id="cred-1")

    def check(_):
        assert "rotate_on_adopt" not in engine.inputs["callers"] and engine.warnings == []
        assert engine.inputs["callers"]["adopt_id"] == "cred-1"

    return cred.id.apply(check)


def test_rotation_needs_adoption_and_a_secret(engine):
    with pytest.raises(ProgramError, match=r"^Credential 'c': rotate_on_adopt=True applies only with adopt"):
        rr_pulumi.Credential("c", client_id="c1", credential_name="c", credential_type="proxy",
                             credential_region="us-east-1", credential_secret=rr_pulumi.ApiKeySecret(api_key="k"),
                             rotate_on_adopt=True)
    with pytest.raises(ProgramError, match=r"^Credential 'd': rotate_on_adopt=True needs credential_secret"):
        rr_pulumi.Credential("d", client_id="c1", credential_name="d", credential_type="proxy",
                             credential_region="us-east-1", credential_auth_type="apiKey", adopt=True,
                             rotate_on_adopt=True)


def test_a_reference_by_id_output_is_checked_like_the_resource(engine):
    org = rr_pulumi.Client("org", client_name="acme")
    upstream = rr_pulumi.Credential("upstream", client_id=org.id, credential_name="u", credential_type="target",
                                    credential_region="us-east-1", credential_secret=rr_pulumi.BearerSecret(token="t"))
    api = rr_pulumi.Target("api", client_id=org.id, target_name="api", target_base_url="https://a.example.com",
                           target_region="us-east-1")
    with pytest.raises(ProgramError, match=r"proxy_credential_id is Credential 'upstream' with credential_type='target'"):
        rr_pulumi.Proxy("gw", client_id=org.id, proxy_name="gw", proxy_region="us-east-1",
                        proxy_credential_id=upstream.id, target_id=api.id, target_credential_id=upstream.id)
    with pytest.raises(ProgramError, match=r"^Rule 'r': credential_id/target_id/proxy_id: none is set; a rule needs exactly one parent: set one of credential_id, target_id"):
        rr_pulumi.Rule("r", client_id=org, effect="deny", priority=1)
    with pytest.raises(ProgramError, match=r"^Proxy 'p' \(get\): missing required argument client_id"):
        rr_pulumi.Proxy.get("p", "p-1", client_id=None)  # type: ignore[arg-type]


@pulumi.runtime.test
def test_get_registers_a_read_with_the_props_read_needs(engine):
    found = rr_pulumi.Rule.get("r", "rule-1", client_id="c1", proxy_id="p1", profile="acme")

    def check(outputs):
        rule_id, client_id = outputs
        assert rule_id == "rule-1" and client_id == "c1"

    return pulumi.Output.all(found.id, found.client_id).apply(check)


def test_import_option_points_to_adoption(engine):
    with pytest.raises(ProgramError, match=r"^Client 'org': ResourceOptions\(import_=...\) cannot work with dynamic "
                                           r"providers: use adopt_id='c-1' to take the object over"):
        rr_pulumi.Client("org", client_name="acme", opts=pulumi.ResourceOptions(import_="c-1"))


def test_one_name_may_be_adopted_in_two_accounts(engine):
    rr_pulumi.Client("a", client_name="acme", profile="first", adopt=True)
    rr_pulumi.Client("b", client_name="acme", profile="second", adopt=True)
    with pytest.raises(resource_base.AdoptionConflict, match=r"client 'c' and client 'b' would both manage the client "
                                                            r"with natural key 'second', 'acme'"):
        rr_pulumi.Client("c", client_name="acme", profile="second", adopt=True)
