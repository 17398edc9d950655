"""Helpers for the end-to-end tests: reading the emulator directly, running rr-pulumi's own command line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def every_item(api, path: str, plural: str) -> list[dict]:
    """Every item of a collection, reading every page ([] when the collection is gone)."""
    found, page = [], 1
    while True:
        response = api.get(api.base + path, params={"page": page, "limit": 100})
        if response.status_code == 404:
            return found
        response.raise_for_status()
        body = response.json()
        found += body[plural]
        if page >= body["pagination"]["pages"]:
            return found
        page += 1


def rr_pulumi(stack, *args: str) -> subprocess.CompletedProcess:
    """The `rr-pulumi` console script, in the stack's environment (its backend, passphrase and engine)."""
    script = Path(sys.executable).parent / "rr-pulumi"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "rr_pulumi.tools.cli"]
    return subprocess.run([*command, *args], cwd=stack.project_dir, env=stack.env, capture_output=True, text=True,
                          timeout=300)
