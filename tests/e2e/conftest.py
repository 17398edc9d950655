"""Fixtures for end-to-end tests: the real `pulumi` CLI with a Python language host, and (for rr-pulumi) the emulator.

The toolchain is the one rr-pulumi's tools choose (`rr_pulumi.engine.find_toolchain`): set RR_PULUMI_TOOLCHAIN to a
folder laid out as Pulumi's distribution is (`pulumi`, `pulumi-language-python`, `pulumi-language-python-exec`,
`pulumi-resource-pulumi-python`) to run the suite with Pulumi's own language host and launcher; tests of rr-pulumi's
own engine (the `our_engine` fixture) are then skipped. Each test gets its own project folder, stack and file backend
under pytest's tmp_path, so tests run in parallel (pytest-xdist) without sharing state.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from e2e_helpers import every_item
from rr_pulumi.engine import LAUNCHER_NAMES, PROJECT_PLUGINS_YAML, Toolchain, find_toolchain, write_project_plugin
from rr_pulumi.engine.stack import LocalStack


def write_project(folder: Path, program: str, name: str = "e2e", rr_provider: bool = False) -> Path:
    """A Python Pulumi project whose interpreter is this test run's virtual environment; with `rr_provider`, the
    `plugins: providers:` block and stub `rr-pulumi new` writes (rr-pulumi's provider server under any `pulumi`)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Pulumi.yaml").write_text(textwrap.dedent(f"""\
        name: {name}
        runtime:
          name: python
          options:
            virtualenv: {Path(sys.prefix).resolve()}
        """) + (PROJECT_PLUGINS_YAML if rr_provider else ""))
    if rr_provider:
        write_project_plugin(folder)
    (folder / "__main__.py").write_text(textwrap.dedent(program))
    return folder


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    """The `pulumi` every e2e test runs: $RR_PULUMI_TOOLCHAIN, an official one on PATH, else rr-pulumi's engine."""
    return find_toolchain(verbose=False)


@pytest.fixture(scope="session")
def engine_bin(toolchain) -> Path:
    return toolchain.folder


@pytest.fixture(scope="session")
def our_engine(toolchain) -> Path:
    """The folder of rr-pulumi's own engine (our language host and launchers); tests of it skip under another."""
    if not all((toolchain.folder / name).is_file() for name in LAUNCHER_NAMES):
        pytest.skip(f"tests rr-pulumi's own engine; this run uses {toolchain.pulumi} v{toolchain.version} "
                    f"({toolchain.origin}) without rr-pulumi's launchers")
    return toolchain.folder


@pytest.fixture
def make_stack(tmp_path, engine_bin):
    """Factory: make_stack(program_source, env=..., name=..., rr_provider=...) -> an initialised LocalStack in its
    own folder."""
    counter = iter(range(1000))

    def make(program: str, env: dict | None = None, name: str = "e2e", rr_provider: bool = False) -> LocalStack:
        folder = write_project(tmp_path / f"project{next(counter)}", program, name, rr_provider)
        if rr_provider:  # the project plugin serves with rr-pulumi's server (tests/conftest.py: else Pulumi's)
            env = {"RR_PULUMI_PROVIDER_SERVER": "rr-pulumi", **(env or {})}
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

    def make(program: str, name: str = "e2e", rr_provider: bool = False) -> LocalStack:
        stack = make_stack(program, name=name, rr_provider=rr_provider)
        stack.set_config("requestrocket:apiUrl", emulator.url)
        stack.set_config("requestrocket:token", emulator.token("e2e"), secret=True)
        return stack

    return make
