"""A user's path from the wheel, with nothing of this checkout: the README's "Writing a stack" block, run as it is.

The wheel (built once per session) is installed into fresh virtualenvs in a temporary HOME outside the checkout;
the environment is a user's: the system Python on PATH, the user's own passphrase, no PYTHONPATH, the engine on
PATH only through `eval "$(rr-pulumi-engine shell)"`. The package, pip and Go caches are the machine's, so nothing
is downloaded twice and the engine is not rebuilt.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from rr_pulumi import engine

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
EMULATOR_PORT = 8787  # the README's
EMULATOR_URL = f"http://127.0.0.1:{EMULATOR_PORT}"
TOKEN = "u-local-dev-token"  # the README's emulator user
PASSPHRASE = "a-passphrase-the-user-chose-3141"


def writing_a_stack_block() -> str:
    """The first shell block of the README's "Writing a stack" section."""
    section = README.read_text().split("\n## Writing a stack\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, 'README.md: "Writing a stack" has no sh block'
    return match.group(1)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The sdist and, built from it, the wheel, as a release would make them."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [built] = out.glob("rr_pulumi-*.whl")
    return built


def _machine_caches() -> dict[str, str]:
    """The machine's package caches, named explicitly because the test's HOME is a temporary folder."""
    caches = {"RR_PULUMI_ENGINE_CACHE": str(engine.cache_root())}
    pip_cache = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True, text=True)
    if pip_cache.returncode == 0:
        caches["PIP_CACHE_DIR"] = pip_cache.stdout.strip()
    if shutil.which("go"):
        values = subprocess.run(["go", "env", "GOPATH", "GOMODCACHE", "GOCACHE"], capture_output=True, text=True)
        caches.update(zip(("GOPATH", "GOMODCACHE", "GOCACHE"), values.stdout.split(), strict=False))
    return caches


@pytest.fixture
def user_env(tmp_path) -> dict[str, str]:
    """A user's shell: the system Python and Go on PATH, a HOME and PULUMI_HOME of its own (Pulumi reads the home
    folder from the password database, not $HOME), the user's passphrase."""
    home = tmp_path / "home"
    home.mkdir()
    path = [str(Path(sys.base_prefix) / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]
    if shutil.which("go"):
        path.append(str(Path(shutil.which("go")).parent))
    return {"HOME": str(home), "PATH": os.pathsep.join(path), "LANG": "C.UTF-8", "TMPDIR": str(tmp_path),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "PULUMI_HOME": str(home / ".pulumi"), **_machine_caches()}


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _stop_group(proc: subprocess.Popen) -> None:
    """End the block's process group (the emulator it left running in the background)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


class Shell:
    """The user's shell after the README block: its environment and folder."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.env, self.cwd = env, cwd

    def run(self, *command: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(list(command), cwd=self.cwd, env=self.env, capture_output=True, text=True,
                              timeout=timeout)


def _run_readme_block(workdir: Path, env: dict[str, str], wheel: Path) -> tuple[subprocess.Popen, Shell, float]:
    env_file, log = workdir / "env.bin", workdir / "block.log"
    script = "set -e\n" + writing_a_stack_block() + f'\nenv -0 > "{env_file}"\n'
    started = time.monotonic()
    with open(log, "w") as output:
        proc = subprocess.Popen(["bash", "-c", script], cwd=workdir, stdout=output, stderr=subprocess.STDOUT,
                                env={**env, "RR_PULUMI": wheel.as_uri()}, start_new_session=True)
        code = proc.wait(timeout=1800)
    took = time.monotonic() - started
    if code != 0:
        _stop_group(proc)
        pytest.fail(f"the README block failed (exit {code}):\n{log.read_text()[-6000:]}")
    entries = [item.split("=", 1) for item in env_file.read_bytes().decode().split("\0") if "=" in item]
    return proc, Shell(dict(entries), workdir / "acme"), took


def _api(path: str, method: str = "GET", **kwargs) -> requests.Response:
    return requests.request(method, f"{EMULATOR_URL}/api{path}", headers={"Authorization": TOKEN}, timeout=30,
                            **kwargs)


def _target_of(shell: Shell) -> dict:
    exported = shell.run("pulumi", "stack", "export")
    assert exported.returncode == 0, exported.stderr
    resources = json.loads(exported.stdout)["deployment"]["resources"]
    [target] = [r for r in resources if r["type"].endswith(":Target")]
    return target


def test_from_the_wheel_to_scheduled_drift(tmp_path, user_env, wheel, engine_bin):
    if not _port_is_free(EMULATOR_PORT):
        pytest.fail(f"port {EMULATOR_PORT} (the README's emulator port) is in use: stop what holds it")
    workdir = tmp_path / "work"
    workdir.mkdir()
    proc = None
    try:
        proc, shell, took = _run_readme_block(workdir, user_env, wheel)
        print(f"\nREADME block (venv, pip install of the wheel, engine, new, install, init, up): {took:.0f} s")

        # Nothing rr-pulumi ran changed the user's settings; the engine came from the shared cache.
        for key in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_HOME", "HOME"):
            assert shell.env[key] == user_env[key]
        assert "PULUMI_BACKEND_URL" not in shell.env
        assert shell.run("rr-pulumi-engine", "key").stdout.strip() == engine.engine_folder().name
        assert shell.run("sh", "-c", "command -v pulumi").stdout.strip() == str(engine.engine_folder() / "bin" /
                                                                               "pulumi")
        installed = shell.run("venv/bin/python", "-c", "import rr_pulumi; print(rr_pulumi.__file__)")
        assert installed.stdout.startswith(str(shell.cwd / "venv")), installed.stdout

        # The documentation came with the wheel and prints offline.
        page = shell.run("rr-pulumi", "docs", "resources")
        assert page.returncode == 0 and page.stdout == (ROOT / "docs" / "resources.md").read_text(), page.stderr
        assert shell.run("rr-pulumi", "docs", "readme").stdout.startswith("# rr-pulumi\n")

        # The project `rr-pulumi new` wrote is ready to commit.
        assert "virtualenv: venv" in (shell.cwd / "Pulumi.yaml").read_text()
        assert (shell.cwd / "requirements.txt").read_text().splitlines()[-1] == f"rr-pulumi @ {wheel.as_uri()}"
        assert {p.name for p in (shell.cwd / ".github" / "workflows").iterdir()} == {"rr-preview.yml", "rr-drift.yml"}

        about = shell.run("pulumi", "about")
        assert about.returncode == 0, about.stdout + about.stderr
        assert f"executable='{shell.cwd / 'venv' / 'bin' / 'python'}'" in about.stdout, about.stdout
        assert re.search(r"^rr-pulumi\s+\d", about.stdout, re.M), about.stdout  # the dependency list

        preview = shell.run("pulumi", "preview", "--expect-no-changes")
        assert preview.returncode == 0, preview.stdout + preview.stderr

        # `new --emulator` set the emulator's data plane: proxy_url is served by the emulator (401: no caller key).
        proxy_url = shell.run("pulumi", "stack", "output", "proxy_url").stdout.strip()
        assert proxy_url.startswith(f"{EMULATOR_URL}/dataplane/api/"), proxy_url
        assert requests.get(f"{proxy_url}/forecast", timeout=30).json()["code"] == "UNAUTHORIZED"

        clean = shell.run("rr-pulumi", "drift")
        assert clean.returncode == 0, clean.stdout + clean.stderr

        target = _target_of(shell)
        changed = _api(f"/clients/{target['outputs']['client_id']}/targets/{target['id']}", "PUT",
                       json={"targetBaseURL": "https://changed-out-of-band.example"})
        assert changed.status_code == 200, changed.text
        drift_text = shell.run("rr-pulumi", "drift")
        assert drift_text.returncode == 1, drift_text.stdout + drift_text.stderr
        assert "changed-out-of-band.example" in drift_text.stdout
        drift_json = shell.run("rr-pulumi", "drift", "--json")
        assert drift_json.returncode == 1, drift_json.stdout + drift_json.stderr
        report = json.loads(drift_json.stdout)
        assert isinstance(report, dict) and "changed-out-of-band.example" in json.dumps(report)

        wrong = "u-revoked-token-0000"
        assert shell.run("pulumi", "config", "set", "--secret", "requestrocket:token", wrong).returncode == 0
        broken = shell.run("rr-pulumi", "drift")
        assert broken.returncode == 2, broken.stdout + broken.stderr
        reason = (broken.stdout + broken.stderr).strip()
        assert len(reason.splitlines()) == 1 and re.search(r"token|401|unauthori", reason, re.I), reason
        assert wrong not in reason
        broken_json = shell.run("rr-pulumi", "drift", "--json")
        assert broken_json.returncode == 2, broken_json.stdout + broken_json.stderr
        assert json.loads(broken_json.stdout)["stack"] == "dev" and wrong not in broken_json.stdout  # the selected one

        assert shell.run("pulumi", "config", "set", "--secret", "requestrocket:token", TOKEN).returncode == 0
        destroyed = shell.run("pulumi", "destroy", "--yes")
        assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
        assert "Example Org" not in [c["clientName"] for c in _api("/clients").json()["clients"]]
    finally:
        if proc is not None:
            _stop_group(proc)


def test_a_second_install_reuses_the_engine(tmp_path, user_env, wheel, engine_bin):
    """Two installs of one wheel share one engine folder: the second builds nothing."""
    folders_before = sorted(p.name for p in engine.cache_root().iterdir())
    for name in ("first", "second"):
        venv = tmp_path / name
        subprocess.run(["python3", "-m", "venv", str(venv)], env=user_env, check=True, cwd=tmp_path)
        install = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], env=user_env,
                                 capture_output=True, text=True, cwd=tmp_path, timeout=900)
        assert install.returncode == 0, install.stderr
        ensure = subprocess.run([str(venv / "bin" / "rr-pulumi-engine"), "ensure"], env=user_env,
                                capture_output=True, text=True, cwd=tmp_path, timeout=1800)
        assert ensure.returncode == 0, ensure.stderr
        assert ensure.stdout.strip() == str(engine.engine_folder() / "bin")
        assert "building" not in ensure.stderr
    assert sorted(p.name for p in engine.cache_root().iterdir()) == folders_before


OLDEST_SDK = re.search(r'"pulumi>=([\d.]+),<4"', (ROOT / "pyproject.toml").read_text()).group(1)


def test_the_oldest_supported_sdk_runs_a_lifecycle(tmp_path, wheel, emulator, engine_bin):
    """The wheel with `pulumi==<the range's lower bound>` in a fresh virtualenv made by `pulumi install`: up, an
    empty preview, refresh (ReadResult inputs, the newest SDK feature rr-pulumi needs), an empty preview, destroy."""
    from rr_pulumi.tools import scaffold
    from rr_pulumi.engine.stack import LocalStack

    project = tmp_path / "oldest"
    scaffold.create(project, emulator=emulator.url,
                    requirement_line=f"rr-pulumi @ {wheel.as_uri()}\npulumi=={OLDEST_SDK}")
    stack = LocalStack(project, stack="dev", backend_dir=tmp_path / "state").init()
    stack.run("install")
    sdk = subprocess.run([str(project / "venv" / "bin" / "python"), "-c",
                          "import importlib.metadata as m, rr_pulumi; print(m.version('pulumi'), rr_pulumi.__file__)"],
                         capture_output=True, text=True, check=True, cwd=tmp_path).stdout.split()
    assert sdk[0] == OLDEST_SDK and sdk[1].startswith(str(project / "venv"))
    stack.set_config("requestrocket:token", emulator.token("e2e"), secret=True)
    stack.set_config("callerKey", "oldest-sdk-caller-key", secret=True)
    stack.set_config("upstreamToken", "oldest-sdk-upstream-token", secret=True)
    stack.set_config("clientName", f"oldest-sdk-{tmp_path.name}")

    stack.up()
    assert stack.preview("--expect-no-changes", check=False).code == 0
    stack.refresh()
    assert stack.preview("--expect-no-changes", check=False).code == 0
    stack.destroy()
    assert stack.resources() == []


def test_the_wheel_and_sdist_carry_what_users_and_packagers_need(wheel):
    import tarfile
    import zipfile
    from email.parser import Parser

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        [metadata_name] = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(archive.read(metadata_name).decode())
    assert {"rr_pulumi/py.typed", "rr_pulumi/templates/project/__main__.py",
            "rr_pulumi/templates/github/scripts/preview_comment.py",
            "rr_pulumi/engine/gosrc/languagehost/exec.py", "rr_pulumi/engine/launchers/rr-pulumi-python-module"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any("__pycache__" in n for n in names)
    assert meta["License-Expression"] == "Apache-2.0"
    assert "Typing :: Typed" in meta.get_all("Classifier")
    assert "Source, https://github.com/requestrocket/rr-pulumi" in meta.get_all("Project-URL")
    assert "pulumi<4,>=3.216.0" in meta.get_all("Requires-Dist")
    description = meta.get_payload()
    assert description.startswith("# rr-pulumi") and not re.search(r"\]\((?!https?://|#)", description)

    [sdist] = wheel.parent.glob("rr_pulumi-*.tar.gz")
    with tarfile.open(sdist) as archive:
        tops = {name.split("/")[1] for name in archive.getnames() if name.count("/") >= 1}
        assert not any("__pycache__" in name for name in archive.getnames())
    assert {"LICENSE", "README.md", "tests", "docs", "examples", "rr_pulumi", "pyproject.toml"} <= tops
