"""Each resource's life through the real `pulumi` CLI against the emulator.

The steps, per resource: create; `preview --expect-no-changes`; update in place; replace on an immutable change
(and the old object is gone from the API); an out-of-band change seen by `refresh` and undone by `up`; an
out-of-band deletion dropped by `refresh` and recreated by `up`; `destroy` leaves nothing in the emulator.
The programs read their variable parts from stack config, so a step is `set_config` + a CLI verb.
"""

from __future__ import annotations

import pytest

from e2e_helpers import every_item

PROGRAM = """
import pulumi
from rr_pulumi import ApiKeySecret, BearerSecret, Client, Credential, Proxy, Rule, Target

c = pulumi.Config()
region = c.get("region") or "us-east-1"
org = Client("org", client_name=c.get("clientName") or "e2e-org")
callers = Credential("callers", client_id=org.id, credential_name=c.get("callersName") or "callers",
                     credential_type="proxy", credential_region=region,
                     credential_secret=ApiKeySecret(api_key=c.require_secret("apiKey")))
upstream_auth = Credential("upstream-auth", client_id=org.id, credential_name="upstream-auth",
                           credential_type="target", credential_region=region,
                           credential_secret=BearerSecret(token=c.require_secret("upstreamToken")))
upstream = Target("upstream", client_id=org.id, target_name=c.get("targetName") or "upstream",
                  target_base_url=c.get("baseUrl") or "https://upstream.example.com", target_region=region)
gateway = Proxy("gateway", client_id=org.id, proxy_name="gateway", proxy_region=region,
                proxy_credential_id=callers.id, target_id=upstream.id, target_credential_id=upstream_auth.id,
                proxy_max_requests_per_minute=c.get_int("rpm") or 100)
no_deletes = Rule("no-deletes", client_id=org.id, proxy_id=gateway.id, effect="deny",
                  priority=c.get_int("priority") or 900, methods=["DELETE"])
pulumi.export("client_id", org.id)
pulumi.export("callers_id", callers.id)
pulumi.export("upstream_auth_id", upstream_auth.id)
pulumi.export("target_id", upstream.id)
pulumi.export("proxy_id", gateway.id)
pulumi.export("proxy_url", gateway.url)
pulumi.export("rule_id", no_deletes.id)
"""


def items(api, path: str, plural: str) -> list[dict]:
    return every_item(api, path, plural)


def live(api, outs: dict, kind: str) -> dict | None:
    """The live object of one kind from the emulator, or None."""
    cid = outs["client_id"]
    if kind == "client":
        found = [i for i in items(api, "/clients", "clients") if i["clientId"] == cid]
    elif kind == "rule":
        found = [i for i in items(api, f"/clients/{cid}/proxies/{outs['proxy_id']}/rules", "rules")
                 if i.get("sKey") == outs["rule_id"]]
    else:
        plural, key = {"callers": ("credentials", "callers_id"), "upstream_auth": ("credentials", "upstream_auth_id"),
                       "target": ("targets", "target_id"), "proxy": ("proxies", "proxy_id")}[kind]
        found = [i for i in items(api, f"/clients/{cid}/{plural}", plural) if i.get("sKey") == outs[key]]
    return found[0] if found else None


@pytest.fixture
def org_stack(rr_stack):
    stack = rr_stack(PROGRAM)
    stack.set_config("apiKey", "e2e-proxy-key-0001", secret=True)
    stack.set_config("upstreamToken", "e2e-upstream-token-0001", secret=True)
    stack.up()
    yield stack
    stack.destroy(check=False)


def assert_no_changes(stack) -> None:
    stack.preview("--expect-no-changes")


def assert_destroy_leaves_nothing(stack, api, outs) -> None:
    stack.destroy()
    assert api.get(api.base + f"/clients/{outs['client_id']}").status_code == 404
    assert stack.resources() == []


def test_client_lifecycle(org_stack, api):
    outs = org_stack.outputs()
    assert live(api, outs, "client")["clientName"] == "e2e-org"
    assert_no_changes(org_stack)

    org_stack.set_config("clientName", "e2e-org-renamed")
    result = org_stack.up()
    assert "updated" in result.output and org_stack.outputs()["client_id"] == outs["client_id"]
    assert live(api, outs, "client")["clientName"] == "e2e-org-renamed"

    api.put(api.base + f"/clients/{outs['client_id']}", json={"clientName": "changed-elsewhere"}).raise_for_status()
    org_stack.refresh()
    assert org_stack.preview("--expect-no-changes", check=False).code != 0  # drift shows
    org_stack.up()
    assert live(api, outs, "client")["clientName"] == "e2e-org-renamed"
    assert_no_changes(org_stack)

    # Deleted out of band (with everything it owns): refresh drops it all, the next up recreates it all.
    path = f"/clients/{outs['client_id']}"
    api.delete(api.base + path, json={"immediatelyDelete": True}).raise_for_status()
    org_stack.refresh()
    assert org_stack.resources() == []
    org_stack.up()
    new = org_stack.outputs()
    assert new["client_id"] != outs["client_id"] and live(api, new, "proxy") is not None
    assert_no_changes(org_stack)
    assert_destroy_leaves_nothing(org_stack, api, new)


def test_credential_lifecycle(org_stack, api):
    outs = org_stack.outputs()
    before = live(api, outs, "callers")
    assert before["credentialType"] == "proxy" and "credentialSecret" not in before
    assert_no_changes(org_stack)

    org_stack.set_config("callersName", "callers-renamed")
    org_stack.up()
    assert live(api, outs, "callers")["credentialName"] == "callers-renamed"

    # Rotation: a new secret is an in-place update that bumps credentialUpdatedAt.
    org_stack.set_config("apiKey", "e2e-proxy-key-0002", secret=True)
    preview = org_stack.preview("--diff")
    assert "credential_secret" in preview.output and "e2e-proxy-key" not in preview.output
    org_stack.up()
    rotated = live(api, outs, "callers")
    assert rotated["sKey"] == before["sKey"] and rotated["credentialUpdatedAt"] > before["credentialUpdatedAt"]
    assert_no_changes(org_stack)

    # Out-of-band rotation: refresh notices the new updatedAt, and the next up sends the declared secret again.
    path = f"/clients/{outs['client_id']}/credentials/{outs['callers_id']}"
    api.put(api.base + path, json={"credentialSecret": {"apiKey": "rotated-elsewhere"}}).raise_for_status()
    org_stack.refresh()
    assert org_stack.preview("--expect-no-changes", check=False).code != 0
    org_stack.up()
    assert_no_changes(org_stack)

    # Region is immutable; the proxy and its parts must share one, so the whole chain is replaced.
    org_stack.set_config("region", "eu-west-1")
    org_stack.up()
    new = org_stack.outputs()
    assert new["callers_id"] != outs["callers_id"]
    assert live(api, outs, "callers") is None  # the old credential is gone from the API
    assert live(api, new, "callers")["credentialRegion"] == "eu-west-1"
    assert_no_changes(org_stack)
    assert_destroy_leaves_nothing(org_stack, api, new)


def test_target_lifecycle(org_stack, api):
    outs = org_stack.outputs()
    assert live(api, outs, "target")["targetDefaultRuleEffect"] == "allow"
    assert_no_changes(org_stack)

    org_stack.set_config("baseUrl", "https://upstream-v2.example.com")
    org_stack.up()
    assert org_stack.outputs()["target_id"] == outs["target_id"]
    assert live(api, outs, "target")["targetBaseURL"] == "https://upstream-v2.example.com"

    path = f"/clients/{outs['client_id']}/targets/{outs['target_id']}"
    api.put(api.base + path, json={"targetDefaultRuleEffect": "deny"}).raise_for_status()
    org_stack.refresh()
    assert org_stack.preview("--expect-no-changes", check=False).code != 0
    org_stack.up()
    assert live(api, outs, "target")["targetDefaultRuleEffect"] == "allow"
    assert_no_changes(org_stack)
    assert_destroy_leaves_nothing(org_stack, api, outs)


def test_proxy_lifecycle(org_stack, api):
    outs = org_stack.outputs()
    proxy = live(api, outs, "proxy")
    assert proxy["proxyMaxRequestsPerMinute"] == 100 and proxy["proxyActive"] is True
    assert outs["proxy_url"].endswith(f"/api/{outs['proxy_id']}")
    assert_no_changes(org_stack)

    org_stack.set_config("rpm", "60")
    org_stack.up()
    assert org_stack.outputs()["proxy_id"] == outs["proxy_id"]
    assert live(api, outs, "proxy")["proxyMaxRequestsPerMinute"] == 60

    path = f"/clients/{outs['client_id']}/proxies/{outs['proxy_id']}"
    api.put(api.base + path, json={"proxyActive": False}).raise_for_status()
    org_stack.refresh()
    assert org_stack.preview("--expect-no-changes", check=False).code != 0
    org_stack.up()
    assert live(api, outs, "proxy")["proxyActive"] is True

    api.delete(api.base + path).raise_for_status()  # out of band (its rules go with it)
    org_stack.refresh()
    org_stack.up()
    new = org_stack.outputs()
    assert new["proxy_id"] != outs["proxy_id"] and live(api, new, "proxy") is not None
    assert live(api, new, "rule") is not None
    assert_no_changes(org_stack)
    assert_destroy_leaves_nothing(org_stack, api, new)


def test_rule_lifecycle(org_stack, api):
    outs = org_stack.outputs()
    rule = live(api, outs, "rule")
    assert rule["effect"] == "deny" and rule["methods"] == ["DELETE"] and rule["priority"] == 900
    assert_no_changes(org_stack)

    org_stack.set_config("priority", "500")  # rules cannot be updated: a replacement
    result = org_stack.up()
    assert "replaced" in result.output
    new = org_stack.outputs()
    assert new["rule_id"] != outs["rule_id"]
    assert live(api, outs, "rule") is None and live(api, new, "rule")["priority"] == 500
    assert_no_changes(org_stack)

    path = f"/clients/{new['client_id']}/proxies/{new['proxy_id']}/rules/{new['rule_id']}"
    api.delete(api.base + path).raise_for_status()
    org_stack.refresh()
    org_stack.up()
    again = org_stack.outputs()
    assert again["rule_id"] != new["rule_id"] and live(api, again, "rule")["priority"] == 500
    assert_no_changes(org_stack)
    assert_destroy_leaves_nothing(org_stack, api, again)
