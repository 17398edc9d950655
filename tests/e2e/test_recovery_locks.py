"""`rr-pulumi recover` on one project's stack beside another project's stack of the same name (`dev`) on one file
backend: the other project's locks, live or dead, neither block recovery nor get lifted; this stack's lock, left by
a killed `pulumi` the provider recorded, is lifted; a lock whose owner cannot be proven dead is left for the user,
with the command to lift it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

from rr_pulumi.engine.stack import LocalStack
from test_interrupted_runs import PROGRAM, kill_mid_up, wait_for

RR_PULUMI = Path(sys.executable).parent / "rr-pulumi"


def dev_stack(make_stack, emulator, project: str, program: str, env: dict) -> LocalStack:
    """Stack `dev` of project `project`, configured for the emulator, in the shared backend."""
    made = make_stack(program, env=env, name=project)
    stack = LocalStack(made.project_dir, stack="dev", backend_dir=made.backend_dir, env=env).init()
    stack.set_config("requestrocket:apiUrl", emulator.url)
    stack.set_config("requestrocket:token", emulator.token("e2e"), secret=True)
    return stack


def locks_of(stack: LocalStack, project: str) -> list[Path]:
    return sorted((stack.backend_dir / ".pulumi" / "locks" / "organization" / project / "dev").glob("*.json"))


def recover(stack: LocalStack) -> subprocess.CompletedProcess:
    return subprocess.run([str(RR_PULUMI), "recover"], cwd=stack.project_dir, env=stack.env, capture_output=True,
                          text=True, timeout=600)


def test_recovery_judges_only_its_own_project_s_lock(make_stack, emulator, tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}  # where the provider records its `pulumi`, for recover
    tag = uuid.uuid4().hex[:6]
    alpha = dev_stack(make_stack, emulator, "alpha", PROGRAM.replace("interrupted-org", f"locks-a-{tag}"), env)
    beta = dev_stack(make_stack, emulator, "beta", PROGRAM.replace("interrupted-org", f"locks-b-{tag}")
                     .replace("range(5)", "range(1)"), env)

    # beta/dev: a live `up` (paused while it holds its lock) and a lock left by a dead process.
    live = subprocess.Popen(["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--stack", "dev"],
                            cwd=beta.project_dir, env=beta.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    ended = subprocess.Popen(["true"])
    ended.wait()
    try:
        wait_for(lambda: bool(locks_of(beta, "beta")), "beta's `up` to take its lock")
        os.kill(live.pid, signal.SIGSTOP)
        dead_lock = locks_of(beta, "beta")[0].with_name("left-by-a-dead-pulumi.json")
        dead_lock.write_text(json.dumps({"pid": ended.pid, "username": "me", "hostname": socket.gethostname(),
                                         "timestamp": datetime.now(timezone.utc).isoformat()}))
        beta_locks = locks_of(beta, "beta")
        assert len(beta_locks) == 2

        # alpha/dev: `up` killed mid-flight leaves its lock and pending creates.
        emulator.set_faults("latency=700,jitter=300", seed=7)
        try:
            kill_mid_up(alpha, emulator)
        finally:
            emulator.set_faults("")
        assert len(locks_of(alpha, "alpha")) == 1

        done = recover(alpha)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "no longer running: ran `pulumi cancel --yes`" in done.stdout
        assert locks_of(alpha, "alpha") == [] and locks_of(beta, "beta") == beta_locks  # beta's untouched
        assert not alpha.export()["deployment"].get("pending_operations")

        # beta's dead process is not provably beta's `pulumi` (nothing recorded it): recover stops and says how.
        os.kill(live.pid, signal.SIGCONT)
        assert live.wait(timeout=600) == 0  # the `up` whose lock was left alone finishes normally
        assert locks_of(beta, "beta") == [dead_lock]
        refused = recover(beta)
        assert refused.returncode == 1 and "its end cannot be proven" in refused.stderr, refused.stderr
        assert refused.stderr.rstrip().splitlines()[-1] == "  pulumi cancel --yes --stack organization/beta/dev"
        assert locks_of(beta, "beta") == [dead_lock]
        dead_lock.unlink()  # the user checked: nothing runs there
    finally:
        if live.poll() is None:
            os.kill(live.pid, signal.SIGCONT)
            live.wait(timeout=600)
        alpha.destroy(check=False)
        beta.destroy(check=False)
