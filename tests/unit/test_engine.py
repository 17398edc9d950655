"""How the engine is chosen: a matching `pulumi` on PATH, else the cache keyed by version and source digest."""

from __future__ import annotations

import os
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
    on_path = fake_engine(isolated / "user-bin", engine.pinned_version())
    monkeypatch.setenv("PATH", f"{on_path}{os.pathsep}/usr/bin:/bin")
    assert engine.ensure_engine(verbose=False) == on_path


def test_other_version_on_path_falls_back_to_the_cache(isolated, monkeypatch):
    on_path = fake_engine(isolated / "user-bin", "3.1.0")
    monkeypatch.setenv("PATH", f"{on_path}{os.pathsep}/usr/bin:/bin")
    cached = fake_engine(
        isolated / "cache" / f"v{engine.pinned_version()}-{engine.sources_digest()}" / "bin", engine.pinned_version())
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


def test_source_digest_follows_the_language_host(tmp_path, monkeypatch):
    import shutil as _shutil
    copy = tmp_path / "engine"
    _shutil.copytree(engine.GO_SOURCES.parent, copy, ignore=_shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(engine, "GO_SOURCES", copy / "gosrc")
    monkeypatch.setattr(engine, "LAUNCHERS", copy / "launchers")
    before = engine.sources_digest()
    (copy / "gosrc" / "languagehost" / "exec.py").write_text("# changed\n")
    assert engine.sources_digest() != before
