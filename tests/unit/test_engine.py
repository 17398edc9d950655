"""How the engine is chosen: a matching `pulumi` on PATH, else the cache keyed by version and source digest;
what the key covers; pruning; the shell line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rr_pulumi import engine


def fake_engine(folder: Path, version: str) -> Path:
    folder.mkdir(parents=True)
    for name in engine.EXECUTABLES:
        script = folder / name
        script.write_text(f"#!/bin/sh\necho v{version}\n")
        script.chmod(0o755)
    return folder


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("RR_PULUMI_ENGINE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    return tmp_path


def test_matching_pulumi_on_path_is_used(isolated, monkeypatch):
    on_path = fake_engine(isolated / "user-bin", engine.engine_version())
    monkeypatch.setenv("PATH", f"{on_path}{os.pathsep}/usr/bin:/bin")
    assert engine.ensure_engine(verbose=False) == on_path


def test_other_version_on_path_falls_back_to_the_cache(isolated, monkeypatch):
    on_path = fake_engine(isolated / "user-bin", "3.1.0")
    monkeypatch.setenv("PATH", f"{on_path}{os.pathsep}/usr/bin:/bin")
    cached = fake_engine(engine.engine_folder() / "bin", engine.engine_version())
    assert engine.engine_folder() == isolated / "cache" / f"v{engine.engine_version()}-{engine.sources_digest()}"
    assert engine.ensure_engine(verbose=False) == cached


def test_without_go_the_error_says_what_to_install(isolated, monkeypatch):
    monkeypatch.setattr(engine.shutil, "which", lambda name: None)
    with pytest.raises(engine.EngineError, match=r"no `pulumi` v3\.\d+\.\d+ on PATH and no Go toolchain"):
        engine.ensure_engine(verbose=False)


def test_engine_env_is_local_and_quiet(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "ensure_engine", lambda verbose=True: Path("/opt/engine"))
    monkeypatch.setenv("PULUMI_ACCESS_TOKEN", "pul-should-not-pass")
    env = engine.engine_env(tmp_path / "state")
    assert env["PULUMI_BACKEND_URL"] == (tmp_path / "state").resolve().as_uri()
    assert env["PATH"].startswith("/opt/engine" + os.pathsep)
    assert env["PULUMI_CONFIG_PASSPHRASE"] == engine.DEMO_PASSPHRASE
    assert env["PULUMI_SKIP_UPDATE_CHECK"] == "true"
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    assert "PULUMI_ACCESS_TOKEN" not in env


@pytest.fixture
def engine_copy(tmp_path, monkeypatch):
    """A copy of the engine package's sources that the digest reads instead of the installed ones."""
    import shutil as _shutil
    copy = tmp_path / "engine"
    _shutil.copytree(engine.GO_SOURCES.parent, copy, ignore=_shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(engine, "GO_SOURCES", copy / "gosrc")
    monkeypatch.setattr(engine, "LAUNCHERS", copy / "launchers")
    return copy


@pytest.mark.parametrize("changed", ["gosrc/languagehost/exec.py", "gosrc/languagehost/main.go", "gosrc/go.mod",
                                     "gosrc/go.sum", "launchers/pulumi-resource-pulumi-python",
                                     "launchers/rr-pulumi-python-module"])
def test_source_digest_follows_the_engine_sources(engine_copy, changed):
    before = engine.sources_digest()
    with open(engine_copy / changed, "a") as handle:
        handle.write("\n// changed\n")
    assert engine.sources_digest() != before


@pytest.mark.parametrize("generated", ["gosrc/languagehost/__pycache__/exec.cpython-311.pyc", "gosrc/__init__.py",
                                       "gosrc/languagehost/extra_test.go", "launchers/.DS_Store", "README.md",
                                       "gosrc/languagehost/notes.txt"])
def test_source_digest_ignores_generated_and_unrelated_files(engine_copy, generated):
    """pip compiles exec.py into __pycache__ at install time (with the install time inside): two installs of the
    same wheel must still share one engine."""
    before = engine.sources_digest()
    (engine_copy / generated).parent.mkdir(parents=True, exist_ok=True)
    (engine_copy / generated).write_bytes(b"generated at install time")
    assert engine.sources_digest() == before


def test_engine_version_comes_from_go_mod_not_from_the_installed_sdk(monkeypatch):
    from importlib import metadata

    required = [line.split()[1] for line in (engine.GO_SOURCES / "go.mod").read_text().splitlines()
                if line.split()[:1] == [engine.PULUMI_MODULE]]
    monkeypatch.setattr(metadata, "version", lambda name: "3.216.0")
    assert [f"v{engine.engine_version()}"] == required


def test_prune_lists_other_folders_and_removes_them_only_when_asked(isolated, capsys):
    from rr_pulumi.engine.__main__ import main

    current = fake_engine(engine.engine_folder() / "bin", engine.engine_version())
    stale = [fake_engine(isolated / "cache" / name / "bin", "3.1.0").parent for name in ("v3.1.0-aaaa", "v3.2.0-bbbb")]
    assert engine.stale_folders() == stale
    assert main(["prune"]) == 0
    assert capsys.readouterr().out.split() == [str(p) for p in stale]
    assert all(p.exists() for p in stale)
    assert main(["prune", "--remove"]) == 0
    assert not any(p.exists() for p in stale) and current.exists()


def test_shell_prints_only_the_path_export(isolated, monkeypatch, capsys):
    from rr_pulumi.engine.__main__ import main

    folder = fake_engine(engine.engine_folder() / "bin", engine.engine_version())
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "the-users-own")
    assert main(["shell"]) == 0
    out = capsys.readouterr().out
    assert out == f"export PATH={folder}:/usr/bin:/bin\n"
    result = subprocess.run(["sh", "-c", f'{out.strip()}; echo "$PATH"; echo "$PULUMI_CONFIG_PASSPHRASE"'],
                            capture_output=True, text=True, check=True)
    assert result.stdout.split() == [f"{folder}:/usr/bin:/bin", "the-users-own"]


def test_the_path_export_is_idempotent_and_puts_the_engine_first(tmp_path):
    """`eval "$(rr-pulumi-engine shell)"` twice (a profile sourced again) adds the folder once; a folder already
    on PATH behind another `pulumi` moves to the front. Folders with spaces survive the shell."""
    folder = tmp_path / "engine dir" / "bin"
    script = f'''
        export PATH="/usr/bin:{folder}:/bin"
        for i in 1 2 3; do eval "$({sys.executable} -c 'from rr_pulumi.engine import path_export; from pathlib import Path; print(path_export(Path("{folder}")))')"; done
        printf %s "$PATH"
    '''
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout == f"{folder}:/usr/bin:/bin"


def test_prune_skips_a_folder_whose_build_is_running(isolated):
    import fcntl

    building = isolated / "cache" / "v3.1.0-cccc"
    building.mkdir(parents=True)
    with open(building / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert engine.remove_folder(building) is False
        assert building.exists()
    assert engine.remove_folder(building) is True
    assert not building.exists()
