"""The Go tests of rr-pulumi's language host (runtime options, interpreter choice, program path, virtualenv),
run through `go test`; skipped when no Go toolchain is installed."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from rr_pulumi.engine import GO_SOURCES


@pytest.mark.skipif(shutil.which("go") is None, reason="no Go toolchain on PATH")
def test_language_host_go_tests_pass():
    env = {**os.environ, "GOFLAGS": os.environ.get("GOFLAGS", "") + " -mod=mod"}
    result = subprocess.run(["go", "test", "-count=1", "./languagehost"], cwd=GO_SOURCES, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
