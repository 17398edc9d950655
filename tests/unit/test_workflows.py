"""The GitHub workflows `rr-pulumi new` writes (and the examples, and the README's engine-build alternative) fail
when any command in them fails.

A small runner plays a job as GitHub's runner does, as far as these workflows need: the steps in order, each `run:`
written to a file and run with the shell GitHub would use (unspecified: `bash -e {0}`; `shell: bash`:
`bash --noprofile --norc -eo pipefail {0}`; from GitHub's workflow-syntax docs), the step, job and workflow `env`,
`working-directory`, `$GITHUB_OUTPUT`/`$GITHUB_PATH`/`$GITHUB_STEP_SUMMARY`, `${{ }}` expressions and `if:`
conditions, `continue-on-error`, and the job stopping at its first failed step. `uses:` steps are skipped (the
official `pulumi` that pulumi/actions installs is played by a stub on PATH). Every command the steps call
(`pulumi`, `rr-pulumi`, `python`, `pip`, `rr-pulumi-engine`) is a stub: with all of them succeeding the job passes;
with any one of them failing, the job must fail.
"""

from __future__ import annotations

import re
import shlex
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml

from rr_pulumi.tools import scaffold

ROOT = Path(__file__).resolve().parents[2]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# What GitHub's runner runs for a `shell:` value on Linux (docs: jobs.<job_id>.steps[*].shell).
SHELLS = {
    None: "bash -e {0}",
    "bash": "bash --noprofile --norc -eo pipefail {0}",
    "sh": "sh -e {0}",
    "python": "python {0}",
}
COMMANDS = ("pulumi", "rr-pulumi", "python", "pip", "rr-pulumi-engine")
SUCCEEDING = {
    "pulumi": 'echo "Previewing update ($*)"; printf "Resources:\\n    12 unchanged\\n"',
    "rr-pulumi": 'echo "no drift: 12 resources checked"',
    "pip": 'echo "installed"',
    "rr-pulumi-engine": 'case "$1" in key) echo "v3.260.0-0123abcd" ;; *) mkdir -p "$HOME/engine/bin"; echo "$HOME/engine/bin" ;; esac',
    # `python -m venv DIR` makes DIR/bin with the same stubs; anything else runs the real Python.
    "python": ('if [ "$1" = -m ] && [ "$2" = venv ]; then mkdir -p "$3/bin"; for c in pip rr-pulumi rr-pulumi-engine; '
               'do cp "$STUBS/$c" "$3/bin/$c"; done; exit 0; fi\n'
               f'exec {shlex.quote(sys.executable)} "$@"'),
}


@dataclass
class Outcome:
    failed_step: Optional[str] = None
    ran: list[str] = field(default_factory=list)
    log: str = ""

    @property
    def failed(self) -> bool:
        return self.failed_step is not None


def shell_command(shell: Optional[str], script: Path) -> list[str]:
    template = SHELLS.get(shell, shell)
    return [part.replace("{0}", str(script)) for part in shlex.split(template)]


def evaluate(expression: str, env: dict[str, str], outputs: dict[str, dict[str, str]]) -> str:
    """A `${{ }}` value: env.X, steps.ID.outputs.KEY; any other context (vars, secrets, github) is empty here."""
    parts = expression.split(".")
    if parts[0] == "env" and len(parts) == 2:
        return env.get(parts[1], "")
    if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
        return outputs.get(parts[1], {}).get(parts[3], "")
    if parts[0] == "runner" and parts[1:] == ["os"]:
        return "Linux"
    return ""


def substitute(text: str, env: dict[str, str], outputs: dict[str, dict[str, str]]) -> str:
    return EXPRESSION.sub(lambda m: evaluate(m.group(1), env, outputs), text)


def condition(expression: Any, env: dict[str, str], outputs: dict[str, dict[str, str]]) -> bool:
    """An `if:` of these workflows: `A == 'x'`, `A != 'x'` (on a job that has not failed)."""
    if expression is None:
        return True
    text = EXPRESSION.sub(lambda m: m.group(1), str(expression)).strip()
    found = re.fullmatch(r"(\S+)\s*(==|!=)\s*'([^']*)'", text)
    assert found, f"the test runner does not understand if: {expression!r}"
    left = evaluate(found.group(1), env, outputs)
    return (left == found.group(3)) == (found.group(2) == "==")


def run_job(workflow: dict[str, Any], job: str, workspace: Path, stubs: Path) -> Outcome:
    steps = workflow["jobs"][job]["steps"]
    default_shell = ((workflow["jobs"][job].get("defaults") or workflow.get("defaults") or {}).get("run") or {}).get("shell")
    temp = workspace.parent / "runner-temp"
    temp.mkdir(exist_ok=True)
    files = {name: temp / name for name in ("output", "path", "summary")}
    for path in files.values():
        path.write_text("")
    base = {"PATH": f"{stubs}:/usr/bin:/bin", "HOME": str(workspace.parent / "home"), "STUBS": str(stubs),
            "RUNNER_TEMP": str(temp), "GITHUB_OUTPUT": str(files["output"]), "GITHUB_PATH": str(files["path"]),
            "GITHUB_STEP_SUMMARY": str(files["summary"]), "GITHUB_WORKSPACE": str(workspace)}
    env = dict(base)
    for key, value in {**workflow.get("env", {}), **workflow["jobs"][job].get("env", {})}.items():
        env[key] = substitute(str(value), env, {})
    outputs: dict[str, dict[str, str]] = {}
    added_path: list[str] = []
    outcome = Outcome()
    for index, step in enumerate(steps):
        name = step.get("name") or step.get("uses") or f"step {index}"
        if not condition(step.get("if"), env, outputs) or "run" not in step:
            continue
        step_env = {**env, **{k: substitute(str(v), env, outputs) for k, v in (step.get("env") or {}).items()}}
        step_env["PATH"] = ":".join([*reversed(added_path), env["PATH"]])
        script = temp / f"step-{index}.sh"
        script.write_text(substitute(step["run"], env, outputs))
        cwd = workspace / substitute(step.get("working-directory", "."), env, outputs)
        files["output"].write_text("")
        done = subprocess.run(shell_command(step.get("shell", default_shell), script), cwd=cwd, env=step_env,
                              capture_output=True, text=True, timeout=120)
        outcome.ran.append(name)
        outcome.log += f"--- {name} (exit {done.returncode})\n{done.stdout}{done.stderr}"
        outputs[step.get("id", f"step-{index}")] = dict(
            line.split("=", 1) for line in files["output"].read_text().splitlines() if "=" in line)
        added_path = [line for line in files["path"].read_text().splitlines() if line]
        if done.returncode != 0 and not step.get("continue-on-error"):
            outcome.failed_step = name
            break
    return outcome


def make_stubs(folder: Path, failing: Optional[str] = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for command in COMMANDS:
        code = 2 if command == "rr-pulumi" else 1  # every rr-pulumi command exits 2 when it could not do its job
        body = f'echo "{command}: stub failure" >&2; exit {code}' if command == failing else SUCCEEDING[command]
        path = folder / command
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return folder


# ----------------------------------------------------------------------------------------------------------------
# The workflows under test, each with the repository it runs in


def generated_repo(folder: Path, requirement: str = "rr-pulumi @ git+https://github.com/requestrocket/rr-pulumi@v0.1.0") -> Path:
    scaffold.create(folder, stack="prod", requirement_line=requirement)
    return folder


def example_repo(folder: Path) -> Path:
    generated_repo(folder / "infra" / "requestrocket")
    scripts = folder / ".github" / "scripts"
    scripts.mkdir(parents=True)
    (scripts / "preview_comment.py").write_text((ROOT / "examples" / "gitops" / "preview_comment.py").read_text())
    drift = folder / "examples" / "drift-check"
    drift.mkdir(parents=True)
    (drift / "drift-check.sh").write_text((ROOT / "examples" / "drift-check" / "drift-check.sh").read_text())
    return folder


def readme_engine_workflow() -> dict[str, Any]:
    """The README's opt-in engine-build alternative: its steps in place of the recipe of the generated preview."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## CI\n", 1)[1].split("\n## ", 1)[0]
    [steps] = re.findall(r"```yaml\n(.*?)```", section, re.S)
    workflow = yaml.safe_load(scaffold.workflow_files("prod")["rr-preview.yml"])
    recipe = [i for i, step in enumerate(workflow["jobs"]["preview"]["steps"])
              if step.get("uses", "").startswith("pulumi/actions") or "pulumi install" in step.get("run", "")]
    job = workflow["jobs"]["preview"]["steps"]
    job[recipe[0]:recipe[-1] + 1] = yaml.safe_load(steps)
    return workflow


WORKFLOWS = {
    "new: rr-preview.yml": (lambda: yaml.safe_load(scaffold.workflow_files("prod")["rr-preview.yml"]), generated_repo),
    "new: rr-drift.yml": (lambda: yaml.safe_load(scaffold.workflow_files("prod")["rr-drift.yml"]), generated_repo),
    "examples/gitops": (lambda: yaml.safe_load((ROOT / "examples/gitops/pull-request-preview.yml").read_text()),
                        example_repo),
    "examples/drift-check": (lambda: yaml.safe_load((ROOT / "examples/drift-check/drift-check.yml").read_text()),
                             example_repo),
    "README: engine build": (readme_engine_workflow, generated_repo),
}


def commands_called(workflow: dict[str, Any]) -> list[str]:
    """The stubbed commands the jobs' scripts call (the first word of each simple command, path stripped)."""
    scripts = "\n".join(step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"])
    if "drift-check.sh" in scripts:
        scripts += "\n" + (ROOT / "examples/drift-check/drift-check.sh").read_text()
    called = set()
    for line in scripts.splitlines():
        for segment in re.split(r"\|\||&&|[;|]|\$\(", line.split("#")[0] if line.lstrip().startswith("#") else line):
            words = [w for w in segment.split() if w not in ("if", "then", "do", "!", "{")]
            if words:
                called.add(words[0].rsplit("/", 1)[-1])
    return [c for c in COMMANDS if c in called]


def cases() -> list[Any]:
    return [pytest.param(name, command, id=f"{name} / failing {command}")
            for name, (load, _) in WORKFLOWS.items() for command in commands_called(load())]


def play(tmp_path: Path, name: str, failing: Optional[str] = None) -> Outcome:
    load, make_repo = WORKFLOWS[name]
    workflow = load()
    workspace = make_repo(tmp_path / "repo")
    (tmp_path / "home").mkdir(exist_ok=True)
    [job] = workflow["jobs"]
    return run_job(workflow, job, workspace, make_stubs(tmp_path / "stubs", failing))


@pytest.mark.parametrize("name", list(WORKFLOWS))
def test_the_job_passes_when_every_command_succeeds(tmp_path, name):
    outcome = play(tmp_path, name)
    assert not outcome.failed, outcome.log
    assert len(outcome.ran) >= 3  # the install, the check itself and its result


@pytest.mark.parametrize("name, command", cases())
def test_the_job_fails_when_one_command_fails(tmp_path, name, command):
    outcome = play(tmp_path, name, failing=command)
    assert outcome.failed, outcome.log
    assert f"{command}: stub failure" in outcome.log


def test_every_workflow_calls_the_commands_it_installs():
    """The failure cases above cover what each workflow really runs (a regex slip would make them vacuous)."""
    assert {name: commands_called(load()) for name, (load, _) in WORKFLOWS.items()} == {
        "new: rr-preview.yml": ["pulumi", "rr-pulumi", "python"],
        "new: rr-drift.yml": ["pulumi", "rr-pulumi"],
        "examples/gitops": ["pulumi", "rr-pulumi", "python"],
        "examples/drift-check": ["pulumi", "rr-pulumi"],
        "README: engine build": ["pulumi", "rr-pulumi", "python", "pip", "rr-pulumi-engine"],
    }


@pytest.mark.parametrize("name", list(WORKFLOWS))
def test_a_requirement_only_this_machine_has_fails_the_install_step_loudly(tmp_path, name):
    load, make_repo = WORKFLOWS[name]
    workflow = load()
    workspace = make_repo(tmp_path / "repo")
    project = workspace / "infra" / "requestrocket" if (workspace / "infra").exists() else workspace
    (project / "requirements.txt").write_text(scaffold.requirements_txt("rr-pulumi @ file:///home/me/rr.whl"))
    (tmp_path / "home").mkdir()
    [job] = workflow["jobs"]
    outcome = run_job(workflow, job, workspace, make_stubs(tmp_path / "stubs"))
    assert outcome.failed_step == "Install the project's requirements (rr-pulumi included)"
    assert "::error file=requirements.txt::requirements.txt installs from a file:// path" in outcome.log
    assert "file:///home/me/rr.whl" in outcome.log  # the offending line, as grep -n prints it


@pytest.mark.parametrize("name", list(WORKFLOWS))
def test_every_run_step_fails_fast(name):
    """Every step runs under pipefail, and no command's failure hides inside an `echo "$(...)"`."""
    workflow = WORKFLOWS[name][0]()
    [job] = workflow["jobs"].values()
    shell = ((job.get("defaults") or workflow.get("defaults") or {}).get("run") or {}).get("shell")
    for step in job["steps"]:
        if "run" not in step:
            continue
        assert "pipefail" in SHELLS.get(step.get("shell", shell), ""), step
        assert not re.search(r"echo[^\n]*\$\(", step["run"]), step["run"]
        if "\n" in step["run"].strip():
            assert step["run"].startswith("set -euo pipefail\n"), step["run"]


def test_no_workflow_needs_go_and_every_one_installs_the_official_cli():
    for name in ("new: rr-preview.yml", "new: rr-drift.yml", "examples/gitops", "examples/drift-check"):
        workflow = WORKFLOWS[name][0]()
        [job] = workflow["jobs"].values()
        uses = [step.get("uses", "") for step in job["steps"]]
        assert not any("setup-go" in u or u.startswith("actions/cache") for u in uses), name
        [install] = [step for step in job["steps"] if step.get("uses", "").startswith("pulumi/actions@")]
        assert "command" not in install.get("with", {}) and install["with"]["pulumi-version"], name
        assert "__" not in install["with"]["pulumi-version"], name


def test_the_shell_github_uses_is_the_one_played():
    assert shell_command(None, Path("/s")) == ["bash", "-e", "/s"]
    assert shell_command("bash", Path("/s")) == ["bash", "--noprofile", "--norc", "-eo", "pipefail", "/s"]


@pytest.mark.parametrize("stack", ["dev", "1.10", "0x1F", "null", "yes", "prod-2"])
def test_the_stack_name_reads_back_as_the_same_string(stack):
    """Unquoted, YAML would read 1.10 as a number and null as nothing: `--stack "$STACK"` would name another stack."""
    from rr_pulumi.tools.scaffold import workflow_files

    for name, text in workflow_files(stack).items():
        assert yaml.safe_load(text)["env"]["STACK"] == stack, name
