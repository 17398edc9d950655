"""How this rr-pulumi was installed, for the lines that tell a user how to install it again: a project's
requirements.txt (`rr-pulumi new`, `rr-pulumi export`) and the install command of a missing optional extra (the
emulator's, the policy pack's). It imports nothing of rr_pulumi, so every layer may use it (docs/architecture.md).
"""

from __future__ import annotations

import json
from importlib import metadata
from typing import Optional

SOURCE = "git+https://github.com/requestrocket/rr-pulumi"  # where rr-pulumi is installed from until it is on PyPI


def installed_requirement(extras: str = "") -> Optional[str]:
    """rr-pulumi as it was installed here, as a requirements.txt line: the wheel file or git URL it came from
    (PEP 610's direct_url.json), else the version from the package index; None when this Python has no rr-pulumi
    installed (a checkout on the path). `extras`: e.g. "policy"."""
    name = f"rr-pulumi[{extras}]" if extras else "rr-pulumi"
    try:
        dist = metadata.distribution("rr-pulumi")
    except metadata.PackageNotFoundError:
        return None
    recorded = dist.read_text("direct_url.json")
    if not recorded:
        return f"{name}=={dist.version}"
    origin = json.loads(recorded)
    url = origin["url"]
    vcs = origin.get("vcs_info")
    if vcs:
        url = f"{vcs['vcs']}+{url}@{vcs.get('commit_id') or vcs.get('requested_revision')}"
    return f"{name} @ {url}"


def install_command(extra: str) -> str:
    """How to add an optional extra (`emulator`, `policy`) to rr-pulumi as it was installed here."""
    spec = installed_requirement(extra) or f"rr-pulumi[{extra}] @ {SOURCE}"
    return f"pip install '{spec}'"


def missing_extra(what: str, extra: str, module: Optional[str]) -> str:
    """The one line for a command whose optional extra is not installed: `the emulator needs rr-pulumi's emulator
    extra (no module named 'uvicorn'): pip install ...`."""
    return f"{what} needs rr-pulumi's {extra} extra (no module named {module!r}): {install_command(extra)}"
