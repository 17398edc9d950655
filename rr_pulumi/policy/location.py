"""Where the policy pack is, for `pulumi preview --policy-pack <folder>`.

The pack ships inside the package (`rr_pulumi/policy/pack/`). Its PulumiPolicy.yaml cannot name the interpreter,
because that differs per install, so the engine would run it with $PULUMI_PYTHON_CMD or `python3` from PATH.
`bound_pack()` removes that dependency: it writes a copy of the pack into the user's cache whose runtime is
the interpreter calling it (through a one-line `bin/python` shim that the `virtualenv` runtime option names),
so the pack runs with the rr-pulumi installation that printed its path, activated or not.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

from rr_pulumi.api.cache import cache_folder

SHIPPED = Path(__file__).parent / "pack"
SHIM_FOLDER = ".python"
RUNTIME_LINE = "runtime: python\n"


def cache_root() -> Path:
    """$RR_PULUMI_POLICY_CACHE, else rr-pulumi's folder in the user's cache."""
    return cache_folder("policy-pack", "RR_PULUMI_POLICY_CACHE")


def bound_files(python: str) -> dict[str, str]:
    """The files of a pack folder that runs with `python`: relative path -> content."""
    shipped = (SHIPPED / "PulumiPolicy.yaml").read_text()
    manifest = "".join(line for line in shipped.splitlines(keepends=True) if not line.startswith("#"))
    if RUNTIME_LINE not in manifest:
        raise RuntimeError(f"{SHIPPED / 'PulumiPolicy.yaml'} has no {RUNTIME_LINE.strip()!r} line to bind")
    runtime = f"runtime:\n  name: python\n  options:\n    virtualenv: {SHIM_FOLDER}\n"
    header = f"# Written by `python -m rr_pulumi.policy` for {python}; rewritten on each call.\n"
    return {
        "PulumiPolicy.yaml": header + manifest.replace(RUNTIME_LINE, runtime),
        "__main__.py": (SHIPPED / "__main__.py").read_text(),
        f"{SHIM_FOLDER}/bin/python": f'#!/bin/sh\nexec "{python}" "$@"\n',
    }


def bound_pack(python: str = sys.executable, root: Path | None = None) -> Path:
    """A pack folder that runs with `python` (default: this interpreter), written or refreshed in the cache."""
    folder = (root or cache_root()) / hashlib.sha256(python.encode()).hexdigest()[:16]
    for relative, content in bound_files(python).items():
        _write_if_changed(folder / relative, content)
    (folder / SHIM_FOLDER / "bin" / "python").chmod(0o755)
    return folder


def _write_if_changed(path: Path, content: str) -> None:
    if path.is_file() and path.read_text() == content:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write beside it and rename, so a concurrent preview never reads half a file.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)
