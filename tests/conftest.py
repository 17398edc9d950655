"""Session-wide guard: the test run fails if a process it started is still running at its end: the `pulumi` CLI,
a language host, the Python program or dynamic provider or policy pack the engine runs, or an emulator.

Every process the suite starts inherits RR_PULUMI_TEST_SESSION (set before pytest-xdist starts its workers), so
the check finds them by that mark in /proc even after they were orphaned, and never touches anyone else's. The
controller checks once, after every worker has finished.
"""
from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from leftovers import command_line, is_watched   # tests/leftovers.py: which processes the guard watches

SESSION_MARK = "RR_PULUMI_TEST_SESSION"
# Processes already killed need a moment to leave the process table.
GRACE_SECONDS = float(os.environ.get("RR_PULUMI_LEFTOVER_GRACE", "10"))


# CI's stand-in for Pulumi's toolchain serves a project's dynamic providers as Pulumi's own launcher does
# (`python -m pulumi.dynamic`, its 4-thread server), unless the project has rr-pulumi's project plugin (the e2e
# fixtures' rr_provider=True asks for rr-pulumi's server, as `rr-pulumi new`'s projects get under any pulumi).
# Export RR_PULUMI_PROVIDER_SERVER=rr-pulumi to run the whole suite with rr-pulumi's server instead.
PROVIDER_SERVER_ENV = "RR_PULUMI_PROVIDER_SERVER"


def pytest_configure(config):
    os.environ.setdefault(SESSION_MARK, uuid.uuid4().hex)
    os.environ.setdefault(PROVIDER_SERVER_ENV, "pulumi")


def _process(pid_dir: Path) -> tuple[dict[str, str], list[str]] | None:
    """(environment, argv) of a process, or None when it is gone or not ours to read."""
    try:
        environ = (pid_dir / "environ").read_bytes().split(b"\0")
        argv = command_line(pid_dir.name)
    except OSError:
        return None
    env = dict(e.decode(errors="replace").partition("=")[::2] for e in environ if b"=" in e)
    return env, argv


def leftover_processes(mark: str) -> dict[int, str]:
    """pid -> command line of every watched process carrying this session's mark."""
    found = {}
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) == os.getpid():
            continue
        process = _process(pid_dir)
        if process and process[0].get(SESSION_MARK) == mark and is_watched(process[1]):
            found[int(pid_dir.name)] = " ".join(process[1])
    return found


def wait_for_leftovers(mark: str, grace: float) -> dict[int, str]:
    """The leftovers still there once the grace period is over (or none, as soon as there are none)."""
    deadline = time.monotonic() + grace
    while (found := leftover_processes(mark)) and time.monotonic() < deadline:
        time.sleep(0.2)   # polling the process table: there is nothing to wait on for processes we do not own
    return found


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput") or not Path("/proc").is_dir():
        return   # an xdist worker (the controller checks once for all), or no /proc to read
    leftovers = wait_for_leftovers(os.environ[SESSION_MARK], GRACE_SECONDS)
    if not leftovers:
        return
    for pid in leftovers:
        try:
            os.kill(pid, signal.SIGKILL)   # clean up, but still fail: a test leaked them
        except OSError:
            pass
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"{len(leftovers)} process(es) started by the tests were still running (now killed):"]
    lines += [f"  {pid}: {command}" for pid, command in sorted(leftovers.items())]
    if reporter is not None:
        reporter.write_line("\n".join(lines), red=True, bold=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
