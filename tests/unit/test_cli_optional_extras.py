"""Commands that need an optional extra say how to install it, in one line, when it is missing (no traceback)."""

import subprocess
import sys

import pytest


def python(code: str, cwd, missing: str = "") -> subprocess.CompletedProcess:
    """`code` in a fresh Python, where `missing` cannot be imported (as if its extra had not been installed)."""
    prelude = f"import sys; sys.modules[{missing!r}] = None\n" if missing else "import sys\n"
    return subprocess.run([sys.executable, "-c", prelude + code], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def install_command(extra: str, cwd) -> str:
    """How that Python would install the extra (rr-pulumi as it was installed, plus the extra)."""
    done = python(f"from rr_pulumi.installation import install_command; print(install_command({extra!r}))", cwd)
    assert done.stdout.startswith(f"pip install 'rr-pulumi[{extra}]"), done.stdout + done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("argv", [[], ["path"], ["shipped"], ["list"]])
def test_the_policy_pack_without_the_policy_extra(argv, tmp_path):
    done = python(f"import runpy; sys.argv = ['rr-pulumi-policy', *{argv!r}]\n"
                  "runpy.run_module('rr_pulumi.policy', run_name='__main__')", tmp_path, "pulumi_policy")  # python -m
    assert (done.returncode, done.stdout, done.stderr) == (2, "", (
        "rr-pulumi-policy: the policy pack needs rr-pulumi's policy extra (no module named 'pulumi_policy'): "
        f"{install_command('policy', tmp_path)}\n"))


def test_the_policy_console_script_without_the_policy_extra_still_answers_help_and_version(tmp_path):
    entry = "from rr_pulumi.policy.__main__ import main; sys.exit(main({}))"  # what `rr-pulumi-policy` runs
    done = python(entry.format("['path']"), tmp_path, "pulumi_policy")
    assert done.returncode == 2 and done.stderr.startswith("rr-pulumi-policy: the policy pack needs")
    assert python(entry.format("['--version']"), tmp_path, "pulumi_policy").stdout.startswith("rr-pulumi-policy ")
    assert python(entry.format("['--help']"), tmp_path, "pulumi_policy").returncode == 0


def test_new_for_the_emulator_needs_no_emulator_extra(tmp_path):
    done = python("from rr_pulumi.tools.cli import main; sys.exit(main(['new', 'p', '--emulator']))", tmp_path, "jwt")
    assert done.returncode == 0, done.stderr
    assert "requestrocket:dataPlaneUrl: http://127.0.0.1:8787/dataplane" in (tmp_path / "p" / "Pulumi.dev.yaml").read_text()


@pytest.mark.parametrize("missing", ["uvicorn", "jwt"])
def test_the_emulator_without_the_emulator_extra(missing, tmp_path):
    done = python("from rr_pulumi.emulator.__main__ import main; sys.exit(main(['--port', '0']))", tmp_path, missing)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", (
        f"rr-emulator: the emulator needs rr-pulumi's emulator extra (no module named {missing!r}): "
        f"{install_command('emulator', tmp_path)}\n"))


def test_install_command_adds_the_extra_to_rr_pulumi_as_it_was_installed(monkeypatch):
    from rr_pulumi import installation

    from .test_scaffold import GIT, FakeDistribution

    monkeypatch.setattr(installation.metadata, "distribution", lambda name: FakeDistribution(GIT))
    assert installation.install_command("policy") == \
        "pip install 'rr-pulumi[policy] @ git+https://github.com/requestrocket/rr-pulumi@abc123'"
