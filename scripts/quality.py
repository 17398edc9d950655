"""The quality gates of `make unit`: mypy over the library, ruff over the repository, `go vet` over the language host.

    .venv/bin/python scripts/quality.py            # all three; exit 1 when any finds something
    .venv/bin/python scripts/quality.py mypy ruff  # some of them

Each gate is configured where its tool looks (pyproject.toml's [tool.mypy] and [tool.ruff]; `rr-pulumi-engine vet`
for Go), so running the tool by hand gives the same answer. The gates run to the end even after a failure, then
name every gate that failed and the files its findings are in: a finding anywhere fails `make unit`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GATES = {
    "mypy": [PYTHON, "-m", "mypy"],                       # files and flags: [tool.mypy]
    "ruff": [PYTHON, "-m", "ruff", "check", "--output-format", "concise", "."],   # rules: [tool.ruff]
    "go vet": [PYTHON, "-m", "rr_pulumi.engine", "vet"],
}
# A finding as mypy (`path:line: error: ...`) and ruff (`path:line:col: CODE ...`) print it; not mypy's notes.
FINDING = re.compile(r"^(?P<path>[\w./-]+\.py):\d+:(\d+:)? (?!note:)")


def files_with_findings(output: str) -> Counter[str]:
    """How many findings each file has in a tool's output."""
    return Counter(m["path"] for line in output.splitlines() if (m := FINDING.match(line)))


def run_gate(name: str) -> tuple[bool, str]:
    """Run one gate, echoing its output; (passed, output)."""
    command = GATES[name]
    if name == "go vet" and shutil.which("go") is None:
        if os.environ.get("CI"):  # a CI image without Go would never vet: there, a missing Go is a failure
            print(f"== {name}: FAILED, no Go toolchain on PATH in CI (install Go >= 1.26 to vet the language host)")
            return False, ""
        print(f"== {name}: SKIPPED, no Go toolchain on PATH (install Go >= 1.26 to vet the language host)")
        return True, ""
    print(f"== {name}: {' '.join(Path(part).name if part == PYTHON else part for part in command)}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(result.stdout, end="" if result.stdout.endswith("\n") or not result.stdout else "\n")
    print(f"== {name}: {'passed' if result.returncode == 0 else 'FAILED'} in {time.monotonic() - started:.1f} s",
          flush=True)
    return result.returncode == 0, result.stdout


def main(argv: list[str]) -> int:
    unknown = [name for name in argv if name not in GATES and name != "vet"]
    if unknown:
        print(f"unknown gate(s) {', '.join(unknown)}; the gates are: mypy, ruff, vet", file=sys.stderr)
        return 2
    chosen = [("go vet" if name == "vet" else name) for name in argv] or list(GATES)
    failed: dict[str, Counter[str]] = {}
    for name in chosen:
        passed, output = run_gate(name)
        if not passed:
            failed[name] = files_with_findings(output)
    if not failed:
        return 0
    print("\nquality gates FAILED (a finding anywhere fails `make unit`; fix it, or for a false positive add a "
          "targeted `# type: ignore[code]` / `# noqa: CODE` with the reason):", file=sys.stderr)
    for name, files in failed.items():
        where = ", ".join(f"{path} ({count})" for path, count in sorted(files.items()))
        print(f"  {name}: {sum(files.values()) or 'see above'} finding(s)" + (f" in {where}" if where else ""),
              file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
