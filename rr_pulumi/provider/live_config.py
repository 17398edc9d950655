"""One value of the stack configuration as it is now, read by the provider when the engine handed it an outdated one.

The engine configures a default provider with the inputs it recorded in the state: a `pulumi refresh` (or
`destroy`) that does not run the program configures it with the config of the last `up`
(`pkg/resource/deploy/providers/registry.go: Registry.Same` passes `res.Inputs`), so a token rotated since then
never reaches the provider. When the API rejects that token, the provider asks the `pulumi` CLI that started it
(the nearest ancestor process named `pulumi`) for the one key it needs: `pulumi config get KEY --json`, for the
same stack the CLI is running, in the CLI's working directory and environment. Only that value is kept.

The stack must be the one the CLI runs, or there is no renewal at all (a wrong stack's token would write with
another stack's credentials). The CLI chooses it, in this order (pulumi/pulumi 3.260, pkg/cmd/pulumi):

1. `--stack`/`-s` on its command line, in any pflag form: `-s NAME`, `-sNAME`, `-s=NAME`, `--stack NAME`,
   `--stack=NAME`, also inside a group of short flags (`-ys NAME`); the last one wins;
2. `PULUMI_OPTION_STACK` in its environment (every flag can be given as `PULUMI_OPTION_<FLAG>`, pulumi.go
   `declareFlagsAsEnvironmentVariables`), which sets `--stack` when the command line does not;
3. `PULUMI_STACK` in its environment (`pkg/backend/state/stacks.go: getCurrentStackName`), which replaces the
   selected stack;
4. the stack selected in the workspace (`pulumi stack select`).

The first three are passed on as an explicit `--stack`; for the fourth the `config get` runs in the same folder
with the same environment, so it reads the same selection. `--config-file` (or `PULUMI_OPTION_CONFIG_FILE`) is
passed on too. `--cwd`/`-C` is not: the CLI has already changed into that folder, which is the process's working
directory read from /proc. A command line this module cannot parse with certainty (an unknown flag or command, a
stack flag without a value, an empty `PULUMI_STACK`) means no renewal. Linux only (it reads /proc); elsewhere
the environment variables remain the fallback.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

# The flags of the `pulumi` commands that start providers (pulumi 3.260: pkg/cmd/pulumi/pulumi.go and
# operations/{up,preview,refresh,destroy,import,watch}.go). A flag that takes a value consumes the next argument
# unless it has a default for a bare flag (pflag's NoOptDefVal: `--refresh`, `--suppress-permalink`,
# `--attach-debugger`); bool flags never do. Any flag not listed makes the command line uncertain.
_VALUE_FLAGS = {
    "stack": "s", "cwd": "C", "config-file": "", "message": "m", "parallel": "p", "config": "c", "target": "t",
    "exclude": "x", "replace": "", "target-replace": "", "policy-pack": "", "policy-pack-config": "",
    "client": "", "color": "", "event-log": "", "exec-agent": "", "exec-kind": "", "from": "",
    "generate-resources": "", "import-file": "", "out": "o", "output": "", "plan": "", "save-plan": "",
    "secrets-provider": "", "tracing": "", "tracing-header": "", "otel-traces": "", "profiling": "",
    "memprofilerate": "", "verbose": "v", "import-pending-creates": "", "path": "", "properties": "",
}
_OPTIONAL_VALUE_FLAGS = {"refresh": "r", "suppress-permalink": "", "attach-debugger": ""}
_BOOL_FLAGS = {
    "yes": "y", "skip-preview": "f", "debug": "d", "emoji": "e", "fully-qualify-stack-names": "Q", "json": "j",
    "non-interactive": "", "diff": "", "expect-no-changes": "", "show-config": "", "show-full-output": "",
    "show-policy-remediations": "", "show-reads": "", "show-replacement-steps": "", "show-sames": "",
    "show-secrets": "", "skip-config-validation": "", "skip-pending-creates": "", "skip-plugin-pre-install": "",
    "strict": "", "suppress-outputs": "", "suppress-progress": "", "target-dependents": "", "exclude-dependents": "",
    "exclude-protected": "", "continue-on-error": "", "clear-pending-creates": "", "config-path": "",
    "copilot": "", "disable-integrity-checking": "", "generate-code": "", "ignore-protect": "", "logflow": "",
    "logtostderr": "", "neo": "", "neo-task-on-failure": "", "preview-only": "", "protect": "", "remove": "",
    "run-program": "", "urns": "",
}
# The commands that start providers, by name and alias; `import -f` is its --file, not --skip-preview.
_COMMANDS = {"up": "up", "update": "up", "preview": "preview", "pre": "preview", "refresh": "refresh",
             "destroy": "destroy", "down": "destroy", "dn": "destroy", "import": "import", "watch": "watch"}


class UncertainCommandLine(ValueError):
    """The `pulumi` command line cannot be read with certainty: no renewal."""


@dataclass(frozen=True)
class PulumiInvocation:
    """A running `pulumi` command: its executable, arguments, working directory and environment."""

    executable: str
    argv: tuple[str, ...]
    cwd: str
    environ: Optional[Mapping[str, str]] = None  # the CLI's own environment (None: unreadable, use this process's)
    pid: Optional[int] = None


def _flag_table(command: Optional[str]) -> dict[str, tuple[str, str]]:
    """{name and -shorthand: (long name, "value" | "optional" | "bool")} for one command."""
    table: dict[str, tuple[str, str]] = {}
    for kind, flags in (("value", _VALUE_FLAGS), ("optional", _OPTIONAL_VALUE_FLAGS), ("bool", _BOOL_FLAGS)):
        for name, short in flags.items():
            table[name] = (name, kind)
            if short:
                table["-" + short] = (name, kind)
    if command == "import":
        table["file"] = table["-f"] = ("file", "value")
    return table


def parse_flags(argv: tuple[str, ...] | list[str]) -> dict[str, str]:
    """The flags with a value on a `pulumi` command line, as pflag reads them: {long name: last value}.

    Raises UncertainCommandLine for an unknown command or flag, or a value-taking flag at the end of the line."""
    args = list(argv[1:])
    values, positional = _parse(args, _flag_table(None))
    command = _COMMANDS.get(positional[0]) if positional else None
    if command is None:
        raise UncertainCommandLine(f"not a command that starts providers: {' '.join(positional[:1]) or '(none)'}")
    if command == "import":  # its -f takes a value: read the line again with its own table
        values, positional = _parse(args, _flag_table(command))
    return values


def _parse(args: list[str], table: dict[str, tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    values: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            positional += args[i:]
            break
        if arg.startswith("--"):
            name, has_value, inline = arg[2:].partition("=")
            if name not in table:
                raise UncertainCommandLine(f"unknown flag --{name}")
            long, kind = table[name]
            if has_value or kind != "value":
                if kind != "bool":
                    values[long] = inline if has_value else ""
                continue
            if i >= len(args):
                raise UncertainCommandLine(f"--{name} has no value")
            values[long] = args[i]
            i += 1
        elif arg.startswith("-") and len(arg) > 1:
            shorts = arg[1:]
            while shorts:
                key = "-" + shorts[0]
                if key not in table:
                    raise UncertainCommandLine(f"unknown flag {key}")
                long, kind = table[key]
                rest = shorts[1:]
                if rest.startswith("="):  # -s=NAME (pflag: the rest of the group is the value)
                    if kind != "bool":
                        values[long] = rest[1:]
                    break
                if kind != "value":  # bool or optional value: the rest of the group is more flags
                    if kind == "optional":
                        values[long] = ""
                    shorts = rest
                    continue
                if rest:  # -sNAME
                    values[long] = rest
                elif i < len(args):  # -s NAME
                    values[long] = args[i]
                    i += 1
                else:
                    raise UncertainCommandLine(f"{key} has no value")
                break
        else:
            positional.append(arg)
    return values, positional


def config_get_command(
    invocation: PulumiInvocation, key: str, path: bool = False
) -> tuple[list[str], str, dict[str, str]]:
    """The `pulumi config get KEY --json` command, its folder and environment, reading the same stack's config
    as `invocation` (UncertainCommandLine when that stack cannot be known for sure)."""
    flags = parse_flags(invocation.argv)
    env = dict(invocation.environ if invocation.environ is not None else os.environ)
    stack = flags.get("stack")
    if stack is None and "PULUMI_OPTION_STACK" in env:
        stack = env["PULUMI_OPTION_STACK"]
    if stack is None and "PULUMI_STACK" in env:
        stack = env["PULUMI_STACK"]
    if stack is not None and not stack.strip():
        raise UncertainCommandLine("an empty stack name")
    config_file = flags.get("config-file", env.get("PULUMI_OPTION_CONFIG_FILE"))
    # The CLI has applied --cwd already (its working directory is the folder); the stack is passed explicitly.
    for applied in ("PULUMI_OPTION_CWD", "PULUMI_OPTION_STACK", "PULUMI_OPTION_CONFIG_FILE"):
        env.pop(applied, None)
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    command = [invocation.executable, "config", "get", key, "--json", "--non-interactive"]
    command += ["--path"] if path else []
    command += ["--stack", stack] if stack is not None else []
    command += ["--config-file", config_file] if config_file else []
    return command, invocation.cwd, env


def _proc(pid: int, name: str) -> Path:
    return Path("/proc") / str(pid) / name


def _parent_of(pid: int) -> Optional[int]:
    try:
        fields = _proc(pid, "stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def _environ(pid: int) -> Optional[dict[str, str]]:
    try:
        raw = _proc(pid, "environ").read_bytes()
    except OSError:
        return None
    pairs = (entry.decode(errors="replace").partition("=") for entry in raw.split(b"\0") if entry)
    return {name: value for name, _, value in pairs}


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
            return PulumiInvocation(exe, argv, cwd, _environ(pid), pid)
        pid = _parent_of(pid)
    return None


class Unreadable(Exception):
    """The stack's current config could not be read (no `pulumi` parent, an uncertain stack, a failed command)."""


def current_value(key: str, path: bool = False, timeout: float = 60.0,
                  invocation: Optional[PulumiInvocation] = None) -> Optional[Any]:
    """The current value of one config key of the stack being run (None when the stack does not set it).

    Raises Unreadable when it cannot be read for sure: then nothing may be renewed."""
    invocation = invocation or running_pulumi()
    if invocation is None:
        raise Unreadable("no `pulumi` process started this provider")
    try:
        command, cwd, env = config_get_command(invocation, key, path)
    except UncertainCommandLine as exc:
        raise Unreadable(str(exc)) from None
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unreadable(type(exc).__name__) from None
    if done.returncode != 0:
        if "not found for stack" in done.stderr:  # config.go: "configuration key '%s' not found for stack '%s'"
            return None
        raise Unreadable(f"`pulumi config get` exited {done.returncode}")
    try:
        entry = json.loads(done.stdout)
    except ValueError:
        raise Unreadable("`pulumi config get --json` printed no JSON") from None
    if not isinstance(entry, dict):
        raise Unreadable("`pulumi config get --json` printed no object")
    return entry.get("objectValue", entry.get("value"))
