"""When the `pulumi` CLI is killed (SIGKILL, no clean-up), the language host, the program and the dynamic provider
it started end with it instead of serving on for 20 s and more."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leftovers import command_line, is_watched

PROGRAM = """
import os, pathlib, time
import pulumi
from pulumi.dynamic import Resource, ResourceProvider, CreateResult

marks = pathlib.Path(pulumi.Config().require("marks"))
(marks / "program.pid").write_text(str(os.getpid()))

class Slow(ResourceProvider):
    def create(self, props):
        (marks / "provider.pid").write_text(str(os.getpid()))
        time.sleep(600)  # still creating when the CLI is killed
        return CreateResult("slow", {})

class SlowResource(Resource, module="e2e", name="Slow"):
    def __init__(self, name):
        super().__init__(Slow(), name, {})

SlowResource("slow")
"""


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a parent that never reaps it does not count)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_killed_cli_leaves_no_language_host_program_or_provider(our_engine, make_stack, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    stack = make_stack(PROGRAM)
    stack.set_config("marks", str(marks))
    cli = subprocess.Popen(["pulumi", "up", "--yes", "--skip-preview", "--stack", stack.stack, "--non-interactive"],
                           cwd=stack.project_dir, env=stack.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started: list[int] = []
    try:
        assert _wait_for(lambda: (marks / "provider.pid").exists() and (marks / "program.pid").exists(), 120)
        program = int((marks / "program.pid").read_text())
        provider = int((marks / "provider.pid").read_text())
        host = _parent_of(program)
        started = [host, program, provider]
        assert _parent_of(host) == cli.pid and _parent_of(provider) == cli.pid
        assert Path(f"/proc/{host}/exe").resolve().name == "pulumi-language-python"
        # the suite's leftover check (tests/conftest.py) would see each of them
        assert all(is_watched(command_line(pid)) for pid in (host, program, provider)), \
            {pid: command_line(pid) for pid in started}

        cli.send_signal(signal.SIGKILL)
        cli.wait()
        assert _wait_for(lambda: not any(_alive(pid) for pid in started), 10), \
            {pid: _alive(pid) for pid in started}
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        for pid in started:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _ignoring_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a background job of a non-interactive shell starts


@pytest.mark.parametrize("plugin, starts", [
    # The host's SIGINT handler once raced its first printed port: 1 start in 10 kept SIGINT ignored. 50 starts
    # of that host end with one stuck start in more than 99 runs in 100; 50 starts take under a second.
    ("pulumi-language-python", 50),
    ("pulumi-resource-pulumi-python", 3),  # resets SIGINT in Python before it serves; each start imports pulumi
])
def test_plugins_started_with_sigint_ignored_still_end_on_the_engines_sigint(our_engine, tmp_path, plugin, starts):
    """The engine stops a plugin with SIGINT and kills it only after a cooldown: a language host or provider that
    kept SIGINT ignored made every `up` and `preview` run from a background job wait that cooldown."""
    env = {**os.environ, "PULUMI_RUNTIME_VIRTUALENV": sys.prefix}
    args = [str(our_engine / plugin)] + (["127.0.0.1:1"] if plugin == "pulumi-language-python" else [])
    for start in range(starts):
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                cwd=tmp_path, preexec_fn=_ignoring_sigint)
        try:
            assert proc.stdout.readline().strip().isdigit(), plugin  # serving: it printed its port
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pytest.fail(f"{plugin} (start {start + 1} of {starts}) kept SIGINT ignored after printing its port")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
