"""Which RequestRocket objects the stacks of a Pulumi backend claim: one definition for drift, inventory, adoption
and recovery.

A stack **manages** an object when its state holds one of the five kinds with that id and did not look it up:
`Kind.get(...)` is a read, recorded `external: true`, a reference to someone else's object that the engine never
writes or deletes. Drift and inventory report by that (`is_managed`, `managed_ids`).

A stack **claims** every id its state names, lookups and pending deletions included (`claimed_ids`): what adoption
by name and recovery must never take, since another stack either owns the object or builds on it.

Other stacks are read with the `pulumi` CLI itself (`pulumi stack ls --all --json`, then `pulumi stack export
--stack NAME` for each), so every backend `pulumi` can reach counts (a file backend, Pulumi Cloud, S3...), with the
user's own credentials. An export is not decrypted (ids are plain in it), takes no lock and writes nothing. A stack
whose state cannot be read is named in `unreadable`, never silently taken as claiming nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

from rr_pulumi.schema import kinds


def deployment_of(state: Any) -> dict[str, Any]:
    """The `deployment` of a `pulumi stack export` document (or the deployment itself)."""
    if not isinstance(state, dict):
        return {}
    deployment = state.get("deployment", state)
    return deployment if isinstance(deployment, dict) else {}


def is_lookup(resource: dict[str, Any]) -> bool:
    """A resource the stack read (`.get`) rather than created or adopted: Pulumi records reads as external."""
    return bool(resource.get("external"))


def kind_of(resource: dict[str, Any]) -> Optional[kinds.Kind]:
    """The RequestRocket kind of a state resource, from its URN (a child's type is the last of the URN's types)."""
    urn = str(resource.get("urn") or "")
    if kinds.TYPE_TOKEN_PREFIX not in urn or "::" not in urn:
        return None
    type_ = urn.split("::")[-2].rsplit("$", 1)[-1]
    return kinds.by_name(type_.rsplit(":", 1)[-1])


def is_managed(resource: dict[str, Any]) -> bool:
    """Whether a resource of a stack's state (`pulumi stack export`, or a step's `oldState` in `pulumi preview
    --json`, with its `urn`) is a RequestRocket object this stack manages: one of the five kinds, with an id, and
    not a lookup. Resources pending deletion (the old half of a replacement) are still the stack's."""
    return bool(resource.get("id")) and not is_lookup(resource) and kind_of(resource) is not None


def managed_ids(state: Any) -> dict[str, str]:
    """The objects a stack manages, id -> URN, from its exported state (the whole document or its deployment)."""
    found: dict[str, str] = {}
    for resource in deployment_of(state).get("resources") or []:
        if isinstance(resource, dict) and is_managed(resource):
            found.setdefault(str(resource["id"]), str(resource["urn"]))
    return found


def claimed_ids(state: Any) -> set[str]:
    """Every id a stack's state names: what it manages, what it looks up, what it is about to delete."""
    return {str(r["id"]) for r in deployment_of(state).get("resources") or [] if isinstance(r, dict) and r.get("id")}


@dataclass
class Claims:
    ids: set[str] = field(default_factory=set)
    unreadable: list[str] = field(default_factory=list)  # stacks (or the list of stacks) that could not be read


def stack_names(listing: Any) -> list[str]:
    """The names in `pulumi stack ls --all --json` (fully qualified with a file backend's projects)."""
    return [str(s["name"]) for s in listing or [] if isinstance(s, dict) and s.get("name")]


def backend_claims(run: Callable[[list[str]], Optional[Any]], skip: Iterable[str] = ()) -> Claims:
    """Every id claimed by a stack of the backend, except the stacks named in `skip` (read by the caller).

    `run(args)` runs `pulumi ARGS` and returns its JSON document, or None when the command failed."""
    listing = run(["stack", "ls", "--all", "--json"])
    if listing is None:
        return Claims(set(), ["the list of stacks"])
    found = Claims()
    skipped = set(skip)
    for name in stack_names(listing):
        if name in skipped:
            continue
        export = run(["stack", "export", "--stack", name])
        if export is None:
            found.unreadable.append(name)
        else:
            found.ids |= claimed_ids(export)
    return found
