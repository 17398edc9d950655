"""`rr-pulumi new`: what it writes, what it refuses, and that the README and the examples show what it writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from rr_pulumi import cli, scaffold

ROOT = Path(__file__).resolve().parents[2]
RECIPE = re.compile(r"      # --- rr-pulumi: install.*?# --- end of the rr-pulumi recipe ---\n", re.S)


def test_new_writes_a_ready_project(tmp_path, capsys):
    folder = tmp_path / "acme-infra"
    assert cli.main(["new", str(folder), "--stack", "prod", "--requirement", "rr-pulumi @ file:///w/rr.whl"]) == 0
    written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert written == [".github/scripts/preview_comment.py", ".github/workflows/rr-drift.yml",
                       ".github/workflows/rr-preview.yml", ".gitignore", "Pulumi.prod.yaml", "Pulumi.yaml",
                       "__main__.py", "requirements.txt"]
    project = yaml.safe_load((folder / "Pulumi.yaml").read_text())
    assert project["name"] == "acme-infra"
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}  # relative: committable
    assert yaml.safe_load((folder / "Pulumi.prod.yaml").read_text()) == {
        "config": {"requestrocket:apiUrl": "https://api.requestrocket.com"}}
    assert (folder / "requirements.txt").read_text().splitlines()[-1] == "rr-pulumi @ file:///w/rr.whl"
    assert "venv/" in (folder / ".gitignore").read_text().splitlines()
    for workflow in ("rr-drift.yml", "rr-preview.yml"):
        parsed = yaml.safe_load((folder / ".github" / "workflows" / workflow).read_text())
        assert parsed["env"]["STACK"] == "prod"
        assert parsed["env"]["PULUMI_PARALLEL"] == "32"  # latency-bound API calls, not 4 x the runner's cores
    compile((folder / "__main__.py").read_text(), "__main__.py", "exec")
    assert "pulumi install" in capsys.readouterr().out


def test_emulator_option_points_the_stack_at_a_local_emulator(tmp_path):
    scaffold.create(tmp_path / "p", emulator=scaffold.EMULATOR_URL, requirement_line="rr-pulumi")
    stack = (tmp_path / "p" / "Pulumi.dev.yaml").read_text()
    assert yaml.safe_load(stack) == {"config": {"requestrocket:apiUrl": "http://127.0.0.1:8787"}}
    assert f"rr-emulator --port 8787 --user me={scaffold.EMULATOR_TOKEN}" in stack


def test_a_non_empty_folder_is_refused_without_force(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert cli.main(["new", str(tmp_path), "--requirement", "rr-pulumi"]) == 2
    err = capsys.readouterr().err
    assert "is not empty (notes.txt)" in err and "--force" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # nothing written
    assert cli.main(["new", str(tmp_path), "--force", "--requirement", "rr-pulumi"]) == 0
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / "Pulumi.yaml").exists()


@pytest.mark.parametrize("args, message", [
    (["--stack", "my stack"], "--stack 'my stack'"),
    (["--api-url", "https://a", "--emulator"], "--api-url and --emulator"),
])
def test_bad_options_are_refused_before_anything_is_written(tmp_path, capsys, args, message):
    assert cli.main(["new", str(tmp_path / "p"), *args, "--requirement", "rr-pulumi"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


class FakeDistribution:
    version = "0.1.0"

    def __init__(self, direct_url):
        self.direct_url = direct_url

    def read_text(self, name):
        return json.dumps(self.direct_url) if self.direct_url and name == "direct_url.json" else None


@pytest.mark.parametrize("direct_url, line", [
    ({"url": "file:///tmp/dist/rr_pulumi-0.1.0-py3-none-any.whl", "archive_info": {}},
     "rr-pulumi @ file:///tmp/dist/rr_pulumi-0.1.0-py3-none-any.whl"),
    ({"url": "https://github.com/requestrocket/rr-pulumi", "vcs_info": {"vcs": "git", "commit_id": "abc123"}},
     "rr-pulumi @ git+https://github.com/requestrocket/rr-pulumi@abc123"),
    (None, "rr-pulumi==0.1.0"),
])
def test_requirement_says_how_rr_pulumi_was_installed(monkeypatch, direct_url, line):
    monkeypatch.setattr(scaffold.metadata, "distribution", lambda name: FakeDistribution(direct_url))
    assert scaffold.requirement() == line


def test_the_readme_shows_the_program_new_writes():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Writing a stack\n", 1)[1].split("\n## ", 1)[0]
    [program] = re.findall(r"```python\n(.*?)```", section, re.S)
    assert program == (scaffold.TEMPLATES / "project" / "__main__.py").read_text()


def test_every_workflow_uses_the_one_engine_cache_recipe():
    template = (scaffold.TEMPLATES / "github" / "workflows" / "rr-preview.yml").read_text()
    [recipe] = RECIPE.findall(template)
    for path in [*(scaffold.TEMPLATES / "github" / "workflows").glob("*.yml"),
                 ROOT / "examples" / "gitops" / "pull-request-preview.yml",
                 ROOT / "examples" / "drift-check" / "drift-check.yml"]:
        assert RECIPE.findall(path.read_text()) == [recipe], path
