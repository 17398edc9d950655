"""Settling pending creates after an interrupted `up`: adopt what reached the API, drop what did not."""

import base64
import pickle

from rr_pulumi.api.client import collection
from rr_pulumi.provider.target import TargetProvider

from rr_pulumi.tools.recovery import provider_of, repair_file_backend, settle, settled_export

TARGETS = collection("c1", "targets")
PROVIDER = base64.b64encode(pickle.dumps(TargetProvider())).decode()


def target_inputs(name):
    return {"__provider": PROVIDER, "client_id": "c1", "target_name": name, "target_base_url": "https://x.io",
            "target_region": "us-east-1"}


def pending(urn, name):
    return {"type": "creating", "resource": {"urn": urn, "type": "pulumi-python:dynamic/requestrocket:Target",
                                             "inputs": target_inputs(name)}}


def test_adopts_what_was_created_and_drops_what_was_not(fake_api, api_client):
    tracked = fake_api.put(TARGETS, {"targetName": "a"})  # already in the state: never adopted twice
    created = fake_api.put(TARGETS, {"targetName": "a"})
    deployment = {
        "resources": [{"urn": "urn:a0", "id": tracked["sKey"]}],
        "pending_operations": [pending("urn:a1", "a"), pending("urn:b", "b"),
                               {"type": "updating", "resource": {"urn": "urn:u"}}],
    }
    settlement = settle(deployment, lambda profile: api_client)
    assert settlement.adopted == [("urn:a1", created["sKey"])] and settlement.not_created == ["urn:b"]

    export = settled_export({"version": 3, "deployment": deployment}, settlement)["deployment"]
    assert [r["urn"] for r in export["resources"]] == ["urn:a0", "urn:a1"]
    assert export["resources"][1]["id"] == created["sKey"] and export["resources"][1]["outputs"]["target_name"] == "a"
    assert [op["type"] for op in export["pending_operations"]] == ["updating"]


def test_only_rr_pulumi_providers_are_unpickled():
    assert isinstance(provider_of(target_inputs("a")), TargetProvider)
    evil = base64.b64encode(pickle.dumps(print)).decode()
    assert provider_of({"__provider": evil}) is None and provider_of({}) is None


def test_empty_attribute_files_are_removed(tmp_path):
    stacks = tmp_path / ".pulumi" / "stacks" / "proj"
    stacks.mkdir(parents=True)
    (stacks / "dev.json.attrs").write_text("")
    (stacks / "dev.json.bak.attrs").write_text('{"user.cache": "x"}')
    assert repair_file_backend(tmp_path.as_uri()) == [str(stacks / "dev.json.attrs")]
    assert (stacks / "dev.json.bak.attrs").exists() and repair_file_backend("s3://bucket") == []


def test_an_adopted_replacement_marks_the_old_object_for_deletion(fake_api, api_client):
    old = fake_api.put(TARGETS, {"targetName": "old-name"})
    new = fake_api.put(TARGETS, {"targetName": "a"})
    deployment = {"resources": [{"urn": "urn:t", "id": old["sKey"]}], "pending_operations": [pending("urn:t", "a")]}
    settlement = settle(deployment, lambda profile: api_client)
    resources = settled_export({"deployment": deployment}, settlement)["deployment"]["resources"]
    assert [(r["id"], r.get("delete", False)) for r in resources] == [(old["sKey"], True), (new["sKey"], False)]
    assert "delete" not in deployment["resources"][0]  # the input export is left as it was
