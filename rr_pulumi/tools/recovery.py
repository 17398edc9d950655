"""Repair a stack after `pulumi` was killed mid-`up`: settle its pending creates against the Core API.

When the CLI dies while a create is in flight, the checkpoint keeps a *pending create* (the URN and the inputs, but
no id): the POST may or may not have reached the API. A non-interactive `pulumi refresh` leaves pending creates
alone, and a later `up` creates them again, so a create that did reach the API becomes a duplicate. This module
settles each pending create with the proof every create uses (`rr_pulumi.api.ownership`): a listed object matching its
natural key within its parent and holding the values the create would have sent, tracked by no stack of the backend
(this one, and every other one `pulumi stack ls --all` lists and `pulumi stack export` can read, see
`rr_pulumi.provider.stack_claims`), and the only such object. Where the checkpoint says when the pending create was
recorded (a `created` time) the object must also not be older than that; pulumi 3.260.0 records no time for a pending
create, so there the other rules carry the proof.
It rewrites the state (`pulumi stack export` / `pulumi stack import`): a create proven to have reached the API
becomes a resource with its id (adopted), one with no candidate is dropped (the next `up` creates it), and one
with several candidates stays pending: recovery names them, imports nothing (`pulumi stack import` would drop the
pending operation) and exits 1, and the user settles it by hand with
`--adopt URN=ID` (the id must be listed, matching, and tracked by no stack) or `--drop URN`. Then `pulumi refresh`
reads the adopted objects and `pulumi up` finishes the job.

Usage, in the project folder with the environment of the stack's other `pulumi` commands:

    rr-pulumi recover [--stack NAME] [--cwd DIR] [--dry-run] [--adopt URN=ID ...] [--drop URN ...]
    (or: python -m rr_pulumi.tools.recovery ...)

The backend is the one `pulumi` itself uses, however it was chosen (`pulumi login`, PULUMI_BACKEND_URL, or
`backend.url` in Pulumi.yaml). In a file backend, only this stack's own lock folder is read (another project's stack
of the same name has its own); a lock whose `pulumi` is provably no longer running (recorded in this PID namespace by
rr-pulumi's provider, see pulumi_runs) is lifted (`pulumi cancel`); any other lock is left alone and recovery stops,
printing the command to lift it by hand once the user has checked. The API URL, token and rate limit come from the
stack configuration (and a resource's connection profile), as the provider reads them, else from the environment.
Nothing secret is printed.
"""

from __future__ import annotations

import argparse
import base64
import functools
import io
import json
import os
import pickle
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Optional
from urllib.parse import unquote, urlparse

from rr_pulumi.api import client as rr_client
from rr_pulumi.api import ownership
from rr_pulumi.provider import pulumi_runs
from rr_pulumi.api.errors import NotFound, RequestRocketError
from rr_pulumi.provider.stack_claims import Claims, backend_claims
from rr_pulumi.tools.pulumi_cli import Pulumi, PulumiFailed, api_client

PROVIDER_MODULE = "rr_pulumi.provider."


class RecoveryError(RequestRocketError):
    """A settlement asked for by hand cannot be made (an id that is not listed, or that a stack tracks)."""


@dataclass
class PendingCreate:
    urn: str
    inputs: dict[str, Any]
    recorded: Optional[datetime] = None  # when the engine recorded the create, before it sent anything


@dataclass
class Settlement:
    adopted: list[tuple[str, str]]  # (urn, id) of pending creates that reached the API
    not_created: list[str]  # urns of pending creates that did not
    unknown: list[str]  # urns this module cannot judge (not an rr-pulumi resource)
    unsettled: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (urn, candidate ids): no proof
    dropped: list[str] = field(default_factory=list)  # urns dropped by hand (`--drop`)


@dataclass
class ByHand:
    """Settlements the user decided (`--adopt URN=ID`, `--drop URN`)."""

    adopt: dict[str, str] = field(default_factory=dict)
    drop: set[str] = field(default_factory=set)


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
        PendingCreate(op["resource"]["urn"], op["resource"].get("inputs") or {},
                      ownership.parse_time(op["resource"].get("created")))
        for op in deployment.get("pending_operations") or []
        if op.get("type") == "creating" and op.get("resource", {}).get("urn")
    ]


def settle(
    deployment: dict[str, Any],
    api_for: Callable[[Optional[str]], rr_client.RequestRocketClient],
    provider_for: Callable[[dict], Any] = provider_of,
    managed_elsewhere: Iterable[str] = (),
    by_hand: Optional[ByHand] = None,
    every_stack_read: bool = True,
) -> Settlement:
    """Decide, for every pending create, which live object it provably made (`rr_pulumi.api.ownership`).

    `api_for(profile)` is the API client for a resource's connection profile (None: the stack's own settings);
    `managed_elsewhere` the ids other stacks of the backend track; `by_hand` what the user decided. When not
    `every_stack_read`, no stack proves the one match is not its own: it stays pending, named, for `--adopt`.
    """
    by_hand = by_hand or ByHand()
    tracked = {str(r.get("id")) for r in deployment.get("resources") or [] if r.get("id")} | set(managed_elsewhere)
    result = Settlement([], [], [])
    pendings = pending_creates(deployment)
    named = sorted((set(by_hand.adopt) | by_hand.drop) - {p.urn for p in pendings})
    if named:
        raise RecoveryError(f"{named[0]} is not a pending create of this stack; nothing was changed")
    for pending in pendings:
        if pending.urn in by_hand.drop:
            result.dropped.append(pending.urn)
            continue
        provider = provider_for(pending.inputs)
        if provider is None:
            result.unknown.append(pending.urn)
            continue
        values = provider.canonical(pending.inputs)
        collection = provider.collection(values)
        plural = rr_client.plural_of(collection)
        api = api_for(pending.inputs.get("profile") or None)
        try:
            items = api.list(collection, rr_client.listing_params(collection))
        except NotFound:
            items = []  # the parent is gone, so the object is too

        id_of = functools.partial(rr_client.item_id, plural=plural)
        if pending.urn in by_hand.adopt:
            chosen = by_hand.adopt[pending.urn]
            _check_chosen(pending.urn, chosen, collection, [i for i in items if provider.natural_key(values, i)],
                          id_of, tracked)  # fmt: skip
            tracked.add(chosen)
            result.adopted.append((pending.urn, chosen))
            continue
        proof = ownership.Proof(frozenset(tracked), pending.recorded)
        sent = provider.create_body(pending.inputs)
        made = ownership.verdict(items, functools.partial(provider.natural_key, values), id_of, proof, plural, sent)
        if made.ours is not None and not every_stack_read:
            result.unsettled.append((pending.urn, (str(id_of(made.ours)),)))
        elif made.ours is not None:
            tracked.add(str(id_of(made.ours)))
            result.adopted.append((pending.urn, str(id_of(made.ours))))
        elif made.candidates:
            result.unsettled.append((pending.urn, tuple(sorted(str(id_of(i)) for i in made.candidates))))
        else:
            result.not_created.append(pending.urn)
    return result


def _check_chosen(
    urn: str,
    chosen: str,
    collection: str,
    matching: list[dict[str, Any]],
    id_of: Callable[[dict[str, Any]], Optional[str]],
    tracked: set[str],
) -> None:
    """An id given with `--adopt` must be a listed object matching the resource, tracked by no stack."""
    if chosen in tracked:
        raise RecoveryError(f"--adopt {urn}={chosen}: {chosen} is already tracked by a stack; nothing was changed")
    if chosen not in {id_of(i) for i in matching}:
        raise RecoveryError(
            f"--adopt {urn}={chosen}: no object {chosen} matching this resource is listed in {collection}; "
            "nothing was changed"
        )


def parse_by_hand(adopt: Iterable[str], drop: Iterable[str]) -> ByHand:
    """`--adopt URN=ID` (the id follows the last `=`: ids hold none) and `--drop URN`."""
    decided = ByHand(drop=set(drop))
    for entry in adopt:
        urn, sep, id_ = entry.rpartition("=")
        if not sep or not urn or not id_:
            raise RecoveryError(f"--adopt takes URN=ID, got {entry!r}")
        decided.adopt[urn] = id_
    both = decided.drop & set(decided.adopt)
    if both:
        raise RecoveryError(f"both --adopt and --drop name {sorted(both)[0]}")
    return decided


def settle_by_hand_text(urn: str, candidates: tuple[str, ...]) -> str:
    """One line: why a pending create stays pending, what it may have created, and the commands that settle it."""
    return (
        f"cannot prove which object the interrupted create of {urn} made: {len(candidates)} "
        f"candidate{'s' if len(candidates) > 1 else ''} "
        f"({', '.join(candidates)}), matching its name or key and tracked by no stack; it stays pending. "
        "Settle it with "
        f"`rr-pulumi recover --adopt {shlex.quote(urn + '=' + candidates[0])}` (with the id that is this stack's) "
        f"or `rr-pulumi recover --drop {shlex.quote(urn)}` if none is"
    )


def settled_export(export: dict[str, Any], settlement: Settlement) -> dict[str, Any]:
    """The stack export with every pending create settled: the adopted ones become resources with their id (the
    recorded inputs stand in for outputs until `pulumi refresh` reads the live object), the rest are dropped.

    (`pulumi refresh --import-pending-creates` would be the native way, but in 3.260.0 it drops the imports.)
    """
    deployment = dict(export.get("deployment") or {})
    adopted = dict(settlement.adopted)
    unsettled = {urn for urn, _ in settlement.unsettled}
    resources = [dict(r) for r in deployment.get("resources") or []]
    kept = []
    for op in deployment.get("pending_operations") or []:
        resource = op.get("resource") or {}
        if op.get("type") != "creating" or resource.get("urn") in unsettled:
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


@dataclass
class Locks:
    """The lock files of one stack in a file backend."""

    stale: list[str]  # left by a `pulumi` provably no longer running: safe to lift
    held: Optional[str] = None  # why the lock must stay (a live process, an owner not provably dead, unreadable)
    unproven: bool = False  # held because its owner cannot be proven dead (the user may check and lift it)


def _lock_verdict(lock: Path) -> Optional[tuple[str, bool]]:
    """None when the lock was left by a provably dead `pulumi`, else (why it must stay, whether only unproven)."""
    try:
        holder = json.loads(lock.read_text())
        pid, host = int(holder["pid"]), str(holder.get("hostname"))
    except (OSError, ValueError, KeyError, TypeError):
        return f"the lock {lock} cannot be read", True
    state, why = pulumi_runs.owner_state({**holder, "pid": pid, "hostname": host})
    if state == "dead":
        return None
    since = holder.get("timestamp") if isinstance(holder.get("timestamp"), str) else "an unknown time"
    who = f"`pulumi` (pid {pid}) on {host!r} since {since}"
    if state == "live":
        return f"the stack is locked by a running `pulumi` (pid {pid}): let it finish", False
    return f"the stack is locked by {who}, and its end cannot be proven: {why}", True


def lock_folder(backend_url: Optional[str], qualified_stack: str) -> Optional[Path]:
    """Where a file backend keeps the locks of one stack: `.pulumi/locks/<fully qualified name>/`, that is
    `organization/<project>/<stack>` for a project-scoped stack and `<stack>` for a legacy one (diy/lock.go:
    stackLockDir). Other projects' stacks of the same name have their own folders."""
    if not backend_url or not backend_url.startswith("file://"):
        return None
    parts = qualified_stack.split("/")
    if not all(part and part not in (".", "..") for part in parts):
        return None
    return Path(unquote(urlparse(backend_url).path)).joinpath(".pulumi", "locks", *parts)


def file_locks(backend_url: Optional[str], qualified_stack: str) -> Locks:
    """The locks of one stack of a file backend (by its fully qualified name) and whether they may be lifted.

    A killed `pulumi` leaves its lock behind; `pulumi cancel` removes it, but must never be run while another
    `pulumi` is really working on the stack, so a lock is lifted only when its owner is provably dead (see
    pulumi_runs). Other backends (Pulumi Cloud, S3, ...) keep their locks where this tool cannot judge them: none
    is listed.
    """
    folder = lock_folder(backend_url, qualified_stack)
    found = sorted(folder.glob("*.json")) if folder is not None and folder.is_dir() else []
    for lock in found:
        verdict = _lock_verdict(lock)
        if verdict:
            return Locks([], verdict[0], verdict[1])
    return Locks([str(lock) for lock in found])


def qualified_stack_name(pulumi: Pulumi) -> str:
    """The stack's fully qualified name, as the backend keys its files (`organization/<project>/<stack>`)."""
    return pulumi.run("stack", "--show-name", "--fully-qualify-stack-names").stdout.strip()


def lift_lock_command(pulumi: Pulumi, qualified_stack: str) -> str:
    """The command that lifts the stack's lock by hand, runnable as printed from the current folder."""
    folder = Path(pulumi.cwd)
    where = "" if folder.resolve() == Path.cwd().resolve() else f" --cwd {shlex.quote(str(folder))}"
    return f"pulumi cancel --yes --stack {shlex.quote(qualified_stack)}{where}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cwd", default=".", help="the Pulumi project folder (default: .)")
    parser.add_argument("--stack", help="the stack (default: the selected one)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
    parser.add_argument("--adopt", action="append", default=[], metavar="URN=ID",
                        help="settle a pending create by hand: it made the object ID (listed, matching, tracked by "
                             "no stack)")
    parser.add_argument("--drop", action="append", default=[], metavar="URN",
                        help="settle a pending create by hand: it made nothing (the next `up` creates it)")


def _say(message: str) -> None:
    print(message, flush=True)


def managed_by_other_stacks(pulumi: Pulumi) -> Claims:
    """The ids the backend's other stacks track; a stack that cannot be read is named (then nothing is adopted
    without `--adopt`: that stack may track the one match)."""

    def run(args: list[str]) -> Any:
        try:
            return pulumi.json(*args, stack=False)
        except PulumiFailed:
            return None

    found = backend_claims(run, skip=[pulumi.stack] if pulumi.stack else [])
    for name in found.unreadable:
        print(f"rr-pulumi recover: could not read {name} of this backend; no pending create is adopted without --adopt",
              file=sys.stderr)  # fmt: skip
    return found


def recover(pulumi: Pulumi, dry_run: bool = False, by_hand: Optional[ByHand] = None) -> int:
    """Settle the stack's pending operations and lift a dead `pulumi`'s lock; 0 when the stack is ready."""
    backend = pulumi.whoami().get("url")  # the engine's own choice: PULUMI_BACKEND_URL, Pulumi.yaml or login
    for path in [] if dry_run else repair_file_backend(backend):
        _say(f"removed an empty checkpoint attributes file left by the interruption: {path}")
    pulumi.stack = pulumi.stack_name()
    is_file_backend = bool(backend) and str(backend).startswith("file://")
    qualified = qualified_stack_name(pulumi) if is_file_backend else pulumi.stack
    locks = file_locks(backend, qualified)
    if locks.held:
        print(f"rr-pulumi recover: {locks.held}; nothing was changed", file=sys.stderr)
        if locks.unproven:
            print("Check that no `pulumi` command is working on this stack (on any machine or container that uses "
                  f"this backend), then lift the lock yourself and run rr-pulumi recover again:\n"
                  f"  {lift_lock_command(pulumi, qualified)}", file=sys.stderr)
        return 1
    if locks.stale:
        if dry_run:
            _say("the stack is locked by a `pulumi` that is no longer running: would run `pulumi cancel --yes`")
        else:
            pulumi.run("cancel", "--yes")
            _say("the stack was locked by a `pulumi` that is no longer running: ran `pulumi cancel --yes`")
    export = pulumi.json("stack", "export")
    deployment = export.get("deployment", {})
    if not pending_creates(deployment):
        if by_hand and (by_hand.adopt or by_hand.drop):
            print("rr-pulumi recover: the stack has no pending create to settle; nothing was changed", file=sys.stderr)
            return 1
        _say("no pending creates: nothing to recover")
        return 0
    clients: dict[Optional[str], rr_client.RequestRocketClient] = {}

    def api_for(profile: Optional[str]) -> rr_client.RequestRocketClient:
        if profile not in clients:
            clients[profile] = api_client(pulumi.connection_settings(profile))
        return clients[profile]

    elsewhere = managed_by_other_stacks(pulumi)
    settlement = settle(deployment, api_for, managed_elsewhere=elsewhere.ids, by_hand=by_hand,
                        every_stack_read=not elsewhere.unreadable)
    for urn, id_ in settlement.adopted:
        _say(f"created before the interruption, adopting: {urn} -> {id_}")
    for urn in settlement.not_created:
        _say(f"never created, dropping the pending create (the next `up` creates it): {urn}")
    for urn in settlement.dropped:
        _say(f"dropping the pending create as asked (the next `up` creates it): {urn}")
    for urn in settlement.unknown:
        _say(f"not an rr-pulumi resource, dropping its pending create (check it yourself): {urn}")
    for urn, candidates in settlement.unsettled:
        print(f"rr-pulumi recover: {settle_by_hand_text(urn, candidates)}", file=sys.stderr)
    if settlement.unsettled:
        # `pulumi stack import` drops every pending operation, so nothing is imported until all are settled.
        print("rr-pulumi recover: no pending create was settled yet; run it again with the settlements above",
              file=sys.stderr)  # fmt: skip
        return 1
    if dry_run:
        return 0
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(settled_export(export, settlement), handle)
    try:
        pulumi.run("stack", "import", "--file", handle.name)
    finally:
        os.unlink(handle.name)
    _say("pending creates settled; now run `pulumi refresh`, then `pulumi up`")
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        by_hand = parse_by_hand(getattr(args, "adopt", []), getattr(args, "drop", []))
        return recover(Pulumi(Path(args.cwd), args.stack), args.dry_run, by_hand)
    except RequestRocketError as exc:
        print(f"rr-pulumi recover: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 1


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="rr-pulumi recover", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
