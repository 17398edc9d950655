"""Run one benchmark stack through the real `pulumi` CLI and time each command, with the emulator's call counts.

A cycle is: `up` (create N), a no-op `preview`, `up` of a changed `rev` (updates every target), `refresh`,
`destroy`. Each stack has its own project folder, file backend and (against the emulator) its own emulator user,
so the clients list holds only its clients.
"""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rr_pulumi.engine import PROJECT_PLUGINS_YAML, write_project_plugin
from rr_pulumi.engine.stack import LocalStack

from shape import Shape

HERE = Path(__file__).resolve().parent
OPERATIONS = ("up", "preview", "update", "refresh", "destroy")
_users = itertools.count()


@dataclass
class Measure:
    seconds: float
    calls: dict = field(default_factory=dict)  # the emulator's stats for this command (empty for the floor)
    code: int = 0  # the command's exit code (checked commands raise instead)
    output: str = ""
    state_bytes: int = 0  # the size of the stack's state file afterwards (set by `up`)


def write_project(folder: Path, program: str, rr_provider: bool = False) -> Path:
    """With `rr_provider`, the `plugins: providers:` block and stub `rr-pulumi new` writes: rr-pulumi's provider
    server under any `pulumi` (without it, an official `pulumi` serves with Pulumi's own launcher and server)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Pulumi.yaml").write_text(
        f"name: bench\nruntime:\n  name: python\n  options:\n    virtualenv: {Path(sys.prefix).resolve()}\n"
        + (PROJECT_PLUGINS_YAML if rr_provider else ""))
    if rr_provider:
        write_project_plugin(folder)
    (folder / "__main__.py").write_text(program)
    return folder


class BenchStack:
    """One stack of a given shape against the floor (emulator None) or the emulator, with rr-pulumi's providers or
    the naive baseline's (`provider="naive"`); with no emulator, `provider="shaped"` is the floor with rr-pulumi's
    state (floor_provider.ShapedFloorProvider). `token` shares an emulator user between stacks; `rr_provider` writes
    the project plugin of `rr-pulumi new` (see write_project)."""

    def __init__(self, shape: Shape, workdir: Path, emulator=None, *, config: dict | None = None,
                 env: dict | None = None, parallel: int | None = None, bin_dir: Path | None = None,
                 provider: str = "rr", token: str | None = None, rr_provider: bool = False):
        self.shape, self.emulator, self.parallel = shape, emulator, parallel
        folder = Path(tempfile.mkdtemp(prefix=f"n{shape.n}-", dir=workdir))
        write_project(folder / "project", shape.program("floor" if emulator is None and provider == "rr" else provider),
                      rr_provider)
        env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])), **(env or {})}
        self.stack = LocalStack(folder / "project", stack="bench", backend_dir=folder / "state", env=env)
        if bin_dir is not None:  # a prototype launcher folder ahead of the engine's own
            self.stack.env["PATH"] = f"{bin_dir}{os.pathsep}{self.stack.env['PATH']}"
        self.stack.init()
        if emulator is not None:
            user = f"bench{os.getpid()}x{next(_users)}"
            self.stack.set_config("requestrocket:apiUrl", emulator.url)
            self.stack.set_config("requestrocket:token", token or emulator.create_user(user, "team"), secret=True)
        for key, value in (config or {}).items():
            self.stack.set_config(key, str(value))

    def _timed(self, *args: str, check: bool = True, stats: bool = True) -> Measure:
        extra = ("--parallel", str(self.parallel)) if self.parallel and args[0] in ("up", "destroy", "refresh") else ()
        counted = stats and self.emulator is not None
        if counted:
            self.emulator.reset_stats()
        started = time.perf_counter()
        result = self.stack.run(*args, *extra, "--stack", self.stack.stack, check=check)
        took = time.perf_counter() - started
        return Measure(took, self.emulator.stats() if counted else {}, getattr(result, "code", 0),
                       getattr(result, "output", ""))

    def up(self, check: bool = True, stats: bool = True) -> Measure:
        measure = self._timed("up", "--yes", "--skip-preview", check=check, stats=stats)
        measure.state_bytes = self.state_bytes()
        return measure

    def state_bytes(self) -> int:
        """The size of the stack's checkpoint file in the file backend (0 before the first `up`)."""
        files = list(Path(self.stack.backend_dir).rglob(f"{self.stack.stack}.json"))
        return files[0].stat().st_size if files else 0

    def preview(self) -> Measure:
        return self._timed("preview", "--expect-no-changes")

    def update(self, rev: str) -> Measure:
        self.stack.set_config("rev", rev)
        return self.up()

    def refresh(self) -> Measure:
        return self._timed("refresh", "--yes", "--skip-preview")

    def destroy(self) -> Measure:
        return self._timed("destroy", "--yes", "--skip-preview")

    def cycle(self, rev: str) -> dict[str, Measure]:
        """Every operation once, in an order where each leaves the state the next one needs."""
        return {"up": self.up(), "preview": self.preview(), "update": self.update(rev), "refresh": self.refresh(),
                "destroy": self.destroy()}
