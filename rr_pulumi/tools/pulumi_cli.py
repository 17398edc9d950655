"""The one way rr-pulumi's tools (drift, recovery, ...) run `pulumi`: the toolchain's choice, version-checked.

`pulumi` is found by `rr_pulumi.engine.find_toolchain`: `$RR_PULUMI_TOOLCHAIN`, else an official `pulumi` on PATH
in the supported range, else rr-pulumi's own engine (built with progress on stderr, never silently). When none is
usable, the error is one line naming what was found and why it was refused. The command runs with the user's own
environment (backend, passphrase, PULUMI_HOME untouched): only the toolchain's folder is put first on the child's
PATH, so the language host and plugins next to `pulumi` are the ones it uses.

A failed command raises `PulumiFailed` whose message is the engine's error line, not pages of output.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from rr_pulumi.api.errors import RequestRocketError

if TYPE_CHECKING:
    from rr_pulumi.api.client import RequestRocketClient
    from rr_pulumi.api.config import Settings

_EXCEPTION_PREFIX = re.compile(r"^(?:[A-Za-z_]\w*\.)+[A-Z]\w*: ")  # "rr_pulumi.api.errors.ServerError: "
_NOISE = re.compile(r"^(?:error: )?(?:(?:Preview|Update|Refresh|Destroy) failed: )?", re.IGNORECASE)


class PulumiFailed(RequestRocketError):
    """A `pulumi` command failed, or no `pulumi` could be found; the message is one line."""


def error_line(text: str) -> str:
    """The one line that says why a `pulumi` run failed, from its stderr or a diagnostic's message.

    Pulumi prints `error: <reason>`; a provider's failure arrives as a Python traceback whose last line is
    `package.module.SomeError: <reason>`. Either way the reason is kept and the rest dropped.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return "no error message"
    if any("Traceback (most recent call last)" in line for line in lines):
        return _EXCEPTION_PREFIX.sub("", lines[-1])
    first = next((line for line in lines if line.startswith("error:")), lines[-1])
    return _NOISE.sub("", first, count=1)


def _resource_label(urn: str) -> str:
    """`Credential callers: ` for a resource's URN; nothing for the stack itself."""
    if "::" not in urn:
        return ""
    type_, name = urn.split("::")[-2:]
    return "" if type_.startswith("pulumi:pulumi:Stack") else f"{type_.rsplit(':', 1)[-1]} {name}: "


def diagnostics_error(document: Any) -> Optional[str]:
    """The first error diagnostic of a `--json` document, as `<Kind> <name>: <reason>` (None when there is none).

    A resource's own error comes before the stack's summary ("update failed"), which says nothing new.
    """
    if not isinstance(document, dict):
        return None
    errors = [d for d in document.get("diagnostics") or [] if d.get("severity") == "error"]
    if not errors:
        return None
    errors.sort(key=lambda d: not _resource_label(str(d.get("urn") or "")))  # stable: resources first
    first = errors[0]
    reason = _resource_label(str(first.get("urn") or "")) + error_line(str(first.get("message", "")))
    more = f" (and {len(errors) - 1} more error{'s' * (len(errors) > 2)})" if len(errors) > 1 else ""
    return reason + more


def api_client(settings: "Settings") -> "RequestRocketClient":
    """The Core API client a tool uses with a stack's connection settings (paced to the plan's rate limit)."""
    from rr_pulumi.api.client import RequestRocketClient
    from rr_pulumi.api.ratelimit import shared_budget

    per_minute, token = settings.rate_limit_per_minute, settings.require_token()
    return RequestRocketClient(settings.api_url, token,
                               budget=shared_budget(settings.api_url, token, per_minute) if per_minute else None)


def find_pulumi() -> Path:
    """The `pulumi` executable of the toolchain rr-pulumi runs; our engine is built (progress on stderr) only when
    no official `pulumi` is usable."""
    from rr_pulumi.engine import EngineError, find_toolchain  # the engine's public API, nothing else of it

    try:
        return find_toolchain(verbose=True).pulumi
    except EngineError as exc:
        raise PulumiFailed(error_line(str(exc))) from None
    except OSError as exc:
        raise PulumiFailed(f"no usable Pulumi: {exc}") from None


def child_env(pulumi: Path, base: Optional[dict[str, str]] = None) -> dict[str, str]:
    """The user's environment for a `pulumi` child: the engine's folder first on PATH, no update check."""
    env = dict(os.environ if base is None else base)
    folder = str(pulumi.parent)
    if env.get("PATH", "").split(os.pathsep)[0] != folder:
        env["PATH"] = folder + os.pathsep + env.get("PATH", "")
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    return env


@dataclass
class Pulumi:
    """`pulumi` in one project folder, optionally for one stack."""

    cwd: Path
    stack: Optional[str] = None
    executable: Path = field(default_factory=find_pulumi)
    timeout: float = 1800
    env: dict[str, str] = field(default_factory=dict)  # on top of the user's environment, for every command
    _config: Optional[dict[str, Any]] = field(default=None, init=False, repr=False)

    def run(self, *args: str, check: bool = True, stack: bool = True) -> subprocess.CompletedProcess:
        """Run `pulumi ARGS` (with `--stack` when one was given); `check` raises PulumiFailed on a failure."""
        command = [str(self.executable), *args, "--non-interactive", "--color", "never"]
        if stack and self.stack:
            command += ["--stack", self.stack]
        try:
            done = subprocess.run(command, cwd=self.cwd, env={**child_env(self.executable), **self.env},
                                  capture_output=True, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise PulumiFailed(f"`pulumi {args[0]}` did not finish in {self.timeout:.0f} s") from None
        except OSError as exc:  # e.g. the project folder does not exist
            raise PulumiFailed(f"cannot run `pulumi {args[0]}` in {self.cwd}: {exc.strerror}") from None
        if check and done.returncode != 0:
            raise PulumiFailed(self.failure(done))
        return done

    def json(self, *args: str, stack: bool = True) -> Any:
        """The JSON document `pulumi ARGS` prints; an error diagnostic in it or a failed exit raises PulumiFailed."""
        done = self.run(*args, check=False, stack=stack)
        try:
            document = json.loads(done.stdout) if done.stdout.strip() else None
        except ValueError:
            document = None
        reason = diagnostics_error(document)
        if done.returncode != 0 or reason:
            raise PulumiFailed(reason or self.failure(done))
        if document is None:
            raise PulumiFailed(f"`pulumi {args[0]}` printed no JSON document")
        return document

    @staticmethod
    def failure(done: subprocess.CompletedProcess) -> str:
        return error_line(done.stderr or done.stdout)

    def stack_name(self) -> str:
        """The stack's real name (the selected one when none was given); fails when there is none."""
        return self.run("stack", "--show-name").stdout.strip()

    def config(self) -> dict[str, Any]:
        """The stack's configuration, secrets decrypted, as `{key: value}` (structured values as objects)."""
        document = self.json("config", "--show-secrets", "--json")
        self._config = {key: (entry.get("objectValue", entry.get("value")) if isinstance(entry, dict) else entry)
                        for key, entry in document.items()}  # fmt: skip
        return self._config

    def whoami(self) -> dict[str, Any]:
        """`{"user", "url", ...}`: the backend the engine chose (PULUMI_BACKEND_URL, Pulumi.yaml, `pulumi login`)."""
        return self.json("whoami", "--json", stack=False)

    def connection_settings(self, profile: Optional[str] = None) -> "Settings":
        """The API URL, token and rate limit the provider uses for this stack's resources (of one profile):
        the stack configuration, then the environment."""
        from rr_pulumi.api.config import settings_from

        if self._config is None:
            self._config = self.config()
        get = self._config.get
        env = {**os.environ, **self.env}
        if profile:
            return settings_from(get, env, profile=profile)
        return settings_from(get, env)
