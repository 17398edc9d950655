"""The session guard in tests/conftest.py fails a run that leaves a `pulumi` process behind, and only then."""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from leftovers import command_line, is_watched

pytest_plugins = ["pytester"]

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
LEFTOVERS = ROOT_CONFTEST.with_name("leftovers.py")   # imported by the conftest

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
    pytester.makepyfile(leftovers=LEFTOVERS.read_text())
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
        if not pid_dir.name.isdigit():
            continue
        try:
            argv = command_line(pid_dir.name)
        except OSError:
            continue
        if argv[:1] == [program]:
            pids.append(int(pid_dir.name))
    return pids


def test_a_run_that_stops_its_processes_passes(inner):
    pytester, fake = inner
    pytester.makepyfile(INNER_TEST.format(fixture="", fake=fake, cleanup="proc.kill(); proc.wait()"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK


@pytest.mark.parametrize("argv", [
    ["/usr/local/bin/pulumi", "up", "--yes"],
    ["/cache/engine/bin/pulumi-language-python", "127.0.0.1:40000"],
    # rr-pulumi's plugin launcher serving dynamic providers, and a policy pack
    ["/venv/bin/python", "-u", "-c", "import ctypes, os, runpy ...", "4242", "pulumi.dynamic", "127.0.0.1:40001"],
    ["/venv/bin/python", "-u", "-c", "import ctypes, os, runpy ...", "4242", "pulumi.policy", "127.0.0.1:40002"],
    ["/venv/bin/python3", "-m", "pulumi.dynamic", "127.0.0.1:40003"],
    # the program a language host runs (rr-pulumi's runner, and Pulumi's own)
    ["/venv/bin/python", "-u", "-c", "# Runs a Pulumi Python program ...", "--monitor", "127.0.0.1:1", "__main__.py"],
    ["/venv/bin/python", "/cache/engine/bin/pulumi-language-python-exec", "--monitor", "127.0.0.1:1", "."],
    # the emulator, as EmulatorProcess and as the console script start it, and its pattern worker
    ["/venv/bin/python", "-m", "rr_pulumi.emulator", "--port", "0", "--stop-on-stdin-eof"],
    ["/venv/bin/python", "/venv/bin/rr-emulator", "--port", "8787"],
    ["/venv/bin/python", "-m", "rr_pulumi.emulator.patterns"],
])
def test_the_guard_watches_every_process_the_engine_and_the_emulator_start(argv):
    assert is_watched(argv)


@pytest.mark.parametrize("argv", [
    [],
    ["/venv/bin/python", "-m", "pytest", "-n", "2", "tests"],
    ["/venv/bin/python", "-c", "import sys;exec(eval(sys.stdin.readline()))"],   # a pytest-xdist worker
    ["/usr/bin/sleep", "120", "--monitor"],   # not Python: the flag alone means nothing
    ["/venv/bin/python", "-m", "pip", "install", "rr-pulumi"],
])
def test_the_guard_leaves_other_processes_alone(argv):
    assert not is_watched(argv)
