"""Settling pending creates after an interrupted `up`: adopt what reached the API, drop what did not."""

import base64
import pickle

from rr_pulumi.client import collection
from rr_pulumi.provider.target import TargetProvider
import json
import os
import socket

from rr_pulumi.recovery import file_locks, provider_of, repair_file_backend, settle, settled_export

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


def test_only_locks_of_dead_local_processes_are_stale(tmp_path):
    locks = tmp_path / ".pulumi" / "locks" / "organization" / "proj" / "dev"
    locks.mkdir(parents=True)
    lock = locks / "a.json"
    lock.write_text(json.dumps({"pid": 2**22 + 12345, "hostname": socket.gethostname()}))
    assert file_locks(tmp_path.as_uri(), "dev").stale == [str(lock)]
    assert file_locks(tmp_path.as_uri(), "prod").stale == []  # another stack's lock is not this stack's business
    lock.write_text(json.dumps({"pid": os.getpid(), "hostname": socket.gethostname()}))
    verdict = file_locks(tmp_path.as_uri(), "dev")
    assert verdict.stale == [] and f"running `pulumi` (pid {os.getpid()})" in verdict.held
    lock.write_text(json.dumps({"pid": 2**22 + 12345, "hostname": "another-machine"}))
    assert "another machine, 'another-machine'" in file_locks(tmp_path.as_uri(), "dev").held
    assert file_locks("s3://bucket", "dev").stale == [] and file_locks("s3://bucket", "dev").held is None


class FakePulumi:
    """`pulumi` in a file backend, as recovery drives it: records each command it is asked to run."""

    def __init__(self, backend: str):
        self.backend, self.stack, self.ran = backend, None, []

    def whoami(self):
        return {"url": self.backend}

    def stack_name(self):
        return "dev"

    def run(self, *args):
        self.ran.append(args)

    def json(self, *args):
        return {"deployment": {"resources": []}}


def test_a_dead_pulumi_s_lock_is_lifted_and_the_output_says_it_was(tmp_path, capsys):
    from rr_pulumi.recovery import recover

    locks = tmp_path / ".pulumi" / "locks" / "organization" / "proj" / "dev"
    locks.mkdir(parents=True)
    (locks / "a.json").write_text(json.dumps({"pid": 2**22 + 12345, "hostname": socket.gethostname()}))
    pulumi = FakePulumi(tmp_path.as_uri())
    assert recover(pulumi, dry_run=True) == 0 and pulumi.ran == []
    assert capsys.readouterr().out.splitlines()[0] == (
        "the stack is locked by a `pulumi` that is no longer running: would run `pulumi cancel --yes`")
    assert recover(pulumi) == 0 and pulumi.ran == [("cancel", "--yes")]
    assert capsys.readouterr().out.splitlines()[0] == (
        "the stack was locked by a `pulumi` that is no longer running: ran `pulumi cancel --yes`")
