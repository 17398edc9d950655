"""How the toolchain is chosen: $RR_PULUMI_TOOLCHAIN, else an official `pulumi` in the supported range on PATH,
else our engine from the cache keyed by version and source digest; what the key covers; pruning; the shell line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rr_pulumi import engine


def fake_engine(folder: Path, version: str, names=engine.EXECUTABLES) -> Path:
    folder.mkdir(parents=True)
    for name in names:
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


OFFICIAL = ("pulumi", "pulumi-language-python", "pulumi-language-python-exec", "pulumi-resource-pulumi-python")


@pytest.mark.parametrize("version", ["3.216.0", "3.272.0", "3.277.0-dev.0", "3.999.1"])
def test_an_official_pulumi_in_the_range_is_used_without_our_launchers(isolated, monkeypatch, version):
    official = fake_engine(isolated / "pulumi-bin", version, OFFICIAL)
    monkeypatch.setenv("PATH", f"{official}{os.pathsep}/usr/bin:/bin")
    chain = engine.find_toolchain(verbose=False, build=False)
    assert (chain.folder, chain.version, chain.origin) == (official, version, "PATH")
    assert chain.pulumi == official / "pulumi"


@pytest.mark.parametrize(("version", "names", "reason"), [
    ("3.1.0", OFFICIAL, r"is v3\.1\.0, outside the supported >=3\.216\.0,<4\.0\.0"),
    ("3.215.9", OFFICIAL, r"is v3\.215\.9, outside the supported"),
    ("4.0.0", OFFICIAL, r"is v4\.0\.0, outside the supported"),
    ("3.260.0", ("pulumi",), r"\(v3\.260\.0\) has no `pulumi-language-python` beside it"),
    ("not a version", OFFICIAL, r"printed no version"),
])
def test_a_refused_pulumi_on_path_falls_back_to_the_cache(isolated, monkeypatch, version, names, reason):
    on_path = fake_engine(isolated / "user-bin", version, names)
    monkeypatch.setenv("PATH", f"{on_path}{os.pathsep}/usr/bin:/bin")
    cached = fake_engine(engine.engine_folder() / "bin", engine.engine_version())
    assert engine.engine_folder() == isolated / "cache" / f"v{engine.engine_version()}-{engine.sources_digest()}"
    assert engine.ensure_engine(verbose=False) == cached
    # Without a cached engine and without Go, the error names what was found and why it was refused.
    engine.shutil.rmtree(cached)
    monkeypatch.setattr(engine.shutil, "which", lambda name: str(on_path / name) if name == "pulumi" else None)
    with pytest.raises(engine.EngineError, match=f"no usable Pulumi: `?{on_path}.*{reason}.*no Go toolchain"):
        engine.ensure_engine(verbose=False)


def test_without_pulumi_and_go_the_error_says_what_to_install(isolated, monkeypatch):
    monkeypatch.setattr(engine.shutil, "which", lambda name: None)
    with pytest.raises(engine.EngineError) as raised:
        engine.ensure_engine(verbose=False)
    assert str(raised.value) == (
        "no usable Pulumi: no `pulumi` on PATH (RR_PULUMI_TOOLCHAIN unset); no Go toolchain to build rr-pulumi's "
        "engine. Install Pulumi >=3.216.0,<4.0.0 (https://www.pulumi.com/docs/iac/download-install/), or Go >= "
        f"1.26 to build Pulumi v{engine.engine_version()}")


def test_the_toolchain_variable_wins_over_path_and_never_falls_back(isolated, monkeypatch):
    on_path = fake_engine(isolated / "user-bin", engine.engine_version())
    chosen = fake_engine(isolated / "official", "3.272.0", OFFICIAL)
    monkeypatch.setenv("PATH", f"{on_path}{os.pathsep}/usr/bin:/bin")
    monkeypatch.setenv("RR_PULUMI_TOOLCHAIN", str(chosen))
    assert engine.find_toolchain(verbose=False, build=False) == engine.Toolchain(chosen, "3.272.0",
                                                                                 "RR_PULUMI_TOOLCHAIN")
    monkeypatch.setenv("RR_PULUMI_TOOLCHAIN", str(chosen / "pulumi"))  # the executable itself names its folder
    assert engine.ensure_engine(verbose=False) == chosen
    old = fake_engine(isolated / "old", "3.100.0", OFFICIAL)
    monkeypatch.setenv("RR_PULUMI_TOOLCHAIN", str(old))
    with pytest.raises(engine.EngineError, match=rf"^RR_PULUMI_TOOLCHAIN={old}: {old}/pulumi is v3\.100\.0, "
                       r"outside the supported >=3\.216\.0,<4\.0\.0$"):
        engine.ensure_engine(verbose=False)
    monkeypatch.setenv("RR_PULUMI_TOOLCHAIN", str(isolated / "missing"))
    with pytest.raises(engine.EngineError, match="has no executable `pulumi`"):
        engine.ensure_engine(verbose=False)


def test_which_names_the_choice_and_builds_nothing(isolated, monkeypatch, capsys):
    from rr_pulumi.engine.__main__ import main

    official = fake_engine(isolated / "pulumi-bin", "3.272.0", OFFICIAL)
    monkeypatch.setenv("PATH", f"{official}{os.pathsep}/usr/bin:/bin")
    assert main(["which"]) == 0
    assert capsys.readouterr().out == f"{official}/pulumi v3.272.0 (from PATH; supported >=3.216.0,<4.0.0)\n"
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert main(["which"]) == 1
    assert "is not built yet: `rr-pulumi-engine ensure` builds it" in capsys.readouterr().err
    assert not engine.engine_folder().exists()


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


def test_the_project_plugin_stub_says_when_the_virtualenv_lacks_rr_pulumi(tmp_path):
    """The stub `rr-pulumi new` writes hands over to rr-pulumi in the project's virtualenv; without it, one line."""
    stub = engine.write_project_plugin(tmp_path)
    assert stub == tmp_path / "rr-provider" / "pulumi-resource-pulumi-python" and os.access(stub, os.X_OK)
    python = Path("/usr/bin/python3")
    if not python.exists():
        pytest.skip("needs a system python3 without rr-pulumi")
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python").symlink_to(python)  # a Python that has no rr_pulumi
    result = subprocess.run([str(stub), "127.0.0.1:1"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "PULUMI_RUNTIME_VIRTUALENV": "venv"})
    assert result.returncode == 1
    assert result.stderr.strip().endswith("; run `pulumi install` (requirements.txt names it)")
    assert result.stderr.startswith("rr-pulumi is not installed in ")
