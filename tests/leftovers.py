"""Which processes the session guard in tests/conftest.py watches, told apart by their command line."""
from __future__ import annotations

import os
from pathlib import Path

WATCHED_NAMES = ("pulumi", "pulumi-language-python", "pulumi-language-python-exec", "rr-emulator")
# Python modules run as `python -m MODULE`, or handed to rr-pulumi's plugin launcher as an argument
# (`python -u -c <launcher> PPID pulumi.dynamic ...`, rr_pulumi/engine/launchers/rr-pulumi-python-module).
WATCHED_MODULES = ("pulumi.dynamic", "pulumi.policy", "rr_pulumi.emulator", "rr_pulumi.emulator.patterns")
PROGRAM_FLAG = "--monitor"   # a Pulumi program a language host runs: `python -u -c <runner> --monitor ADDR ...`


def is_watched(argv: list[str]) -> bool:
    if not argv:
        return False
    if os.path.basename(argv[0]) in WATCHED_NAMES:
        return True
    if not os.path.basename(argv[0]).startswith("python"):
        return False
    if len(argv) > 1 and os.path.basename(argv[1]) in WATCHED_NAMES:   # a console script run by its interpreter
        return True
    return any(arg in WATCHED_MODULES or arg == PROGRAM_FLAG for arg in argv[1:])


def command_line(pid: int | str) -> list[str]:
    """A process's argv, read from /proc (OSError when it is gone or not ours to read)."""
    return [a.decode(errors="replace") for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
