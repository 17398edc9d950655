"""Drive one Pulumi project and stack through the real `pulumi` CLI, the way a user or a CI job does.

The demo, the tests, the benchmarks and the drift check all use this: a subprocess per command (so exit codes
and printed text are exactly what a user sees), a local file backend and a passphrase secrets provider.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from rr_pulumi.engine import DEMO_PASSPHRASE, engine_env
from rr_pulumi.api.errors import RequestRocketError

# pulumi and every plugin it starts in a process group of their own, to be ended together.
OWN_PROCESS_GROUP = {"process_group": 0} if sys.version_info >= (3, 11) else {"start_new_session": True}


@dataclass
class CommandResult:
    args: list[str]
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class PulumiCommandError(RequestRocketError, RuntimeError):
    def __init__(self, result: CommandResult):
        self.result = result
        super().__init__(f"`{' '.join(result.args)}` exited {result.code}:\n{result.output[-6000:]}")


class LocalStack:
    """One stack of the project in `project_dir`, with its state in `backend_dir` (default: project/.rr/state)."""

    def __init__(self, project_dir: Path | str, stack: str = "dev", backend_dir: Path | str | None = None,
                 env: dict | None = None, passphrase: str = DEMO_PASSPHRASE):
        self.project_dir = Path(project_dir).resolve()
        self.stack = stack
        self.backend_dir = Path(backend_dir) if backend_dir else self.project_dir / ".rr" / "state"
        self.env = engine_env(self.backend_dir, passphrase)
        self.env.update(env or {})

    def run(self, *args: str, check: bool = True, timeout: float = 900, extra_env: dict | None = None,
            echo: bool = False) -> CommandResult:
        """Run one pulumi command; with echo, its output is also shown live (stderr merged into stdout)."""
        command = ["pulumi", *args, "--non-interactive", "--color", "never"]
        env = {**self.env, **(extra_env or {})}
        with subprocess.Popen(command, cwd=self.project_dir, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT if echo else subprocess.PIPE, text=True,
                              **OWN_PROCESS_GROUP) as proc:   # its own group: pulumi and every plugin it starts
            try:
                result = self._echo(proc, command, timeout) if echo else self._capture(proc, command, timeout)
            finally:
                kill_group(proc)   # also after a timeout or Ctrl-C: no language host or provider outlives the run
        if check and result.code != 0:
            raise PulumiCommandError(result)
        return result

    @staticmethod
    def _capture(proc: subprocess.Popen, command: list[str], timeout: float) -> CommandResult:
        stdout, stderr = proc.communicate(timeout=timeout)
        return CommandResult(command, proc.returncode, stdout, stderr)

    @staticmethod
    def _echo(proc: subprocess.Popen, command: list[str], timeout: float) -> CommandResult:
        assert proc.stdout is not None  # run() starts an echoed command with stdout=PIPE
        lines = []
        for line in proc.stdout:
            lines.append(line)
            sys.stdout.write(line)
            sys.stdout.flush()
        return CommandResult(command, proc.wait(timeout=timeout), "".join(lines), "")

    def init(self) -> "LocalStack":
        self.run("stack", "select", "--create", self.stack)
        return self

    def set_config(self, key: str, value: str, secret: bool = False) -> None:
        self.run("config", "set", "--stack", self.stack, *(["--secret"] if secret else ["--plaintext"]), key,
                 value)

    def up(self, *extra: str, check: bool = True, echo: bool = False) -> CommandResult:
        return self.run("up", "--yes", "--skip-preview", "--stack", self.stack, *extra, check=check, echo=echo)

    def preview(self, *extra: str, check: bool = True) -> CommandResult:
        return self.run("preview", "--stack", self.stack, *extra, check=check)

    def refresh(self, *extra: str, check: bool = True) -> CommandResult:
        return self.run("refresh", "--yes", "--skip-preview", "--stack", self.stack, *extra, check=check)

    def destroy(self, *extra: str, check: bool = True) -> CommandResult:
        return self.run("destroy", "--yes", "--skip-preview", "--stack", self.stack, *extra, check=check)

    def outputs(self, show_secrets: bool = False) -> dict:
        args = ["stack", "output", "--json", "--stack", self.stack]
        return json.loads(self.run(*args, *(["--show-secrets"] if show_secrets else [])).stdout or "{}")

    def export(self) -> dict:
        return json.loads(self.run("stack", "export", "--stack", self.stack).stdout)

    def resources(self, type_prefix: str = "pulumi-python:dynamic") -> list[dict]:
        """The stack's resources from its checkpoint, optionally only those whose type starts with a prefix."""
        deployment = self.export().get("deployment", {})
        return [r for r in deployment.get("resources") or [] if r.get("type", "").startswith(type_prefix)]


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group a command was started in (its leader may be gone already), then reap the leader."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
