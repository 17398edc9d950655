"""Repair a stack after `pulumi` was killed mid-`up`: settle its pending creates against the Core API.

When the CLI dies while a create is in flight, the checkpoint keeps a *pending create* (the URN and the inputs, but
no id): the POST may or may not have reached the API. A non-interactive `pulumi refresh` leaves pending creates
alone, and a later `up` creates them again, so a create that did reach the API becomes a duplicate. This module
looks each pending create up by its natural key within its parent (the same lookup as after an ambiguous POST),
skipping objects the stack already tracks, and rewrites the state (`pulumi stack export` / `pulumi stack import`):
a create that reached the API becomes a resource with its id (adopted), one that did not is dropped (the next `up`
creates it). Then `pulumi refresh` reads the adopted objects and `pulumi up` finishes the job.

Usage, in the project folder with the stack's environment (a file backend's lock left by the killed `pulumi` is
removed with `pulumi cancel`; any other lock, run `pulumi cancel --yes` yourself first if you are sure):

    python -m rr_pulumi.recovery [--stack NAME] [--dry-run]

The API URL, token and rate limit come from the stack configuration (as the provider reads them), else from the
environment. Nothing secret is printed.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import pickle
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import unquote, urlparse

from . import client as rr_client
from . import config as rr_config
from .errors import NotFound
from .ratelimit import RateBudget

PROVIDER_MODULE = "rr_pulumi.provider."


@dataclass
class PendingCreate:
    urn: str
    inputs: dict[str, Any]


@dataclass
class Settlement:
    adopted: list[tuple[str, str]]  # (urn, id) of pending creates that reached the API
    not_created: list[str]  # urns of pending creates that did not
    unknown: list[str]  # urns this module cannot judge (not an rr-pulumi resource)


class _ProviderOnly(pickle.Unpickler):
    """Unpickles the `__provider` of an rr-pulumi resource (a class reference) and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith(PROVIDER_MODULE) and name.endswith("Provider"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"not an rr-pulumi provider: {module}.{name}")


def provider_of(inputs: dict[str, Any]) -> Optional[Any]:
    """The rr-pulumi provider recorded in a resource's inputs, or None for any other resource."""
    encoded = inputs.get("__provider")
    if not isinstance(encoded, str):
        return None
    try:
        return _ProviderOnly(io.BytesIO(base64.b64decode(encoded))).load()
    except Exception:  # noqa: BLE001 - anything not ours is simply not judged
        return None


def pending_creates(deployment: dict[str, Any]) -> list[PendingCreate]:
    return [
        PendingCreate(op["resource"]["urn"], op["resource"].get("inputs") or {})
        for op in deployment.get("pending_operations") or []
        if op.get("type") == "creating" and op.get("resource", {}).get("urn")
    ]


def settle(
    deployment: dict[str, Any], api: rr_client.RequestRocketClient, provider_for: Callable[[dict], Any] = provider_of
) -> Settlement:
    """Decide, for every pending create, which live object it made (newest natural-key match not yet tracked)."""
    tracked = {r.get("id") for r in deployment.get("resources") or [] if r.get("id")}
    result = Settlement([], [], [])
    for pending in pending_creates(deployment):
        provider = provider_for(pending.inputs)
        if provider is None:
            result.unknown.append(pending.urn)
            continue
        values = provider.canonical(pending.inputs)
        collection = provider.collection(values)
        plural = rr_client.plural_of(collection)
        try:
            items = api.list(collection, rr_client.listing_params(collection))
        except NotFound:
            items = []  # the parent is gone, so the object is too
        matches = [
            rr_client.item_id(i, plural)
            for i in items
            if provider.natural_key(values, i) and rr_client.item_id(i, plural) not in tracked
        ]
        if matches:
            tracked.add(matches[-1])
            result.adopted.append((pending.urn, str(matches[-1])))
        else:
            result.not_created.append(pending.urn)
    return result


def settled_export(export: dict[str, Any], settlement: Settlement) -> dict[str, Any]:
    """The stack export with every pending create settled: the adopted ones become resources with their id (the
    recorded inputs stand in for outputs until `pulumi refresh` reads the live object), the rest are dropped.

    (`pulumi refresh --import-pending-creates` would be the native way, but in 3.260.0 it drops the imports.)
    """
    deployment = dict(export.get("deployment") or {})
    adopted = dict(settlement.adopted)
    resources = [dict(r) for r in deployment.get("resources") or []]
    kept = []
    for op in deployment.get("pending_operations") or []:
        resource = op.get("resource") or {}
        if op.get("type") != "creating":
            kept.append(op)
        elif resource.get("urn") in adopted:
            # A replacement created before the old object was deleted: the old one is now pending deletion, as the
            # engine itself records it after a successful create-before-delete (the next `up` deletes it).
            for old in resources:
                if old.get("urn") == resource["urn"] and not old.get("delete"):
                    old["delete"] = True
            # A dependency of a pending create was created before it, so appending keeps the order valid.
            inputs = resource.get("inputs") or {}
            resources.append({**resource, "id": adopted[resource["urn"]], "outputs": dict(inputs)})
    deployment["resources"] = resources
    deployment["pending_operations"] = kept
    return {**export, "deployment": deployment}


def repair_file_backend(backend_url: Optional[str]) -> list[str]:
    """Remove the empty `<stack>.json.attrs` files a SIGKILL can leave in a file backend.

    The file backend writes a checkpoint's attributes beside it, not atomically; an empty one makes every later
    command fail with `failed to load checkpoint: EOF`. An absent attributes file is valid, so removing it is safe.
    """
    if not backend_url or not backend_url.startswith("file://"):
        return []
    root = Path(unquote(urlparse(backend_url).path)) / ".pulumi" / "stacks"
    removed = []
    for attrs in root.rglob("*.attrs") if root.is_dir() else []:
        if attrs.is_file() and attrs.stat().st_size == 0:
            attrs.unlink()
            removed.append(str(attrs))
    return removed


def stale_locks(backend_url: Optional[str]) -> Optional[list[str]]:
    """The lock files of a file backend, if every one was left by a dead process on this machine (else None).

    A killed `pulumi` leaves its lock behind; `pulumi cancel` removes it, but cannot run while the checkpoint is
    unreadable, and must not be run while another `pulumi` is really working on the stack.
    """
    if not backend_url or not backend_url.startswith("file://"):
        return None
    root = Path(unquote(urlparse(backend_url).path)) / ".pulumi" / "locks"
    found = []
    for lock in root.rglob("*.json") if root.is_dir() else []:
        try:
            holder = json.loads(lock.read_text())
            if holder.get("hostname") != socket.gethostname():
                return None
            os.kill(int(holder["pid"]), 0)
            return None  # alive: someone is working on a stack
        except ProcessLookupError:
            found.append(str(lock))
        except (OSError, ValueError, KeyError, TypeError):
            return None
    return found


def _pulumi_json(*args: str, stack: Optional[str]) -> Any:
    command = ["pulumi", *args, "--non-interactive", *(["--stack", stack] if stack else [])]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"`{' '.join(command)}` failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout or "{}")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rr_pulumi.recovery", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", help="the stack (default: the selected one)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
    args = parser.parse_args(argv)

    backend = os.environ.get("PULUMI_BACKEND_URL")
    for path in repair_file_backend(backend):
        print(f"removed an empty checkpoint attributes file left by the interruption: {path}")
    if stale_locks(backend):
        print("the stack is locked by a `pulumi` that is no longer running: `pulumi cancel --yes`", flush=True)
        subprocess.run(["pulumi", "cancel", "--yes", "--non-interactive", *(["--stack", args.stack] if args.stack else [])])
    export = _pulumi_json("stack", "export", stack=args.stack)
    deployment = export.get("deployment", {})
    if not pending_creates(deployment):
        print("no pending creates: nothing to recover")
        return 0
    config = _pulumi_json("config", "--json", "--show-secrets", stack=args.stack)
    settings = rr_config.settings_from(lambda key: (config.get(key) or {}).get("value"))
    per_minute = settings.rate_limit_per_minute
    api = rr_client.RequestRocketClient(
        settings.api_url, settings.require_token(), budget=RateBudget(per_minute) if per_minute else None
    )
    settlement = settle(deployment, api)
    for urn, id_ in settlement.adopted:
        print(f"created before the interruption, adopting: {urn} -> {id_}")
    for urn in settlement.not_created:
        print(f"never created, dropping the pending create (the next `up` creates it): {urn}")
    for urn in settlement.unknown:
        print(f"not an rr-pulumi resource, dropping its pending create (check it yourself): {urn}")
    if args.dry_run:
        return 0
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(settled_export(export, settlement), handle)
    try:
        stack = ["--stack", args.stack] if args.stack else []
        done = subprocess.run(["pulumi", "stack", "import", "--file", handle.name, "--non-interactive", *stack])
    finally:
        os.unlink(handle.name)
    if done.returncode == 0:
        print("pending creates settled; now run `pulumi refresh`, then `pulumi up`")
    return done.returncode

if __name__ == "__main__":
    sys.exit(main())
