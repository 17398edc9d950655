"""The session guard in tests/conftest.py fails a run that leaves a `pulumi` process behind, and only then."""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

INNER_TEST = '''
import subprocess

def test_starts_a_pulumi({fixture}):
    proc = subprocess.Popen([{fake!r}, "120"], start_new_session=True)
    {cleanup}
'''


@pytest.fixture
def inner(pytester, tmp_path, monkeypatch):
    if not Path("/proc").is_dir():
        pytest.skip("the guard reads /proc")
    fake = tmp_path / "bin" / "pulumi"   # argv[0] is .../pulumi: what the guard watches for
    fake.parent.mkdir()
    fake.symlink_to(shutil.which("sleep"))
    pytester.makeconftest(ROOT_CONFTEST.read_text())
    monkeypatch.setenv("RR_PULUMI_TEST_SESSION", uuid.uuid4().hex)   # the inner run's own mark
    monkeypatch.setenv("RR_PULUMI_LEFTOVER_GRACE", "1")
    return pytester, str(fake)


def test_a_leftover_pulumi_fails_the_run_and_is_killed(inner):
    pytester, fake = inner
    pytester.makepyfile(INNER_TEST.format(fixture="", fake=fake, cleanup="pass"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*1 process(es) started by the tests were still running*", f"*{fake} 120*"])
    assert not running(fake)


def running(program: str) -> list[int]:
    """Pids of live processes started as `program`."""
    pids = []
    for pid_dir in Path("/proc").iterdir():
        try:
            argv0 = (pid_dir / "cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        if argv0.decode(errors="replace") == program:
            pids.append(int(pid_dir.name))
    return pids


def test_a_run_that_stops_its_processes_passes(inner):
    pytester, fake = inner
    pytester.makepyfile(INNER_TEST.format(fixture="", fake=fake, cleanup="proc.kill(); proc.wait()"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
