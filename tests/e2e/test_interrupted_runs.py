"""`pulumi` SIGKILLed mid-`up`: after the README's recovery line (`rr-pulumi recover`, which also lifts the dead
CLI's lock, then `pulumi refresh` and `pulumi up`), the account holds exactly the declared objects: no orphan, no
duplicate; once for each way of choosing the backend (`pulumi login`, PULUMI_BACKEND_URL, `backend.url` in
Pulumi.yaml).

The CLI is killed while a create is in flight (the emulator has received it and not answered yet); the test waits
until the emulator has answered every request it received, so creates already sent land in the API without
reaching the state, the case recovery exists for; then any plugin still running is killed. Every wait is on an
observable event (a line of output, the emulator's request counters), never a sleep.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Callable

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
PROGRAM = """
from rr_pulumi import ApiKeySecret, Client, Credential, Target
org = Client("org", client_name="interrupted-org")
for i in range(5):
    Target(f"t{i}", client_id=org.id, target_name=f"upstream-{i}", target_base_url="https://up.example.com",
           target_region="us-east-1")
    Credential(f"c{i}", client_id=org.id, credential_name=f"callers-{i}", credential_type="proxy",
               credential_region="us-east-1", credential_secret=ApiKeySecret(api_key=f"k-interrupted-{i}"))
"""


def recovery_line() -> str:
    """The README's recovery command line, as written."""
    line = next(ln for ln in README.read_text().splitlines() if "# after an interrupted `pulumi up`" in ln)
    return line.split("#", 1)[0].strip()


def listed(api, path):
    return api.get(api.base + path, params={"limit": 100}).json()


def account(api, client_name):
    """(kind, name, id) of every object under the test's client(s)."""
    found = []
    for client in listed(api, "/clients")["clients"]:
        if client["clientName"] != client_name:
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


def in_flight(emulator) -> int:
    """Contract requests the emulator has received but not yet answered."""
    stats = emulator.stats()
    return stats["total"] - sum(stats["statuses"].values())


def posts(emulator) -> int:
    """POSTs the emulator has received (a create lists its collection first, then posts)."""
    return sum(methods.get("POST", 0) for methods in emulator.stats()["routes"].values())


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)  # a polling interval, not a guess at how long something takes


def descendants(pid: int) -> list[int]:
    """Every process started (directly or not) by `pid`: the plugins of a `pulumi` run, which start their own
    process groups, so killing the CLI's group does not reach them (Linux: reads /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            child, parent = int(stat.parent.name), int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def kill_mid_up(stack, emulator, ready=two_created) -> str:
    """Start `pulumi up`; once `ready(lines so far)` and a request is in flight, SIGKILL the CLI; once the emulator
    has answered every request it received, kill whatever plugin of that `up` is still running."""
    proc = subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--stack", stack.stack],
        cwd=stack.project_dir, env=stack.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    plugins: list[int] = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if ready(lines):
                break
        assert ready(lines), "up ended before it got going:\n" + "".join(lines)
        sent = posts(emulator)  # the next POST received is in flight (the emulator answers it 0.7-1 s later)
        wait_for(lambda: posts(emulator) > sent and in_flight(emulator) > 0, "a create in flight")
        plugins = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        wait_for(lambda: in_flight(emulator) == 0, "the creates in flight to land")
    finally:
        if proc.poll() is None:  # failed before the kill
            plugins += descendants(proc.pid)
            proc.kill()
        kill_all(plugins)  # its language host and provider: nothing of this `up` survives the test
        proc.wait()
        proc.stdout.close()
    return "".join(lines)


def recover(stack) -> subprocess.CompletedProcess:
    """The README's recovery line, run as a user runs it in the project folder; it must succeed."""
    env = {**stack.env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{stack.env['PATH']}"}
    done = subprocess.run(["sh", "-c", recovery_line()], cwd=stack.project_dir, env=env, capture_output=True,
                          text=True, timeout=600)
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def choose_backend(stack, how: str) -> None:
    """Make the stack's backend come from `pulumi login`, PULUMI_BACKEND_URL or Pulumi.yaml's `backend.url`."""
    if how == "env":
        return
    url = stack.env.pop("PULUMI_BACKEND_URL")
    if how == "login":
        stack.run("login", url)  # into the stack's PULUMI_HOME (credentials.json)
    else:
        project = stack.project_dir / "Pulumi.yaml"
        project.write_text(project.read_text() + f"backend:\n  url: {url}\n")
    assert stack.run("whoami", "--json").stdout.count(url) == 1


@pytest.mark.parametrize("backend", ["login", "env", "project"])
def test_killed_up_converges_after_the_readme_recovery_line(rr_stack, emulator, api, backend):
    name = f"interrupted-{backend}-{uuid.uuid4().hex[:6]}"
    stack = rr_stack(PROGRAM.replace("interrupted-org", name))
    choose_backend(stack, backend)
    emulator.set_faults("latency=700,jitter=300", seed=3)  # slow creates, so the kill lands mid-flight
    try:
        kill_mid_up(stack, emulator)
    finally:
        emulator.set_faults("")
    try:
        done = recover(stack)
        assert "adopting" in done.stdout, "no create had reached the API before the kill:\n" + done.stdout
        assert "no longer running: ran `pulumi cancel --yes`" in done.stdout  # the dead CLI's lock was lifted
        assert not stack.export()["deployment"].get("pending_operations")
        stack.preview("--expect-no-changes")

        live = account(api, name)
        names = Counter((kind, object_name) for kind, object_name, _ in live)
        assert [k for k, n in names.items() if n > 1] == [], "duplicates\n" + done.stdout
        assert len(live) == 11
        tracked = {r["id"] for r in stack.resources()}
        assert {id_ for _, _, id_ in live} == tracked, "orphans or lost objects"
        stack.destroy()
        assert account(api, name) == []
    finally:
        stack.destroy(check=False)


def test_killed_replacement_converges_after_recovery(rr_stack, emulator, api):
    """Killed while replacing (create before delete): the new object is adopted, the old one deleted by the next up."""
    name = f"interrupted-replace-{uuid.uuid4().hex[:6]}"
    program = PROGRAM.replace("interrupted-org", name).replace("range(5)", "range(2)")
    stack = rr_stack(program)
    stack.up()
    replaced = program.replace('target_base_url="https://up.example.com",\n           target_region="us-east-1"',
                               'target_base_url="https://up.example.com",\n           target_region="eu-west-1"')
    assert replaced != program
    (stack.project_dir / "__main__.py").write_text(replaced)
    emulator.set_faults("latency=700,jitter=300", seed=5)
    try:
        kill_mid_up(stack, emulator, ready=replacing)  # killed while the replacement's create is in flight
    finally:
        emulator.set_faults("")
    try:
        done = recover(stack)
        assert "adopting" in done.stdout, "no replacement had reached the API before the kill"
        stack.preview("--expect-no-changes")
        client_id = next(c["clientId"] for c in listed(api, "/clients")["clients"] if c["clientName"] == name)
        targets = listed(api, f"/clients/{client_id}/targets")["targets"]
        assert sorted((t["targetName"], t["targetRegion"]) for t in targets) == [
            ("upstream-0", "eu-west-1"), ("upstream-1", "eu-west-1")]
        assert {t["sKey"] for t in targets} <= {r["id"] for r in stack.resources()}
    finally:
        stack.destroy(check=False)


def test_a_lock_held_by_a_live_pulumi_is_never_lifted(rr_stack):
    """Recovery stops, changing nothing, while another `pulumi` really works on the stack."""
    stack = rr_stack(PROGRAM.replace("interrupted-org", f"locked-{uuid.uuid4().hex[:6]}").replace("range(5)",
                                                                                                  "range(1)"))
    proc = subprocess.Popen(["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--stack", stack.stack],
                            cwd=stack.project_dir, env=stack.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        locks = Path(stack.env["PULUMI_BACKEND_URL"].removeprefix("file://")) / ".pulumi" / "locks"
        wait_for(lambda: any(locks.rglob("*.json")), "the running `up` to take its lock")
        os.kill(proc.pid, signal.SIGSTOP)  # alive but paused: the lock stays held while recovery looks at it
        script = Path(sys.executable).parent / "rr-pulumi"
        done = subprocess.run([str(script), "recover"], cwd=stack.project_dir, env=stack.env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"locked by a running `pulumi` (pid {proc.pid}): let it finish; nothing was changed" in done.stderr
        assert any(locks.rglob("*.json"))
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        assert proc.wait(timeout=300) == 0  # the `up` whose lock was left alone finishes normally
        stack.destroy(check=False)
