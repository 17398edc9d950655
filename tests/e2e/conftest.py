"""Fixtures for end-to-end tests: the real `pulumi` CLI, our language host, and (for rr-pulumi) the emulator.

Each test gets its own project folder, stack and file backend under pytest's tmp_path, so tests run in
parallel (pytest-xdist) without sharing state.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from rr_pulumi.engine import ensure_engine
from rr_pulumi.engine.stack import LocalStack


def write_project(folder: Path, program: str, name: str = "e2e") -> Path:
    """A Python Pulumi project whose interpreter is this test run's virtual environment."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Pulumi.yaml").write_text(textwrap.dedent(f"""\
        name: {name}
        runtime:
          name: python
          options:
            virtualenv: {Path(sys.prefix).resolve()}
        """))
    (folder / "__main__.py").write_text(textwrap.dedent(program))
    return folder


@pytest.fixture(scope="session")
def engine_bin() -> Path:
    return ensure_engine(verbose=False)


@pytest.fixture
def make_stack(tmp_path, engine_bin):
    """Factory: make_stack(program_source, **config) -> an initialised LocalStack in its own folder."""
    counter = iter(range(1000))

    def make(program: str, env: dict | None = None, name: str = "e2e") -> LocalStack:
        folder = write_project(tmp_path / f"project{next(counter)}", program, name)
        return LocalStack(folder, stack="test", backend_dir=tmp_path / "state", env=env).init()

    return make
