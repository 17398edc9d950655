"""A create proves what it made, through the real CLI: two projects (alpha, beta) in one backend, on one emulator
account and one shared client, each with a target named "api". Beta talks to the emulator through a fault front
(`fault_front.py`) that fails exactly beta's POST of its target: before it applies, after it applies, or held while
`pulumi` is killed. Beta must never write to, adopt or delete alpha's target; it adopts exactly its own object
when its POST applied, fails in one line naming the candidates when two appear, and `rr-pulumi recover` settles a
killed `up` without taking alpha's target."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid

import pytest

from e2e_helpers import every_item, rr_pulumi
from fault_front import FaultFront

ALPHA = """
import pulumi
from rr_pulumi import Client, Target
org = Client("org", client_name="{org}")
api = Target("api", client_id=org.id, target_name="api", target_base_url="https://alpha.example.com",
             target_region="us-east-1")
pulumi.export("client_id", org.id)
pulumi.export("target_id", api.id)
"""

BETA = """
import pulumi
from rr_pulumi import Target
api = Target("api", client_id="{client_id}", target_name="api", target_base_url="https://beta.example.com",
             target_region="us-east-1")
pulumi.export("target_id", api.id)
"""


@pytest.fixture
def front(emulator):
    front = FaultFront(emulator.url)
    yield front
    front.close()


@pytest.fixture
def alpha(rr_stack):
    stack = rr_stack(ALPHA.format(org=f"shared-{uuid.uuid4().hex[:8]}"), name="alpha")
    stack.up()
    yield stack
    stack.destroy(check=False)


@pytest.fixture
def beta(rr_stack, alpha, front):
    stack = rr_stack(BETA.format(client_id=alpha.outputs()["client_id"]), name="beta")
    stack.set_config("requestrocket:apiUrl", front.url)
    yield stack
    front.release()
    stack.destroy(check=False)


def targets(api, alpha) -> dict[str, dict]:
    return {t["sKey"]: t for t in every_item(api, f"/clients/{alpha.outputs()['client_id']}/targets", "targets")}


def beta_ids(beta) -> set[str]:
    return {r["id"] for r in beta.resources() if r.get("id")}


def assert_alpha_untouched(api, alpha, front):
    theirs = alpha.outputs()["target_id"]
    assert targets(api, alpha)[theirs]["targetUpdatedAt"] == targets(api, alpha)[theirs]["targetCreatedAt"]
    assert not [w for w in front.writes() if theirs in w[1]], "beta wrote to alpha's target"
    alpha.preview("--expect-no-changes")


def test_a_500_before_the_post_applied_never_takes_over_the_other_projects_target(api, alpha, beta, front):
    armed = front.arm("POST", "/targets", "500-before")
    beta.up()  # the POST is proven not applied (nothing new in the list), so it is sent again
    assert armed.fired.is_set()
    ours = beta.outputs()["target_id"]
    assert ours != alpha.outputs()["target_id"]
    live = targets(api, alpha)
    assert sorted(t["targetName"] for t in live.values()) == ["api", "api"]
    assert live[ours]["targetBaseURL"] == "https://beta.example.com"
    assert [m for m, _ in front.writes()] == ["POST", "POST"]
    beta.preview("--expect-no-changes")
    assert_alpha_untouched(api, alpha, front)
    beta.destroy()
    assert list(targets(api, alpha)) == [alpha.outputs()["target_id"]]  # beta deleted only its own
    assert_alpha_untouched(api, alpha, front)


def test_a_500_after_the_post_applied_adopts_exactly_its_own_object(api, alpha, beta, front):
    armed = front.arm("POST", "/targets", "500-after")
    beta.up()
    assert armed.fired.is_set()
    ours = beta.outputs()["target_id"]
    live = targets(api, alpha)
    assert len(live) == 2 and ours in live and ours != alpha.outputs()["target_id"]  # no duplicate, not theirs
    assert live[ours]["targetBaseURL"] == "https://beta.example.com"
    assert [m for m, _ in front.writes()] == ["POST"]  # never sent twice
    beta.preview("--expect-no-changes")
    assert_alpha_untouched(api, alpha, front)


def test_two_same_named_objects_appearing_fail_in_one_line_naming_both(api, alpha, beta, front):
    client_id = alpha.outputs()["client_id"]
    body = {"targetName": "api", "targetBaseURL": "https://beta.example.com", "targetRegion": "us-east-1"}
    racer = {}
    front.arm("POST", "/targets", "500-after",  # someone else creates an identical target at that very moment
              after_forward=lambda: racer.update(api.post(api.base + f"/clients/{client_id}/targets",
                                                          json=body).json()["targets"][0]))
    result = beta.up(check=False)
    assert result.code != 0
    new = sorted(set(targets(api, alpha)) - {alpha.outputs()["target_id"]})
    assert len(new) == 2 and racer["sKey"] in new
    line = next(ln for ln in result.output.splitlines() if "new targets matching it appeared" in ln)
    assert f"({new[0]}, {new[1]})" in line and alpha.outputs()["target_id"] not in line
    assert 'declare adopt_id="<that id>"' in line
    assert beta_ids(beta) == set()  # nothing taken over
    assert_alpha_untouched(api, alpha, front)
    for id_ in new:  # the test's own leftovers (beta never deletes what it cannot prove is its own)
        api.delete(api.base + f"/clients/{client_id}/targets/{id_}")


def kill_up_while_held(beta, front) -> None:
    """`pulumi up` of beta, SIGKILLed (with its plugins) while the front holds its target's POST."""
    from test_interrupted_runs import descendants, kill_all

    proc = subprocess.Popen(["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--stack", beta.stack],
                            cwd=beta.project_dir, env=beta.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    plugins: list[int] = []
    try:
        assert front.held.wait(300), "the POST never reached the front"
        plugins = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            plugins += descendants(proc.pid)
            proc.kill()
        kill_all(plugins)
        proc.wait()
        front.release()


@pytest.mark.parametrize("mode", ["hold-before", "hold-after"])
def test_recovery_after_a_killed_up_never_adopts_the_other_projects_target(api, alpha, beta, front, mode):
    # Beta declares a target identical to alpha's in every value: only the backend's stacks tell them apart.
    program = beta.project_dir / "__main__.py"
    program.write_text(program.read_text().replace("https://beta.example.com", "https://alpha.example.com"))
    front.arm("POST", "/targets", mode)
    kill_up_while_held(beta, front)
    pending = [op for op in beta.export()["deployment"].get("pending_operations") or []]
    assert [op["type"] for op in pending] == ["creating"]
    print("pending create as the checkpoint records it:", {k: v for k, v in pending[0]["resource"].items()
                                                           if k not in ("inputs", "outputs")})
    done = rr_pulumi(beta, "recover")
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    theirs = alpha.outputs()["target_id"]
    assert theirs not in done.stdout + done.stderr and theirs not in beta_ids(beta)
    assert not beta.export()["deployment"].get("pending_operations")
    if mode == "hold-before":
        assert "never created, dropping the pending create" in done.stdout
        assert list(targets(api, alpha)) == [theirs]
    else:
        (ours,) = set(targets(api, alpha)) - {theirs}
        assert "adopting: " in done.stdout and ours in done.stdout and beta_ids(beta) == {ours}
    beta.refresh()
    beta.up()
    live = targets(api, alpha)
    assert len(live) == 2 and beta_ids(beta) == set(live) - {theirs}  # one each, each its own
    beta.preview("--expect-no-changes")
    assert_alpha_untouched(api, alpha, front)


def test_destroying_a_shared_client_never_deletes_the_other_projects_objects_under_it(api, alpha, beta):
    beta.set_config("requestrocket:apiUrl", alpha.run("config", "get", "requestrocket:apiUrl").stdout.strip())
    beta.up()
    ours, client_id = beta.outputs()["target_id"], alpha.outputs()["client_id"]
    result = alpha.destroy(check=False)  # alpha's target goes first; its client would take beta's target along
    assert result.code != 0
    line = next(ln for ln in result.output.splitlines() if "cannot delete client" in ln)
    assert f"this stack does not manage (target {ours})" in line
    assert ours in targets(api, alpha) and list(targets(api, alpha)) == [ours]
    beta.destroy()
    alpha.destroy()
    assert api.get(api.base + f"/clients/{client_id}").status_code == 404


def test_adopting_by_name_a_target_the_other_project_manages_is_refused(api, alpha, rr_stack):
    program = BETA.format(client_id=alpha.outputs()["client_id"]).replace(
        'target_region="us-east-1")', 'target_region="us-east-1", adopt=True)')
    stack = rr_stack(program, name="gamma")
    try:
        result = stack.up(check=False)
        assert result.code != 0
        theirs = alpha.outputs()["target_id"]
        line = next(ln for ln in result.output.splitlines() if "cannot adopt target" in ln)
        assert f"{theirs} is managed by a stack of this backend; remove adopt=True to create a new one" in line
        assert {r.get("id") for r in stack.resources()} == {None} or stack.resources() == []
        assert targets(api, alpha)[theirs]["targetBaseURL"] == "https://alpha.example.com"
        alpha.preview("--expect-no-changes")
    finally:
        stack.destroy(check=False)


def test_recovery_with_two_candidates_leaves_the_create_pending_until_settled_by_hand(api, alpha, beta, front):
    client_id = alpha.outputs()["client_id"]
    body = {"targetName": "api", "targetBaseURL": "https://beta.example.com", "targetRegion": "us-east-1"}
    front.arm("POST", "/targets", "hold-after",  # applied, and someone else made an identical target meanwhile
              after_forward=lambda: api.post(api.base + f"/clients/{client_id}/targets", json=body))
    kill_up_while_held(beta, front)
    theirs = alpha.outputs()["target_id"]
    new = sorted(set(targets(api, alpha)) - {theirs})
    assert len(new) == 2
    done = rr_pulumi(beta, "recover")
    assert done.returncode == 1, done.stdout + done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if "cannot prove which object" in ln]
    urn = next(op["resource"]["urn"] for op in beta.export()["deployment"]["pending_operations"])
    assert f"2 candidates ({new[0]}, {new[1]})" in line and theirs not in line
    assert f"`rr-pulumi recover --adopt {urn}={new[0]}`" in line and f"`rr-pulumi recover --drop {urn}`" in line
    refused = rr_pulumi(beta, "recover", "--adopt", f"{urn}={theirs}")  # alpha's: tracked by a stack
    assert refused.returncode == 1 and "is already tracked by a stack; nothing was changed" in refused.stderr
    ours = new[0]  # the user checks which one is theirs; here either is beta's to take
    settled = rr_pulumi(beta, "recover", "--adopt", f"{urn}={ours}")
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert beta_ids(beta) == {ours} and not beta.export()["deployment"].get("pending_operations")
    beta.refresh()
    beta.preview("--expect-no-changes")
    api.delete(api.base + f"/clients/{client_id}/targets/{new[1]}")  # the test's own leftover
    assert_alpha_untouched(api, alpha, front)
