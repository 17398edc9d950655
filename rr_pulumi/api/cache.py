"""rr-pulumi's folders in the user's cache: one per purpose, each movable by its own environment variable."""

from __future__ import annotations

import os
from pathlib import Path


def cache_folder(name: str, override_env: str) -> Path:
    """$<override_env>, else ~/.cache/rr-pulumi/<name> (or under $XDG_CACHE_HOME)."""
    override = os.environ.get(override_env)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rr-pulumi" / name
