"""`rr-pulumi new`: what it writes, what it refuses, and that the README and the examples show what it writes."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from rr_pulumi import installation
from rr_pulumi.tools import cli
from rr_pulumi.tools import scaffold
from rr_pulumi.api import config as rr_config

ROOT = Path(__file__).resolve().parents[2]
RECIPE = re.compile(r"      # --- rr-pulumi: the Pulumi CLI.*?# --- end of the rr-pulumi recipe ---\n", re.S)


def test_new_writes_a_ready_project(tmp_path, capsys):
    folder = tmp_path / "acme-infra"
    assert cli.main(["new", str(folder), "--stack", "prod", "--requirement", "rr-pulumi @ file:///w/rr.whl"]) == 0
    written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert written == [".github/scripts/preview_comment.py", ".github/workflows/rr-drift.yml",
                       ".github/workflows/rr-preview.yml", ".gitignore", "Pulumi.prod.yaml", "Pulumi.yaml",
                       "__main__.py", "requirements.txt", "rr-provider/pulumi-resource-pulumi-python"]
    project = yaml.safe_load((folder / "Pulumi.yaml").read_text())
    assert project["name"] == "acme-infra"
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}  # relative: committable
    # The project's dynamic providers are served by rr-pulumi's server under any `pulumi` (relative: committable).
    assert project["plugins"] == {"providers": [{"name": "pulumi-python", "path": "rr-provider"}]}
    assert os.access(folder / "rr-provider" / "pulumi-resource-pulumi-python", os.X_OK)
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
    assert yaml.safe_load(stack) == {"config": {"requestrocket:apiUrl": "http://127.0.0.1:8787",
                                                "requestrocket:dataPlaneUrl": "http://127.0.0.1:8787/dataplane",
                                                "requestrocket:rateLimitPerMinute": 1000}}
    assert f"rr-emulator --port 8787 --user me={scaffold.EMULATOR_TOKEN}" in stack


def test_the_emulator_stack_is_paced_at_the_emulator_user_s_plan(tmp_path):
    """`rr-emulator --user me=TOKEN` makes a Team user (1000/min): the stack paces at that, not Basic's 100."""
    from rr_pulumi.emulator.backend import PLANS

    scaffold.create(tmp_path / "p", emulator=scaffold.EMULATOR_URL, requirement_line="rr-pulumi")
    config = yaml.safe_load((tmp_path / "p" / "Pulumi.dev.yaml").read_text())["config"]
    assert rr_config.settings_from(config.get, env={}).rate_limit_per_minute == PLANS["team"]
    scaffold.create(tmp_path / "q", requirement_line="rr-pulumi")  # the real service: the plan is the user's to set
    config = yaml.safe_load((tmp_path / "q" / "Pulumi.dev.yaml").read_text())["config"]
    assert rr_config.settings_from(config.get, env={}).rate_limit_per_minute == 100


def test_the_emulator_s_data_plane_makes_the_proxy_url(tmp_path):
    """`proxy_url` is callable on the emulator: its data plane is `{emulator URL}/dataplane` (docs/emulator.md)."""
    assert cli.main(["new", str(tmp_path / "p"), "--emulator", "http://127.0.0.1:9001/", "--requirement",
                     "rr-pulumi"]) == 0
    config = yaml.safe_load((tmp_path / "p" / "Pulumi.dev.yaml").read_text())["config"]
    settings = rr_config.settings_from(config.get, env={})
    assert settings.proxy_url("eu-west-1", "p-1") == "http://127.0.0.1:9001/dataplane/api/p-1"


WHEEL = {"url": "file:///tmp/dist/rr_pulumi-0.1.0-py3-none-any.whl", "archive_info": {}}
GIT = {"url": "https://github.com/requestrocket/rr-pulumi", "vcs_info": {"vcs": "git", "commit_id": "abc123"}}


class FakeDistribution:
    version = "0.1.0"

    def __init__(self, direct_url):
        self.direct_url = direct_url

    def read_text(self, name):
        return json.dumps(self.direct_url) if self.direct_url and name == "direct_url.json" else None


@pytest.mark.parametrize("direct_url, line", [
    (WHEEL, "rr-pulumi @ file:///tmp/dist/rr_pulumi-0.1.0-py3-none-any.whl"),
    (GIT, "rr-pulumi @ git+https://github.com/requestrocket/rr-pulumi@abc123"),
    (None, "rr-pulumi==0.1.0"),
])
def test_requirement_says_how_rr_pulumi_was_installed(monkeypatch, direct_url, line):
    monkeypatch.setattr(installation.metadata, "distribution", lambda name: FakeDistribution(direct_url))
    assert scaffold.requirement() == line


def test_a_wheel_on_this_machine_is_written_with_a_warning_naming_requirement(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(installation.metadata, "distribution", lambda name: FakeDistribution(WHEEL))
    assert cli.main(["new", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "requirements.txt").read_text().splitlines()[-1] == f"rr-pulumi @ {WHEEL['url']}"
    assert capsys.readouterr().err == (
        f"rr-pulumi new: warning: requirements.txt installs rr-pulumi from {WHEEL['url']}, which only this machine "
        "has: `pip install -r requirements.txt` fails in CI (GitHub workflows) and on other machines; pass "
        "--requirement SPEC to name a source they can reach "
        "(e.g. 'rr-pulumi @ git+https://github.com/requestrocket/rr-pulumi@<tag>')\n")

    pinned = "rr-pulumi @ git+https://github.com/requestrocket/rr-pulumi@v0.1.0"
    assert cli.main(["new", str(tmp_path / "q"), "--requirement", pinned]) == 0  # --requirement wins, no warning
    assert (tmp_path / "q" / "requirements.txt").read_text().splitlines()[-1] == pinned
    assert capsys.readouterr().err == ""


def test_the_readme_shows_the_program_new_writes():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Writing a stack\n", 1)[1].split("\n## ", 1)[0]
    [program] = re.findall(r"```python\n(.*?)```", section, re.S)
    assert program == (scaffold.TEMPLATES / "project" / "__main__.py").read_text()


def test_every_workflow_uses_the_one_install_recipe():
    [recipe] = RECIPE.findall(scaffold.workflow_files("dev")["rr-preview.yml"])
    assert scaffold.workflow_files("dev")["rr-drift.yml"].count(recipe) == 1
    for path in [ROOT / "examples" / "gitops" / "pull-request-preview.yml",
                 ROOT / "examples" / "drift-check" / "drift-check.yml"]:
        assert RECIPE.findall(path.read_text()) == [recipe], path


@pytest.mark.parametrize("option", ["api_url", "emulator"])
@pytest.mark.parametrize("url", ["not a url", "http://127.0.0.1:99999", "ftp://example.com"])
def test_a_url_that_is_not_an_http_url_is_refused_before_anything_is_written(tmp_path, option, url):
    # Else --api-url wrote a config every later command refuses, and --emulator with a bad port was a traceback.
    folder = tmp_path / "proj"
    flag = "--api-url" if option == "api_url" else "--emulator"
    with pytest.raises(scaffold.ScaffoldError, match=f"^{flag} must be an absolute http"):
        scaffold.create(folder, requirement_line="rr-pulumi", **{option: url})
    assert not folder.exists()
