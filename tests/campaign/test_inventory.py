"""`rr-pulumi inventory` through the real CLI: three projects share one emulator account (one file backend), with the
same names in each; one object is managed by nobody (made with the API, as a person with `curl` does), one is
adopted by two stacks. The inventory reports exactly those two, reads every stack without its passphrase, and
changes nothing in the backend.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import requests

from campaign_helpers import write_project
from rr_pulumi.engine.stack import LocalStack

PLATFORM = """
from rr_pulumi import Client, Target
shared = Client("shared", client_name="shared")
api = Target("api", client_id=shared.id, target_name="api", target_base_url="https://platform.example.com",
             target_region="us-east-1")
import pulumi
pulumi.export("client_id", shared.id)
pulumi.export("target_id", api.id)
"""

TEAM_A = """
from rr_pulumi import Client, Rule, Target
shared = Client.get("shared", "{client_id}")
api = Target("api", client_id=shared.id, target_name="api", target_base_url="https://team-a.example.com",
             target_region="us-east-1")
Rule("no-deletes", client_id=shared.id, target_id=api.id, effect="deny", priority=10, methods=["DELETE"])
import pulumi
pulumi.export("target_id", api.id)
"""

TEAM_B = """
from rr_pulumi import Client, Target
shared = Client.get("shared", "{client_id}")
Target.get("team-a-api", "{team_a_target}", client_id=shared.id)   # a lookup: a reference, no claim
Target("api", client_id=shared.id, target_name="api", target_base_url="https://platform.example.com",
       target_region="us-east-1", adopt_id="{platform_target}")   # the platform's target: claimed twice
"""


def stack(folder: Path, project: str, program: str, name: str, backend: Path, url: str, token: str) -> LocalStack:
    created = LocalStack(write_project(folder / project, program, project), stack=name, backend_dir=backend).init()
    created.set_config("requestrocket:apiUrl", url)
    created.set_config("requestrocket:token", token, secret=True)
    return created


def inventory(cwd: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "rr-pulumi"
    return subprocess.run([str(script), "inventory", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def backend_files(backend: Path) -> dict[str, bytes]:
    """The diy backend's own files: stacks, their history and backups, and locks (`.pulumi/`; not PULUMI_HOME)."""
    store = backend / ".pulumi"
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()}


def test_inventory_reports_the_unmanaged_object_and_the_doubly_claimed_one_and_nothing_else(
        tmp_path, emulator, account_token):
    backend, url = tmp_path / "state", emulator.url
    platform = stack(tmp_path, "platform", PLATFORM, "prod", backend, url, account_token)
    platform.up()
    made = platform.outputs()
    team_a = stack(tmp_path, "team-a", TEAM_A.format(**made), "dev", backend, url, account_token)
    team_a.up()
    team_b = stack(tmp_path, "team-b", TEAM_B.format(client_id=made["client_id"], platform_target=made["target_id"],
                                                     team_a_target=team_a.outputs()["target_id"]),
                   "dev", backend, url, account_token)
    team_b.up()
    curl = requests.post(f"{url}/api/clients/{made['client_id']}/targets", headers={"Authorization": account_token},
                         json={"targetName": "api", "targetBaseURL": "https://curl.example.com",
                               "targetRegion": "us-east-1"}, timeout=30)
    assert curl.status_code == 201, curl.text
    by_hand = curl.json()["targets"][0]["sKey"]

    # As a scheduled job runs it: the backend and the account's token, no stack's passphrase, outside any project.
    env = {k: v for k, v in platform.env.items() if not k.startswith("PULUMI_CONFIG_PASSPHRASE")}
    env.update(REQUESTROCKET_API_URL=url, REQUESTROCKET_TOKEN=account_token)
    before = backend_files(backend)
    done = inventory(tmp_path, env, "--json")
    assert backend_files(backend) == before, "the inventory changed the backend (a lock, a checkpoint, a backup)"
    assert done.returncode == 1, done.stdout + done.stderr
    assert account_token not in done.stdout + done.stderr
    report = json.loads(done.stdout)

    assert report["unmanaged"] == [by_hand]
    assert report["claimed_by_several"] == [made["target_id"]]
    owners = {o["id"]: sorted(c["stack"] for c in o["managed_by"]) for o in report["objects"]}
    assert owners == {
        made["client_id"]: ["organization/platform/prod"],
        made["target_id"]: ["organization/platform/prod", "organization/team-b/dev"],
        team_a.outputs()["target_id"]: ["organization/team-a/dev"],
        by_hand: [],
        **{o["id"]: ["organization/team-a/dev"] for o in report["objects"] if o["kind"] == "Rule"},
    }
    assert [o["kind"] for o in report["objects"]].count("Rule") == 1
    stacks = {s["stack"]: (s["lookups"], s["api_urls"], s["not_in_account"]) for s in report["stacks"]}
    assert stacks == {"organization/platform/prod": (0, [url], []), "organization/team-a/dev": (1, [url], []),
                      "organization/team-b/dev": (2, [url], [])}

    text = inventory(tmp_path, env)
    assert text.returncode == 1, text.stderr
    print(text.stdout)
    findings = [line for line in text.stdout.splitlines() if line.startswith("  [")]
    assert len(findings) == 2, text.stdout
    assert f"  [managed by no stack] target {by_hand} \"api\" in client {made['client_id']}" in findings
    assert any(line.startswith(f"  [claimed by several stacks] target {made['target_id']}") for line in findings)

    # Once team-b lets go of the platform's target and the hand-made one is gone, the account is clean: exit 0.
    team_b.run("state", "delete", "--yes", next(r["urn"] for r in team_b.resources()
                                                 if r["id"] == made["target_id"]))
    requests.delete(f"{url}/api/clients/{made['client_id']}/targets/{by_hand}",
                    headers={"Authorization": account_token}, timeout=30).raise_for_status()
    clean = inventory(tmp_path, env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Every object is managed by exactly one stack." in clean.stdout

    for each in (team_b, team_a, platform):
        each.destroy()


def test_inventory_that_cannot_read_the_account_exits_2_with_one_line(tmp_path, emulator, account_token):
    backend = tmp_path / "state"
    stack(tmp_path, "platform", PLATFORM, "prod", backend, emulator.url, account_token)
    env = {**os.environ, **LocalStack(tmp_path, backend_dir=backend).env,
           "REQUESTROCKET_API_URL": emulator.url, "REQUESTROCKET_TOKEN": "u-not-a-token"}
    done = inventory(tmp_path, env, "--json")
    assert done.returncode == 2, done.stdout + done.stderr
    assert json.loads(done.stdout)["clean"] is None
    assert len(done.stderr.strip().splitlines()) == 1 and "COULD NOT TAKE the inventory" in done.stderr
