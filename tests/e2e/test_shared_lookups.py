"""Lookups across projects on one account, through the real CLI: a lookup is a reference, not a resource to reconcile.

Project `team-a` creates a client, its credentials, a target and a proxy with a rule. Project `team-b` (its own
folder, the same stack name, the same backend and emulator account, the same resource names) looks them up with
`.get` by literal id and declares its own rules under A's proxy and target and its own target in A's client. Then:
B's `up` writes only B's objects; every `preview --expect-no-changes` passes (the lookups' ids and outputs are known
at preview, so nothing under them is planned for replacement); `rr-pulumi drift` exits 0 on both stacks, B's drift
never lists A's objects, and A's drift lists B's objects under its parents as not managed by A, never as drift unless
asked (`--fail-on-unmanaged`). A lookup of an id that does not exist fails the preview in one line, before any write.
"""

from __future__ import annotations

import json

import pytest
from e2e_helpers import rr_pulumi

WRITES = ("POST", "PUT", "PATCH", "DELETE")

TEAM_A = """
import pulumi
from rr_pulumi import ApiKeySecret, BearerSecret, Client, Credential, Proxy, Rule, Target
org = Client("org", client_name="shared-org")
callers = Credential("callers", client_id=org, credential_name="callers", credential_type="proxy",
                     credential_region="us-east-1", credential_secret=ApiKeySecret(api_key="team-a-caller-key"))
upstream = Credential("upstream", client_id=org, credential_name="upstream", credential_type="target",
                      credential_region="us-east-1", credential_secret=BearerSecret(token="team-a-upstream"))
api = Target("api", client_id=org, target_name="api", target_base_url="https://api.example.com",
             target_region="us-east-1")
gw = Proxy("gw", client_id=org, proxy_name="gw", proxy_region="us-east-1", proxy_credential_id=callers,
           target_id=api, target_credential_id=upstream)
Rule("no-deletes", client_id=org, proxy_id=gw, effect="deny", priority=900, methods=["DELETE"])
pulumi.export("client_id", org.id)
pulumi.export("target_id", api.id)
pulumi.export("proxy_id", gw.id)
"""

TEAM_B = """
import pulumi
from rr_pulumi import Client, Proxy, Rule, Target
org = Client.get("org", "{client_id}")
gw = Proxy.get("gw", "{proxy_id}", client_id=org)
api = Target.get("api", "{target_id}", client_id=org)
Rule("no-puts", client_id=org, proxy_id=gw, effect="deny", priority=500, methods=["PUT"])
Rule("no-patches", client_id=gw.client_id, target_id=api, effect="deny", priority=501, methods=["PATCH"])
Target("b-api", client_id=org, target_name="api", target_base_url="https://b.example.com", target_region="us-east-1")
pulumi.export("proxy_name", gw.proxy_name)
"""


def writes(emulator) -> dict[str, int]:
    """Write requests the emulator has served, by method and route."""
    return {f"{method} {route}": count for route, methods in emulator.stats()["routes"].items()
            for method, count in methods.items() if method in WRITES}


def new_writes(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def drift(stack, *extra: str) -> tuple[int, dict]:
    result = rr_pulumi(stack, "drift", "--stack", stack.stack, "--json", *extra)
    return result.returncode, json.loads(result.stdout)


def managed(stack) -> set[str]:
    from rr_pulumi.provider.stack_claims import managed_ids

    return set(managed_ids(stack.export()))


@pytest.fixture
def team_a(rr_stack):
    stack = rr_stack(TEAM_A, name="team-a")
    stack.up()
    yield stack
    stack.destroy(check=False)


def test_a_second_project_looks_up_and_builds_under_the_first(team_a, rr_stack, emulator, api):
    a = team_a.outputs()
    b = rr_stack(TEAM_B.format(**a), name="team-b")
    try:
        before = writes(emulator)
        b.up()
        # Only B's own objects were written: two rules and one target (a POST each), nothing of A's.
        written = new_writes(before, writes(emulator))
        assert sum(written.values()) == 3 and all(k.startswith("POST ") for k in written), written
        assert b.outputs()["proxy_name"] == "gw"

        # The lookups' ids and outputs are known at preview: nothing under them is planned for replacement.
        before = writes(emulator)
        preview = b.preview("--expect-no-changes", "--diff", check=False)
        assert preview.code == 0, preview.output[-3000:]
        assert "[unknown]" not in preview.output
        assert team_a.preview("--expect-no-changes", check=False).code == 0

        # What each stack manages: its own objects, never the lookups.
        a_ids, b_ids = managed(team_a), managed(b)
        assert {a["client_id"], a["proxy_id"], a["target_id"]} <= a_ids
        assert not a_ids & b_ids and len(b_ids) == 3
        b_state = b.export()["deployment"]["resources"]
        lookups = {r["id"] for r in b_state if r.get("external")}
        assert lookups == {a["client_id"], a["proxy_id"], a["target_id"]}

        # Drift: no difference on either stack. B lists nothing under A's objects; A lists B's three objects under
        # its parents as not managed by A (information), and counts them as drift only when asked to.
        code, report = drift(b)
        assert (code, report["drift"], report["differences"], report["not_managed"]) == (0, False, [], []), report
        code, report = drift(team_a)
        assert (code, report["drift"], report["differences"]) == (0, False, []), report
        assert {d["id"] for d in report["not_managed"]} == b_ids
        assert {d["kind"] for d in report["not_managed"]} == {"unmanaged object added"}
        text = rr_pulumi(team_a, "drift", "--stack", "test")
        assert text.returncode == 0 and text.stdout.startswith("No drift: stack 'test'"), text.stdout
        assert "Not managed by this stack, and not counted as drift: 3 objects" in text.stdout
        code, report = drift(team_a, "--fail-on-unmanaged")
        assert code == 1 and {d["id"] for d in report["differences"]} == b_ids
        assert writes(emulator) == before  # previews and drift checks wrote nothing

        # B's destroy deletes B's objects only; A's are untouched and A sees no drift.
        b.destroy()
        for path in (f"/clients/{a['client_id']}/proxies/{a['proxy_id']}",
                     f"/clients/{a['client_id']}/targets/{a['target_id']}"):
            assert api.get(api.base + path).status_code == 200
        code, report = drift(team_a)
        assert (code, report["differences"], report["not_managed"]) == (0, [], [])
    finally:
        b.destroy(check=False)


MISSING = """
from rr_pulumi import Rule, Target
api = Target.get("api", "{target_id}", client_id="{client_id}")
Rule("no-puts", client_id="{client_id}", target_id=api, effect="deny", priority=500, methods=["PUT"])
"""


def diagnostic(output: str, heading: str) -> list[str]:
    """The lines of one resource's diagnostic, in the engine's Diagnostics section."""
    lines = output.split("Diagnostics:", 1)[-1].splitlines()
    start = [line.strip() for line in lines].index(heading) + 1
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    return [line.strip() for line in lines[start:end]]


def test_a_lookup_of_a_missing_id_fails_the_preview_in_one_line_and_writes_nothing(team_a, rr_stack, emulator,
                                                                                   toolchain):
    a = team_a.outputs()
    stack = rr_stack(MISSING.format(client_id=a["client_id"], target_id="no-such-target"), name="team-c")
    expected = (f"Target.get: no target 'no-such-target' in client '{a['client_id']}': pass the id of an existing "
                "target (a lookup only reads; it never creates one)")
    before = writes(emulator)
    for run in (stack.preview, stack.up):
        result = run(check=False)
        assert result.code != 0
        assert diagnostic(result.output, "pulumi-python:dynamic/requestrocket:Target (api):") == [
            f"error: {'Preview failed: ' * (run == stack.preview)}{expected}"], result.output[-3000:]
        if (toolchain.folder / "rr-pulumi-python-module").is_file():
            # rr-pulumi's language host adds nothing to the engine's line. Pulumi's own host reports the failed read
            # again as "Program failed with an unhandled exception" and a traceback, as it does for any failed `get`.
            assert "Traceback" not in result.output
    assert writes(emulator) == before
    assert not [r for r in stack.resources() if r["type"].endswith(":Rule")]


def test_drift_flags_reach_the_preview_and_temporary_credentials_are_listed(team_a, emulator, api):
    """--api-url/--token are what the preview reads with too (the stack's own settings are wrong here); a temporary
    oauth2 credential (listed by the API only with includeTemporary=true) is seen under a managed client."""
    a = team_a.outputs()
    created = api.post(api.base + f"/clients/{a['client_id']}/credentials", json={
        "credentialName": "pending-oauth", "credentialType": "target", "credentialAuthType": "oauth2",
        "credentialRegion": "us-east-1",
        "credentialSecret": {"grantType": "authorization_code", "clientId": "cid", "clientSecret": "oauth-secret-1",
                             "tokenUrl": "https://idp.example.com/token",
                             "authorizationUrl": "https://idp.example.com/authorize"}})
    created.raise_for_status()
    temporary = created.json()["credentials"][0]["sKey"]
    team_a.set_config("requestrocket:apiUrl", "http://127.0.0.1:9")  # nothing listens there
    team_a.set_config("requestrocket:token", "u-not-the-token", secret=True)
    token = emulator.token("e2e")
    result = rr_pulumi(team_a, "drift", "--stack", "test", "--json", "--api-url", emulator.url, "--token", token)
    report = json.loads(result.stdout)
    assert (result.returncode, report["differences"]) == (0, []), result.stdout + result.stderr
    assert [d["id"] for d in report["not_managed"]] == [temporary]
    assert "oauth-secret-1" not in result.stdout + result.stderr
    team_a.set_config("requestrocket:apiUrl", emulator.url)  # so that the fixture's destroy works
    team_a.set_config("requestrocket:token", token, secret=True)
