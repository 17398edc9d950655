"""A folder with the engine's executables and a prototype dynamic-provider launcher, to put first on PATH.

The engine looks its bundled plugins up beside its own executable, so the folder holds hard links (or copies) of
`pulumi` and the language host next to our `pulumi-resource-pulumi-python`, which runs `dynamic_server` instead of
`pulumi.dynamic`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from rr_pulumi.engine import ensure_engine

HERE = Path(__file__).resolve().parent

LAUNCHER = """#!/bin/sh
# benchmark prototype: the engine's dynamic provider launcher, serving with a larger worker pool
venv="${PULUMI_RUNTIME_VIRTUALENV:-}"
case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac
PYTHONPATH="%s${PYTHONPATH:+:$PYTHONPATH}" exec "$venv/bin/python" -u -m dynamic_server "$@"
"""


def launcher_folder(folder: Path) -> Path:
    engine = ensure_engine(verbose=False)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("pulumi", "pulumi-language-python", "pulumi-analyzer-policy-python"):
        target = folder / name
        if not target.exists():
            try:
                os.link(engine / name, target)
            except OSError:
                shutil.copy2(engine / name, target)
    script = folder / "pulumi-resource-pulumi-python"
    script.write_text(LAUNCHER % HERE)
    script.chmod(0o755)
    return folder
