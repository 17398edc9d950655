"""rr_pulumi.tools.inventory's decisions: which ids a stack manages, and what counts as a finding."""
import json

from rr_pulumi.tools import inventory
from rr_pulumi.provider import stack_claims
from rr_pulumi.tools.inventory import AccountObject, Inventory

TYPE = "pulumi-python:dynamic/requestrocket:"


def resource(kind, id_, name, **extra):
    return {"type": TYPE + kind, "id": id_, "urn": f"urn:pulumi:dev::p::{TYPE}{kind}::{name}", **extra}


def test_a_stack_manages_what_it_created_or_adopted_never_what_it_looked_up():
    deployment = {"resources": [
        {"type": "pulumi:pulumi:Stack", "urn": "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev"},
        {"type": "pulumi:providers:pulumi-python", "id": "prov-1", "urn": "urn:provider"},
        resource("Client", "c-shared", "shared", external=True),  # Client.get: a reference
        resource("Target", "t-mine", "api"),
        resource("Target", "t-old", "api", delete=True),  # the old half of a replacement: still ours to delete
        resource("Rule", "r-1", "deny"),
        resource("ProxyActivation", "p-1", "switch"),  # a switch on a proxy, not an object
        resource("Credential", "", "pending"),  # no id: never created
    ]}
    assert sorted(stack_claims.managed_ids(deployment)) == ["r-1", "t-mine", "t-old"]
    assert inventory.lookup_count(deployment) == 1
    # what adoption by name and recovery must not take: everything the state names, its lookups included
    assert stack_claims.claimed_ids(deployment) == {"prov-1", "c-shared", "t-mine", "t-old", "r-1", "p-1"}


def test_findings_are_objects_with_no_manager_and_objects_with_two_stacks_only():
    objects = [AccountObject("Client", "c", "shared", "c"), AccountObject("Target", "mine", "api", "c"),
               AccountObject("Target", "twice", "api", "c"), AccountObject("Target", "nobody's", "api", "c")]
    summaries = inventory.attribute(objects, {
        "o/a/dev": {"c": "urn:c", "mine": "urn:mine", "twice": "urn:a-twice", "gone": "urn:gone"},
        "o/b/dev": {"twice": "urn:b-twice"},
        "o/b/prod": {"elsewhere": "urn:x"},  # another account's stack: it claims nothing here
    })
    found = Inventory("http://api", summaries, objects).findings
    assert [(f.kind, f.object.id) for f in found] == [(inventory.CLAIMED_TWICE, "twice"),
                                                      (inventory.UNMANAGED, "nobody's")]
    assert {s.stack: (s.claims, s.not_in_account) for s in summaries} == {
        "o/a/dev": (3, ["gone"]), "o/b/dev": (1, []), "o/b/prod": (0, ["elsewhere"])}


def test_names_from_the_api_are_printed_as_data():
    hostile = 'x"\n  [managed by no stack] forged\x1b[2J'
    objects = [AccountObject("Client", "c", hostile, "c")]
    text = inventory.render(Inventory("http://api", inventory.attribute(objects, {"o/a/dev": {"c": "u"}}), objects))
    assert "\n  [managed by no stack] forged" not in text and "\x1b" not in text
    assert json.loads(inventory.render_json(Inventory("http://api", [], objects)))["objects"][0]["name"] == hostile


def test_the_api_urls_a_stack_was_configured_with_are_read_from_its_providers_inputs():
    deployment = {"resources": [
        {"type": "pulumi:providers:pulumi-python", "inputs": {
            "requestrocket:apiUrl": "http://emulator:8765/",
            "requestrocket:token": {"ciphertext": "v1:..."},
            "requestrocket:profiles": json.dumps({"eu": {"apiUrl": "https://eu.example.com", "tokenEnv": "EU"}})}},
        resource("Client", "c", "org", inputs={"requestrocket:apiUrl": "http://not-a-provider"}),
    ]}
    assert inventory.recorded_api_urls(deployment) == ["http://emulator:8765", "https://eu.example.com"]
    assert inventory.recorded_api_urls({"resources": [{"type": "pulumi:providers:pulumi-python"}]}) == []


def test_a_stack_that_cannot_be_read_fails_the_inventory_naming_it():
    from rr_pulumi.tools.pulumi_cli import PulumiFailed

    class Backend:
        def json(self, *args, stack=True):
            if args[:2] == ("stack", "ls"):
                return [{"name": "organization/a/dev"}, {"name": "organization/b/dev"}]
            if args[-1] == "organization/b/dev":
                raise PulumiFailed("the checkpoint is corrupt")
            return {"deployment": {"resources": [resource("Target", "t-1", "api")]}}

    assert inventory.read_stacks(Backend(), ["organization/a/dev"])["organization/a/dev"].managed == {
        "t-1": f"urn:pulumi:dev::p::{TYPE}Target::api"}
    try:
        inventory.read_stacks(Backend())
    except PulumiFailed as exc:
        assert str(exc) == "cannot read stack organization/b/dev: the checkpoint is corrupt"
    else:
        raise AssertionError("an unreadable stack was taken as managing nothing")


def test_an_unforeseen_failure_is_exit_2_in_one_line(monkeypatch, capsys):
    """Exit 1 means findings: a traceback's exit 1 would report an account with problems it does not have."""
    from rr_pulumi.tools.cli import main

    def broken(*args, **kwargs):
        raise RuntimeError("no deployment\nmore")

    monkeypatch.setattr(inventory, "take", broken)
    assert main(["inventory", "--json"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out) == {"clean": None, "error": "RuntimeError: no deployment"}
    assert err == "COULD NOT TAKE the inventory: RuntimeError: no deployment\n"
