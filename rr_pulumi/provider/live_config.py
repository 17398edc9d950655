"""The stack configuration as it is now, read by the provider when the engine handed it an outdated one.

The engine configures a default provider with the inputs it recorded in the state: a `pulumi refresh` (or
`destroy`) that does not run the program configures it with the config of the last `up`
(`pkg/resource/deploy/providers/registry.go: Registry.Same` passes `res.Inputs`), so a token rotated since then
never reaches the provider. When the API rejects that token, the provider asks the `pulumi` CLI that started it
for the stack's current config: the nearest ancestor process named `pulumi`, its stack and config-file flags and
its working directory, and `pulumi config --json --show-secrets` run with the same environment. Linux only (it
reads /proc); elsewhere the environment variables remain the fallback.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

# Flags of `pulumi <command>` that select the stack and its configuration (each takes one value).
_STACK_FLAGS = {"-s": "--stack", "--stack": "--stack", "--config-file": "--config-file"}
_CWD_FLAGS = ("-C", "--cwd")


@dataclass(frozen=True)
class PulumiInvocation:
    """A running `pulumi` command: its executable, arguments and working directory."""

    executable: str
    argv: tuple[str, ...]
    cwd: str


def config_command(invocation: PulumiInvocation) -> tuple[list[str], str]:
    """The `pulumi config` command (and its folder) that reads the same stack's config as `invocation`."""
    selected: list[str] = []
    cwd = invocation.cwd
    args = list(invocation.argv[1:])
    i = 0
    while i < len(args):
        arg = args[i]
        name, _, inline = arg.partition("=")
        if name in _STACK_FLAGS or name in _CWD_FLAGS:
            value = inline if inline else (args[i + 1] if i + 1 < len(args) else "")
            i += 1 if inline else 2
            if name in _CWD_FLAGS:
                cwd = os.path.join(cwd, value)
            elif value:
                selected += [_STACK_FLAGS[name], value]
            continue
        i += 1
    command = [invocation.executable, "config", "--json", "--show-secrets", "--non-interactive", *selected]
    return command, cwd


def _proc(pid: int, name: str) -> Path:
    return Path("/proc") / str(pid) / name


def _parent_of(pid: int) -> Optional[int]:
    try:
        fields = _proc(pid, "stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def running_pulumi(pid: Optional[int] = None, max_depth: int = 4) -> Optional[PulumiInvocation]:
    """The nearest ancestor process whose executable is `pulumi` (the CLI that started this provider)."""
    pid = os.getppid() if pid is None else pid
    for _ in range(max_depth):
        if pid is None or pid <= 1:
            return None
        try:
            exe = os.readlink(_proc(pid, "exe"))
            argv = tuple(a.decode(errors="replace") for a in _proc(pid, "cmdline").read_bytes().split(b"\0") if a)
            cwd = os.readlink(_proc(pid, "cwd"))
        except OSError:
            return None
        if os.path.basename(exe) == "pulumi":
            return PulumiInvocation(exe, argv, cwd)
        pid = _parent_of(pid)
    return None


def current_stack_config(timeout: float = 60.0) -> Optional[dict[str, Any]]:
    """`pulumi config --json --show-secrets` of the stack being run, or None when it cannot be read."""
    invocation = running_pulumi()
    if invocation is None:
        return None
    command, cwd = config_command(invocation)
    env = {**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        config = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    return config if isinstance(config, dict) else None

