"""`rr-pulumi recover` and file-backend locks: only this project's stack is judged, and a lock is lifted only when
its `pulumi` is provably dead (recorded in this PID namespace by the provider, and ended)."""

from __future__ import annotations

import json
import socket
import subprocess
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from rr_pulumi.provider import pulumi_runs
from rr_pulumi.tools.recovery import file_locks, recover

A, B = "organization/alpha/dev", "organization/beta/dev"


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def pulumi_process():
    """A process standing in for a `pulumi` CLI (killed at the end if still running)."""
    proc = subprocess.Popen(["sleep", "300"])
    yield proc
    proc.kill()
    proc.wait()


def now(offset: float = 0.0) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def write_lock(backend, stack, pid, hostname=None, timestamp=None, name="lock1.json"):
    folder = backend.joinpath(".pulumi", "locks", *stack.split("/"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps({"pid": pid, "username": "me", "hostname": hostname or socket.gethostname(),
                                "timestamp": timestamp or now()}))
    return path


def test_a_recorded_pulumi_s_lock_is_live_while_it_runs_and_stale_once_it_ended(tmp_path, pulumi_process):
    lock = write_lock(tmp_path, A, pulumi_process.pid)  # the CLI locks the stack, then starts the provider
    assert pulumi_runs.record(pulumi_process.pid) is not None
    verdict = file_locks(tmp_path.as_uri(), A)
    assert verdict.stale == [] and f"running `pulumi` (pid {pulumi_process.pid}): let it finish" in verdict.held
    pulumi_process.kill()
    pulumi_process.wait()
    assert file_locks(tmp_path.as_uri(), A) == file_locks(tmp_path.as_uri(), A)
    assert file_locks(tmp_path.as_uri(), A).stale == [str(lock)]


def test_a_dead_pid_alone_proves_nothing(tmp_path, pulumi_process):
    pid = pulumi_process.pid
    pulumi_process.kill()
    pulumi_process.wait()
    write_lock(tmp_path, A, pid)  # same hostname, no such pid here: maybe another container's live pulumi
    verdict = file_locks(tmp_path.as_uri(), A)
    assert verdict.stale == [] and verdict.unproven and "its end cannot be proven" in verdict.held
    assert "a container that shares the hostname" in verdict.held


def test_a_record_proves_only_a_lock_taken_while_that_process_ran(tmp_path, pulumi_process):
    pulumi_runs.record(pulumi_process.pid)
    pulumi_process.kill()
    pulumi_process.wait()
    write_lock(tmp_path, A, pulumi_process.pid, timestamp=now(3600))  # the pid, reused later (elsewhere)
    assert file_locks(tmp_path.as_uri(), A).unproven
    write_lock(tmp_path, A, pulumi_process.pid, hostname="other-host")
    verdict = file_locks(tmp_path.as_uri(), A)
    assert verdict.unproven and "another machine or container, 'other-host'" in verdict.held


def test_a_record_from_another_pid_namespace_proves_nothing(tmp_path, pulumi_process):
    path = pulumi_runs.record(pulumi_process.pid)
    run = json.loads(path.read_text())
    path.write_text(json.dumps({**run, "pidNamespace": "pid:[1]"}))
    pulumi_process.kill()
    pulumi_process.wait()
    write_lock(tmp_path, A, pulumi_process.pid, timestamp=now(-1))
    assert file_locks(tmp_path.as_uri(), A).unproven


def test_another_project_s_stack_of_the_same_name_is_not_judged(tmp_path, pulumi_process):
    dead = subprocess.Popen(["true"])
    dead.wait()
    write_lock(tmp_path, B, pulumi_process.pid, name="live.json")  # beta/dev: held by a live pulumi
    write_lock(tmp_path, B, dead.pid, name="dead.json")  # and one left by a dead one
    write_lock(tmp_path, "dev", dead.pid)  # a legacy (not project-scoped) stack named dev
    assert file_locks(tmp_path.as_uri(), A) == file_locks(tmp_path.as_uri(), "organization/alpha/prod")
    assert file_locks(tmp_path.as_uri(), A).stale == [] and file_locks(tmp_path.as_uri(), A).held is None
    assert file_locks(tmp_path.as_uri(), B).held and file_locks(tmp_path.as_uri(), "dev").held
    assert file_locks(tmp_path.as_uri(), "organization/../x").stale == []  # never outside the backend's locks
    assert file_locks("s3://bucket", A).stale == [] and file_locks("s3://bucket", A).held is None


class FakePulumi:
    """`pulumi` in a file backend, as recovery drives it: records each command it is asked to run."""

    def __init__(self, backend: str, cwd="."):
        self.backend, self.stack, self.ran, self.cwd = backend, None, [], cwd

    def whoami(self):
        return {"url": self.backend}

    def stack_name(self):
        return "dev"

    def run(self, *args):
        self.ran.append(args)
        return SimpleNamespace(stdout=A + "\n")

    def json(self, *args):
        return {"deployment": {"resources": []}}


def test_recover_lifts_only_a_provably_dead_lock_and_says_so(tmp_path, capsys, pulumi_process):
    write_lock(tmp_path, A, pulumi_process.pid)
    pulumi_runs.record(pulumi_process.pid)
    pulumi_process.kill()
    pulumi_process.wait()
    pulumi = FakePulumi(tmp_path.as_uri())
    assert recover(pulumi, dry_run=True) == 0 and ("cancel", "--yes") not in pulumi.ran
    assert capsys.readouterr().out.splitlines()[0] == (
        "the stack is locked by a `pulumi` that is no longer running: would run `pulumi cancel --yes`")
    assert recover(pulumi) == 0 and ("cancel", "--yes") in pulumi.ran
    assert capsys.readouterr().out.splitlines()[0] == (
        "the stack was locked by a `pulumi` that is no longer running: ran `pulumi cancel --yes`")


def test_recover_stops_at_an_unproven_lock_and_prints_the_command_to_lift_it(tmp_path, capsys):
    dead = subprocess.Popen(["true"])
    dead.wait()
    write_lock(tmp_path, A, dead.pid)
    write_lock(tmp_path, B, dead.pid)
    pulumi = FakePulumi(tmp_path.as_uri(), cwd=tmp_path / "my project")
    assert recover(pulumi) == 1 and ("cancel", "--yes") not in pulumi.ran
    err = capsys.readouterr().err
    assert f"locked by `pulumi` (pid {dead.pid}) on {socket.gethostname()!r} since" in err
    assert "nothing was changed" in err
    assert err.rstrip().splitlines()[-1] == (
        f"  pulumi cancel --yes --stack {A} --cwd '{tmp_path / 'my project'}'")
