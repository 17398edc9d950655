"""The quality gates of `make unit` (scripts/quality.py): a finding of any gate fails the run and is named by file;
`go vet` of the language host fails on a finding with vet's own text."""
from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

import rr_pulumi.engine as engine

ROOT = Path(__file__).resolve().parents[2]


def load_quality():
    spec = importlib.util.spec_from_file_location("quality", ROOT / "scripts" / "quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_tool(output: str, code: int) -> list[str]:
    """A command that prints what a checker would and exits as it would."""
    return [sys.executable, "-c", f"import sys; print({output!r}); sys.exit({code})"]


def test_a_finding_of_any_gate_fails_and_is_named_by_gate_and_file(monkeypatch, capsys):
    quality = load_quality()
    monkeypatch.setattr(quality, "GATES", {
        "mypy": fake_tool("rr_pulumi/a.py:3: error: bad  [arg-type]\nrr_pulumi/a.py:3: note: hint\n"
                          "rr_pulumi/b.py:9: error: worse  [index]\nFound 2 errors in 2 files", 1),
        "ruff": fake_tool("rr_pulumi/a.py:1:5: F401 unused\nFound 1 error.", 1),
        "go vet": fake_tool("go vet: no findings", 0),
    })
    assert quality.main([]) == 1
    summary = capsys.readouterr().err
    assert "mypy: 2 finding(s) in rr_pulumi/a.py (1), rr_pulumi/b.py (1)" in summary  # the note is no finding
    assert "ruff: 1 finding(s) in rr_pulumi/a.py (1)" in summary
    assert "go vet" not in summary


def test_clean_gates_pass_and_a_chosen_gate_runs_alone(monkeypatch, capsys):
    quality = load_quality()
    monkeypatch.setattr(quality, "GATES", {"mypy": fake_tool("Success: no issues found", 0),
                                           "ruff": fake_tool("rr_pulumi/a.py:1:5: F401 unused", 1),
                                           "go vet": fake_tool("", 0)})
    assert quality.main(["mypy", "vet"]) == 0
    assert "== ruff" not in capsys.readouterr().out
    assert quality.main(["pylint"]) == 2


@pytest.mark.skipif(shutil.which("go") is None, reason="no Go toolchain on PATH")
def test_a_vet_finding_in_the_language_host_fails_with_vets_text(tmp_path, monkeypatch):
    sources = tmp_path / "gosrc"
    (sources / "languagehost").mkdir(parents=True)
    (sources / "go.mod").write_text("module example.com/vetme\n\ngo 1.22\n")
    (sources / "languagehost" / "main.go").write_text(
        'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Printf("%d\\n", "not a number")\n}\n')
    monkeypatch.setattr(engine, "GO_SOURCES", sources)
    with pytest.raises(engine.EngineError) as failed:
        engine.vet_language_host(verbose=False)
    assert "go vet of the language host failed" in str(failed.value)
    assert "fmt.Printf format %d has arg" in str(failed.value)
    assert sorted(p.name for p in sources.rglob("*")) == ["go.mod", "languagehost", "main.go"]  # vetted a copy
