"""Fixtures for end-to-end tests: the real `pulumi` CLI, our language host, and (for rr-pulumi) the emulator.

Each test gets its own project folder, stack and file backend under pytest's tmp_path, so tests run in
parallel (pytest-xdist) without sharing state.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from e2e_helpers import every_item
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


@pytest.fixture(scope="session")
def emulator():
    """One Core API emulator per test worker; tests isolate themselves by creating their own client."""
    from rr_pulumi.emulator.process import EmulatorProcess

    with EmulatorProcess(users=("e2e:team",), rate_limit=100_000) as emu:
        yield emu


@pytest.fixture
def api(emulator):
    """A requests session on the emulator with the e2e user's token, for out-of-band changes and checks."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = emulator.token("e2e")
    session.base = emulator.url + "/api"  # type: ignore[attr-defined]
    yield session
    session.close()


@pytest.fixture
def list_all():
    """every_item(api, "/clients", "clients"): a collection of the shared e2e user, all pages."""
    return every_item


@pytest.fixture
def rr_stack(make_stack, emulator):
    """Factory: rr_stack(program_source) -> a LocalStack configured for the emulator like a user would."""

    def make(program: str, name: str = "e2e") -> LocalStack:
        stack = make_stack(program, name=name)
        stack.set_config("requestrocket:apiUrl", emulator.url)
        stack.set_config("requestrocket:token", emulator.token("e2e"), secret=True)
        return stack

    return make
