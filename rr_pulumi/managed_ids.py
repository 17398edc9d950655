"""The ids that the stacks of a Pulumi backend manage: objects no other stack may adopt.

Read with the `pulumi` CLI itself (`pulumi stack ls --all --json`, then `pulumi stack export --stack NAME` for each),
so every backend `pulumi` can reach counts (a file backend, Pulumi Cloud, S3...), with the user's own credentials.
A stack whose state cannot be read is named in `unreadable`, never silently taken as managing nothing. An export
is not decrypted (no `--show-secrets`): ids are plain in it.

`run(args)` runs `pulumi ARGS` and returns its JSON document, or None when the command failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional


@dataclass
class Managed:
    ids: set[str] = field(default_factory=set)
    unreadable: list[str] = field(default_factory=list)  # stacks (or the list of stacks) that could not be read


def ids_of(export: Any) -> set[str]:
    """The ids of every resource of a stack export (also those pending deletion: they are still that stack's)."""
    deployment = export.get("deployment") if isinstance(export, dict) else None
    resources = deployment.get("resources") if isinstance(deployment, dict) else None
    return {str(r["id"]) for r in resources or [] if isinstance(r, dict) and r.get("id")}


def stack_names(listing: Any) -> list[str]:
    return [str(s["name"]) for s in listing or [] if isinstance(s, dict) and s.get("name")]


def managed_ids(run: Callable[[list[str]], Optional[Any]], skip: Iterable[str] = ()) -> Managed:
    """Every id managed by a stack of the backend, except the stacks named in `skip` (read by the caller)."""
    listing = run(["stack", "ls", "--all", "--json"])
    if listing is None:
        return Managed(set(), ["the list of stacks"])
    found = Managed()
    skipped = set(skip)
    for name in stack_names(listing):
        if name in skipped:
            continue
        export = run(["stack", "export", "--stack", name])
        if export is None:
            found.unreadable.append(name)
        else:
            found.ids |= ids_of(export)
    return found
