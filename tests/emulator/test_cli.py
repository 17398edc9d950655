"""The command line: stdout protocol, users and tokens, options, request logging without secrets."""
import os
import re
import subprocess
import sys

import pytest
import requests

from emulator_helpers import Api, assert_error
from rr_pulumi.emulator.__main__ import default_db_path, parse_user
from rr_pulumi.emulator.process import EmulatorProcess


def run_cli(*args, env=None, lines=3):
    """Start the CLI, read `lines` stdout lines, then stop it."""
    proc = subprocess.Popen([sys.executable, "-m", "rr_pulumi.emulator", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    try:
        return [proc.stdout.readline().rstrip("\n") for _ in range(lines)]
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_stdout_protocol(tmp_path):
    db = str(tmp_path / "cli.db")
    out = run_cli("--db", db, "--user", "alice", "--user", "bob:basic=u-bob-token", "--admin-token", "adm",
                  lines=4)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", out[0])
    assert re.fullmatch(r"user alice team u-[0-9a-f]{40}", out[1])
    assert out[2] == "user bob basic u-bob-token"
    assert out[3] == "admin adm"
    again = run_cli("--db", db, "--user", "alice", "--user", "bob", lines=4)
    assert again[1] == out[1]                                # tokens survive restarts
    assert again[2] == "user bob basic u-bob-token"          # and so does the plan
    assert re.fullmatch(r"admin a-[0-9a-f]{40}", again[3])   # generated admin token


def test_admin_token_from_environment():
    out = run_cli("--db", ":memory:", env={"RR_EMULATOR_ADMIN_TOKEN": "from-env"}, lines=2)
    assert out[1] == "admin from-env"


def test_bad_arguments_fail_fast():
    for args in (["--user", "x:gold"], ["--faults", "err500=3"], ["--faults", "nonsense"], ["--user", "x=a b"],
                 ["--regions", ","]):
        proc = subprocess.run([sys.executable, "-m", "rr_pulumi.emulator", "--db", ":memory:", *args],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0 and proc.stdout == ""


def test_helpers():
    assert parse_user("a") == ("a", None, None)
    assert parse_user("a:basic=u-1") == ("a", "basic", "u-1")
    assert parse_user("a=u-1") == ("a", None, "u-1")
    assert default_db_path().endswith(os.path.join("rr-pulumi", "emulator.db"))


def test_rate_limit_override_regions_and_logging(tmp_path):
    with EmulatorProcess(users=("demo", "zed:basic"), rate_limit=5,
                         extra_args=("--regions", "eu-north-1,us-east-2", "--log-requests",
                                     "--data-plane-url", "https://dp.example")) as emu:
        api = Api(emu, emu.token("demo"))
        cid = api.new_client()
        marker = "NEVER-LOG-THIS-9d2c"
        ok = api.post(f"/clients/{cid}/credentials", {
            "credentialName": "c", "credentialType": "target", "credentialAuthType": "basicAuth",
            "credentialRegion": "us-east-2", "credentialSecret": {"username": "u", "password": marker}})
        assert ok.status_code == 201
        err = assert_error(api.post(f"/clients/{cid}/targets", {
            "targetName": "t", "targetBaseURL": "https://x.io", "targetRegion": "us-east-1"}), 400,
            mentions="targetRegion")
        assert "eu-north-1" in err["message"] and "us-east-2" in err["message"]
        api.request("POST", f"/clients/{cid}/credentials", data=f'{{"credentialSecret": "{marker}"'.encode())
        statuses = [api.get("/clients").status_code for _ in range(3)]
        assert statuses == [200, 429, 429]   # 5 per minute, whatever the plan: this is the 5th request
        health = requests.get(emu.url + "/_emulator/health", timeout=5).json()
        assert health["dataPlaneUrl"] == "https://dp.example"
        emu.stop()
        log = open(emu.log_path).read()
    assert f"/api/clients/{cid}/credentials 201" in log
    assert "[REDACTED]" in log and "not JSON" in log
    assert marker not in log


def test_health_needs_no_auth_and_unknown_admin_paths_are_contract_errors(tmp_path):
    with EmulatorProcess() as emu:
        assert requests.get(emu.url + "/_emulator/health", timeout=5).json()["status"] == "ok"
        assert_error(requests.get(emu.url + "/_emulator/nothing", timeout=5), 401)
        assert_error(emu._session.get(emu.url + "/_emulator/nothing", headers={"Authorization": emu.admin_token},
                                      timeout=5), 404, "NOT_FOUND")
        assert_error(emu._session.delete(emu.url + "/_emulator/stats",
                                         headers={"Authorization": emu.admin_token}, timeout=5), 405)


@pytest.mark.parametrize("host", ["127.0.0.1"])
def test_fixed_port(host):
    import socket
    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    with EmulatorProcess(port=port) as emu:
        assert emu.url == f"http://{host}:{port}"


def _wait_gone(pid: int, timeout: float) -> bool:
    """Wait for a process that is not our child to end (a zombie counts as ended); False if it is still running."""
    if hasattr(os, "pidfd_open"):
        import select
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return True
        try:
            return bool(select.select([fd], [], [], timeout)[0])   # readable once the process has ended
        finally:
            os.close(fd)
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("ending", ["SIGKILL", "stdin closed"])
def test_an_emulator_process_ends_with_whatever_started_it(tmp_path, ending):
    """A test run or script killed before its `with EmulatorProcess()` block ends leaves no server behind."""
    parent = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom rr_pulumi.emulator.process import EmulatorProcess\n"
         f"emu = EmulatorProcess(db={str(tmp_path / 'e.db')!r}, users=()).start()\n"
         "print(emu.proc.pid, emu.url, flush=True)\n"
         + ("sys.stdin.read()\n" if ending == "SIGKILL" else "emu.proc.stdin.close()\nprint(emu.proc.wait(), flush=True)\n")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        pid, url = parent.stdout.readline().split()
        if ending == "SIGKILL":
            assert requests.get(url + "/_emulator/health", timeout=5).status_code == 200
            parent.kill()   # no atexit, no finally: only the kernel closing its end of the pipe
        else:
            assert parent.stdout.readline().strip() == "0"   # a clean stop, as on SIGTERM
        assert _wait_gone(int(pid), timeout=30), "the emulator outlived the process that started it"
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/_emulator/health", timeout=5)
    finally:
        parent.kill()
        parent.wait()
        parent.stdin.close()
        parent.stdout.close()
