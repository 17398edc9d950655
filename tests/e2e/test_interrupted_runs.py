"""`pulumi` SIGKILLed mid-`up`: after `python -m rr_pulumi.recovery` (which also lifts the dead CLI's lock),
`pulumi refresh` and `pulumi up`, the account holds exactly the declared objects: no orphan, no duplicate.

The plugins (language host, provider) are left running for a moment after the CLI dies, as they are when only the
CLI is killed, so creates already sent land in the API without reaching the state: the case recovery exists for.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

PROGRAM = """
from rr_pulumi import ApiKeySecret, Client, Credential, Target
org = Client("org", client_name="interrupted-org")
for i in range(5):
    Target(f"t{i}", client_id=org.id, target_name=f"upstream-{i}", target_base_url="https://up.example.com",
           target_region="us-east-1")
    Credential(f"c{i}", client_id=org.id, credential_name=f"callers-{i}", credential_type="proxy",
               credential_region="us-east-1", credential_secret=ApiKeySecret(api_key=f"k-interrupted-{i}"))
"""


def listed(api, path):
    return api.get(api.base + path, params={"limit": 100}).json()


def account(api):
    """(kind, name, id) of every object under the test's client(s)."""
    found = []
    for client in listed(api, "/clients")["clients"]:
        if client["clientName"] != "interrupted-org":
            continue
        found.append(("client", client["clientName"], client["clientId"]))
        for target in listed(api, f"/clients/{client['clientId']}/targets")["targets"]:
            found.append(("target", target["targetName"], target["sKey"]))
        for credential in listed(api, f"/clients/{client['clientId']}/credentials")["credentials"]:
            found.append(("credential", credential["credentialName"], credential["sKey"]))
    return found


def two_created(lines: list[str]) -> bool:
    return sum(("Target" in ln or "Credential" in ln) and " created" in ln for ln in lines) >= 2


def replacing(lines: list[str]) -> bool:
    return any("creating replacement" in ln for ln in lines)


def kill_mid_up(stack, ready=two_created, delay: float = 0.0) -> str:
    """Start `pulumi up`, SIGKILL it `delay` s after `ready(lines so far)`, then (2 s later) its leftover plugins."""
    proc = subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--stack", stack.stack],
        cwd=stack.project_dir, env=stack.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    lines = []
    deadline = time.monotonic() + 240
    for line in proc.stdout:
        lines.append(line)
        if ready(lines):
            time.sleep(delay)  # the step is shown before its pending operation is saved and the request sent
            break
        assert time.monotonic() < deadline, "up never got going"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(2)  # creates in flight land in the API, but never in the state
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the plugins this `up` started
    except ProcessLookupError:
        pass
    proc.stdout.close()
    return "".join(lines)


def run_recovery(stack):
    """`python -m rr_pulumi.recovery` as a user runs it; it must succeed."""
    recovery = subprocess.run(
        [sys.executable, "-m", "rr_pulumi.recovery", "--stack", stack.stack],
        cwd=stack.project_dir, env=stack.env, capture_output=True, text=True, timeout=300,
    )
    print(recovery.stdout)
    assert recovery.returncode == 0, recovery.stdout + recovery.stderr
    return recovery


def test_killed_up_converges_after_recovery_with_no_orphan_and_no_duplicate(rr_stack, emulator, api):
    stack = rr_stack(PROGRAM)
    emulator.set_faults("latency=700,jitter=300", seed=3)  # slow creates, so the kill lands mid-flight
    try:
        kill_mid_up(stack)
    finally:
        emulator.set_faults("")
    try:
        recovery = run_recovery(stack)
        assert "adopting" in recovery.stdout, "no create had reached the API before the kill:\n" + recovery.stdout
        assert not stack.export()["deployment"].get("pending_operations")

        stack.refresh()
        stack.up()
        stack.preview("--expect-no-changes")

        live = account(api)
        names = Counter((kind, name) for kind, name, _ in live)
        assert [k for k, n in names.items() if n > 1] == [], "duplicates\n" + recovery.stdout
        assert len(live) == 11
        tracked = {r["id"] for r in stack.resources()}
        assert {id_ for _, _, id_ in live} == tracked, "orphans or lost objects"
        stack.destroy()
        assert account(api) == []
    finally:
        stack.run("cancel", "--yes", "--stack", stack.stack, check=False)
        stack.destroy(check=False)


def test_killed_replacement_converges_after_recovery(rr_stack, emulator, api):
    """Killed while replacing (create before delete): the new object is adopted, the old one deleted by the next up."""
    program = PROGRAM.replace("interrupted-org", "interrupted-replace").replace("range(5)", "range(2)")
    stack = rr_stack(program)
    stack.up()
    replaced = program.replace('target_base_url="https://up.example.com",\n           target_region="us-east-1"',
                               'target_base_url="https://up.example.com",\n           target_region="eu-west-1"')
    assert replaced != program
    (stack.project_dir / "__main__.py").write_text(replaced)
    emulator.set_faults("latency=700,jitter=300", seed=5)
    try:
        kill_mid_up(stack, ready=replacing, delay=0.4)  # creates take 0.7-1 s: still in flight
    finally:
        emulator.set_faults("")
    try:
        recovery = run_recovery(stack)
        assert "adopting" in recovery.stdout, "no replacement had reached the API before the kill"
        stack.refresh()
        stack.up()
        stack.preview("--expect-no-changes")
        client_id = next(c["clientId"] for c in listed(api, "/clients")["clients"]
                         if c["clientName"] == "interrupted-replace")
        targets = listed(api, f"/clients/{client_id}/targets")["targets"]
        assert sorted((t["targetName"], t["targetRegion"]) for t in targets) == [
            ("upstream-0", "eu-west-1"), ("upstream-1", "eu-west-1")]
        assert {t["sKey"] for t in targets} <= {r["id"] for r in stack.resources()}
    finally:
        stack.run("cancel", "--yes", "--stack", stack.stack, check=False)
        stack.destroy(check=False)
