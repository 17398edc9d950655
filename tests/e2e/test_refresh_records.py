"""What a refresh writes back, and what the adoption markers do after the adoption, through the real CLI.

A refresh gets only the recorded outputs, yet the inputs it returns replace the recorded ones and the engine shows
every difference as `[diff: ...]`. Nothing changed out of band must show nothing, on every kind and with every
marker (a staged proxy, the rotation count of a credential, limits left to the API, an adopted object); a change
must show as that field alone. And an adopted object that must be replaced becomes a new object: the markers act
only at creation, never on the replacement.
"""

from __future__ import annotations

import re

from test_adopt_and_export import snapshot, writes

PROGRAM = """
import pulumi
from rr_pulumi import ApiKeySecret, BearerSecret, Client, Credential, Proxy, Rule, Target

c = pulumi.Config()
region = c.get("region") or "us-east-1"
org = Client("org", client_name="refresh-org", adopt_id=c.require("clientId"))
callers = Credential("callers", client_id=org.id, credential_name="callers", credential_type="proxy",
                     credential_region=region, credential_secret=ApiKeySecret(api_key="refresh-caller-key-01"))
upstream_auth = Credential("upstream-auth", client_id=org.id, credential_name="upstream-auth",
                           credential_type="target", credential_region=region,
                           credential_secret=BearerSecret(token="refresh-upstream-token-01"))
api = Target("api", client_id=org.id, target_name="api", target_base_url="https://api.example.com",
             target_region=region, adopt=True)
gateway = Proxy("gateway", client_id=org.id, proxy_name="gateway", proxy_region=region,
                proxy_credential_id=callers.id, target_id=api.id, target_credential_id=upstream_auth.id)
Rule("no-admin", client_id=org.id, target_id=api.id, effect="deny", priority=int(c.get("priority") or 900),
     path_pattern="^/admin", adopt_id=c.require("ruleId"))
Rule("reads", client_id=org.id, target_id=api.id, effect="allow", priority=10, methods=["GET"], adopt=True)
"""


def build(api) -> dict:
    """A client with a target and two of its rules, made through the API, for the program to adopt."""
    def post(path: str, body: dict) -> dict:
        response = api.post(api.base + path, json=body)
        response.raise_for_status()
        return next(v for v in response.json().values() if isinstance(v, list))[0]

    client_id = post("/clients", {"clientName": "refresh-org"})["clientId"]
    target = post(f"/clients/{client_id}/targets", {"targetName": "api", "targetBaseURL": "https://api.example.com",
                                                     "targetRegion": "us-east-1"})
    rules = f"/clients/{client_id}/targets/{target['sKey']}/rules"
    rule = post(rules, {"effect": "deny", "priority": 900, "pathPattern": "^/admin"})
    post(rules, {"effect": "allow", "priority": 10, "methods": ["GET"]})
    return {"client_id": client_id, "target_id": target["sKey"], "rule_id": rule["sKey"]}


def refresh_diffs(output: str) -> dict[str, str]:
    """The `[diff: ...]` of each resource's refresh line: {resource name: changed keys}."""
    return dict(re.findall(r"requestrocket:\w+ (\S+) refresh.*?\[diff: ([^\]]*)\]", output))


def test_a_refresh_shows_only_what_changed_out_of_band(rr_stack, api, emulator):
    org = build(api)
    stack = rr_stack(PROGRAM)
    stack.set_config("clientId", org["client_id"])
    stack.set_config("ruleId", org["rule_id"])
    stack.up()

    for _ in range(2):  # and again after a refresh wrote the inputs back
        refreshed = stack.preview("--refresh", "--expect-no-changes")
        assert refresh_diffs(refreshed.output) == {}, refreshed.output
        stack.refresh("--yes")

    moved = api.put(api.base + f"/clients/{org['client_id']}/targets/{org['target_id']}",
                    json={"targetBaseURL": "https://moved.example.com"})
    moved.raise_for_status()
    drifted = stack.preview("--refresh", check=False)
    assert refresh_diffs(drifted.output) == {"api": "~target_base_url"}, drifted.output
    assert re.search(r"Target api update \[diff: ~target_base_url\]", drifted.output), drifted.output
    stack.up("--refresh")
    assert refresh_diffs(stack.preview("--refresh", "--expect-no-changes").output) == {}

    # A proxy's URL is an output of the data-plane setting: a new setting is an update of the proxy, made without
    # a request, and the next preview is empty.
    data_plane = f"{emulator.url}/dataplane"  # docs/emulator.md, "The data plane"
    stack.set_config("requestrocket:dataPlaneUrl", data_plane)
    written = writes(emulator)
    assert re.search(r"Proxy gateway update", stack.preview().output)
    stack.up()
    [proxy] = [r for r in stack.resources() if r["type"].endswith(":Proxy")]
    assert proxy["outputs"]["url"] == f"{data_plane}/api/{proxy['id']}"
    assert writes(emulator) == written
    stack.preview("--refresh", "--expect-no-changes")
    stack.destroy()


def test_an_adopted_object_that_must_be_replaced_becomes_a_new_object(rr_stack, api):
    org = build(api)
    stack = rr_stack(PROGRAM)
    stack.set_config("clientId", org["client_id"])
    stack.set_config("ruleId", org["rule_id"])
    stack.up()
    rules = f"targets/{org['target_id']}/rules/"
    assert f"{rules}{org['rule_id']}" in snapshot(api, org["client_id"])

    # A rule cannot be updated: a new priority replaces the rule adopted by its id.
    stack.set_config("priority", "950")
    stack.up()
    live = snapshot(api, org["client_id"])
    priorities = sorted(item["priority"] for key, item in live.items() if key.startswith(rules))
    assert f"{rules}{org['rule_id']}" not in live and priorities == [10, 950], live

    # A new region replaces everything but the client: the target adopted by its name, and both its rules.
    stack.set_config("region", "eu-west-1")
    stack.up()
    live = snapshot(api, org["client_id"])
    targets = [item for key, item in live.items() if key.startswith("targets/") and "/rules/" not in key]
    assert [(t["targetName"], t["targetRegion"]) for t in targets] == [("api", "eu-west-1")], targets
    [new_target] = targets
    priorities = sorted(item["priority"] for key, item in live.items()
                        if key.startswith(f"targets/{new_target['sKey']}/rules/"))
    assert priorities == [10, 950], live
    stack.preview("--refresh", "--expect-no-changes")
    stack.destroy()
