"""Recovery settles a pending create only with proof (`rr_pulumi.api.ownership`): never an object another stack of the
backend tracks, never one older than the interrupted create, never one of several; those stay pending, named, with
the command that settles them by hand (`rr-pulumi recover --adopt URN=ID` / `--drop URN`)."""

import pytest

from rr_pulumi.provider.stack_claims import backend_claims
from rr_pulumi.tools.recovery import (
    ByHand,
    RecoveryError,
    parse_by_hand,
    pending_creates,
    settle,
    settle_by_hand_text,
    settled_export,
)

from .test_recovery import TARGETS, pending

URN = "urn:pulumi:dev::proj::pulumi-python:dynamic/requestrocket:Target::api"


def recorded_at(op, when):
    op["resource"]["created"] = when
    return op


def test_a_same_named_object_another_stack_tracks_is_never_adopted(fake_api, api_client):
    theirs = fake_api.put(TARGETS, {"targetName": "api"})  # another project's stack created it
    deployment = {"resources": [], "pending_operations": [pending(URN, "api")]}
    settlement = settle(deployment, lambda p: api_client, managed_elsewhere={theirs["sKey"]})
    assert settlement.adopted == [] and settlement.not_created == [URN]


def test_an_untracked_object_older_than_the_interrupted_create_is_never_adopted(fake_api, api_client):
    fake_api.put(TARGETS, {"targetName": "api", "targetCreatedAt": "2026-01-01T10:00:00.000Z"})  # someone's, by curl
    op = recorded_at(pending(URN, "api"), "2026-01-01T11:00:00.000000000Z")
    settlement = settle({"resources": [], "pending_operations": [op]}, lambda p: api_client)
    assert settlement.adopted == [] and settlement.not_created == [URN]


def test_the_one_new_untracked_match_is_adopted(fake_api, api_client):
    theirs = fake_api.put(TARGETS, {"targetName": "api"})
    ours = fake_api.put(TARGETS, {"targetName": "api"})
    settlement = settle({"resources": [], "pending_operations": [pending(URN, "api")]}, lambda p: api_client,
                        managed_elsewhere={theirs["sKey"]})
    assert settlement.adopted == [(URN, ours["sKey"])]


def test_several_candidates_stay_pending_and_are_named_with_the_settling_command(fake_api, api_client):
    one, two = fake_api.put(TARGETS, {"targetName": "api"}), fake_api.put(TARGETS, {"targetName": "api"})
    deployment = {"resources": [], "pending_operations": [pending(URN, "api")]}
    settlement = settle(deployment, lambda p: api_client)
    ids = tuple(sorted([one["sKey"], two["sKey"]]))
    assert settlement.adopted == [] and settlement.unsettled == [(URN, ids)]
    kept = settled_export({"deployment": deployment}, settlement)["deployment"]
    assert kept["pending_operations"] == deployment["pending_operations"] and kept["resources"] == []
    text = settle_by_hand_text(URN, ids)
    assert "\n" not in text and f"({ids[0]}, {ids[1]})" in text
    assert f"`rr-pulumi recover --adopt {URN}={ids[0]}`" in text and f"`rr-pulumi recover --drop {URN}`" in text


def test_by_hand_adopt_takes_the_named_object(fake_api, api_client):
    fake_api.put(TARGETS, {"targetName": "api"})
    two = fake_api.put(TARGETS, {"targetName": "api"})
    settlement = settle({"resources": [], "pending_operations": [pending(URN, "api")]}, lambda p: api_client,
                        by_hand=parse_by_hand([f"{URN}={two['sKey']}"], []))
    assert settlement.adopted == [(URN, two["sKey"])] and settlement.unsettled == []


def test_by_hand_adopt_refuses_what_another_stack_tracks_or_what_does_not_match(fake_api, api_client):
    theirs = fake_api.put(TARGETS, {"targetName": "api"})
    other = fake_api.put(TARGETS, {"targetName": "other"})
    deployment = {"resources": [], "pending_operations": [pending(URN, "api")]}
    with pytest.raises(RecoveryError, match="is already tracked by a stack"):
        settle(deployment, lambda p: api_client, managed_elsewhere={theirs["sKey"]},
               by_hand=ByHand(adopt={URN: theirs["sKey"]}))
    with pytest.raises(RecoveryError, match="no object .* matching this resource is listed"):
        settle(deployment, lambda p: api_client, by_hand=ByHand(adopt={URN: other["sKey"]}))
    with pytest.raises(RecoveryError, match="is not a pending create of this stack"):
        settle(deployment, lambda p: api_client, by_hand=ByHand(drop={"urn:nope"}))


def test_by_hand_drop_drops(fake_api, api_client):
    fake_api.put(TARGETS, {"targetName": "api"})
    fake_api.put(TARGETS, {"targetName": "api"})
    deployment = {"resources": [], "pending_operations": [pending(URN, "api")]}
    settlement = settle(deployment, lambda p: api_client, by_hand=parse_by_hand([], [URN]))
    assert settlement.dropped == [URN]
    assert settled_export({"deployment": deployment}, settlement)["deployment"]["pending_operations"] == []


def test_backend_claims_reads_every_other_stack_and_names_the_unreadable():
    exports = {"organization/other/dev": {"deployment": {"resources": [{"urn": "u", "id": "t-9"}, {"urn": "s"}]}}}

    def run(args):
        if args[:2] == ["stack", "ls"]:
            return [{"name": "dev"}, {"name": "organization/other/dev"}, {"name": "organization/other/prod"}]
        return exports.get(args[-1])

    found = backend_claims(run, skip=["dev"])
    assert found.ids == {"t-9"} and found.unreadable == ["organization/other/prod"]
    assert backend_claims(lambda args: None).unreadable == ["the list of stacks"]


def test_an_untracked_same_named_object_with_other_values_is_never_adopted(fake_api, api_client):
    other = fake_api.put(TARGETS, {"targetName": "api", "targetBaseURL": "https://someone-else.example.com"})
    settlement = settle({"resources": [], "pending_operations": [pending(URN, "api")]}, lambda p: api_client)
    assert settlement.adopted == [] and settlement.unsettled == [(URN, (other["sKey"],))]  # named, for the user


def test_a_pending_credential_with_its_secret_encrypted_in_the_export_is_settled(fake_api, api_client):
    import base64
    import pickle

    from rr_pulumi.provider.credential import CredentialProvider

    credentials = "/api/clients/c1/credentials"
    ours = fake_api.put(credentials, {"credentialName": "callers", "credentialType": "proxy",
                                      "credentialAuthType": "apiKey", "credentialRegion": "us-east-1"})
    inputs = {"__provider": base64.b64encode(pickle.dumps(CredentialProvider())).decode(), "client_id": "c1",
              "credential_name": "callers", "credential_type": "proxy", "credential_auth_type": "apiKey",
              "credential_region": "us-east-1",
              "credential_secret": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                                    "ciphertext": "v1:abc"}}  # as `pulumi stack export` shows a secret
    op = {"type": "creating", "resource": {"urn": URN, "inputs": inputs}}
    settlement = settle({"resources": [], "pending_operations": [op]}, lambda p: api_client)
    assert settlement.adopted == [(URN, ours["sKey"])]


def test_with_a_stack_of_the_backend_unreadable_the_one_match_is_not_adopted(fake_api, api_client):
    # An unreadable stack may track the one same-named object with the same values (stacks built from one program):
    # as adoption by name refuses, so recovery leaves the create pending, naming the id, for `--adopt` or `--drop`.
    theirs = fake_api.put(TARGETS, {"targetName": "api"})
    deployment = {"resources": [], "pending_operations": [pending(URN, "api")]}
    settlement = settle(deployment, lambda p: api_client, every_stack_read=False)
    assert settlement.adopted == [] and settlement.unsettled == [(URN, (theirs["sKey"],))]
    assert settle(deployment, lambda p: api_client, every_stack_read=False,
                  by_hand=parse_by_hand([f"{URN}={theirs['sKey']}"], [])).adopted == [(URN, theirs["sKey"])]


@pytest.mark.parametrize("recorded", ["2026-01-01T11:00:00.12345Z", "2026-01-01T11:00:00.123456789Z",
                                      "2026-01-01T11:00:00.1+00:00", "2026-01-01T11:00:00Z"])
def test_the_engine_s_time_is_read_in_every_go_form(fake_api, api_client, recorded):
    # Go writes RFC 3339 with up to nine fraction digits, trailing zeros cut; Python 3.10's fromisoformat reads only
    # three or six, so there the age test was silently skipped and an object older than the create was adopted.
    fake_api.put(TARGETS, {"targetName": "api", "targetCreatedAt": "2026-01-01T10:00:00.000Z"})
    op = recorded_at(pending(URN, "api"), recorded)
    assert pending_creates({"pending_operations": [op]})[0].recorded is not None
    settlement = settle({"resources": [], "pending_operations": [op]}, lambda p: api_client)
    assert settlement.adopted == [] and settlement.not_created == [URN]
