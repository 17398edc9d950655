"""What changes between a recorded state and declared inputs: the pure decisions the provider and drift share.

* `is_unset(value)`: the one notion of "nobody set this" (None, "", [] or {}): what the API returns for an optional
  field left unset, so an empty declared value and an empty live one are the same.
* `plan_diff(schema, olds, news)`: which properties change, and which of them force a replacement.
* `clear_removed(body, ...)`: PUT merges, so a removed optional field is cleared with an explicit null.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from rr_pulumi.schema.wire import FieldSpec, SchemaRef, contains_unknown, input_fields, normalize, secret_hash


PROVIDER_KEY = "__provider"


def user_props(props: dict[str, Any]) -> dict[str, Any]:
    """The resource's own properties, without the engine's `__provider`."""
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


def is_unset(value: Any) -> bool:
    """None, an empty string, list or object: a value nobody set."""
    return value is None or (isinstance(value, (str, list, tuple, dict)) and len(value) == 0)


def hash_key(name: str) -> str:
    """The output holding the fingerprint of a secret input."""
    return f"{name}_hash"


@dataclass
class Plan:
    """What a diff found: the properties that change and those of them that force a replacement."""

    changes: list[str] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)


def plan_diff(schema: SchemaRef, olds: dict[str, Any], news: dict[str, Any]) -> Plan:
    """Compare the recorded outputs (`olds`) with the checked inputs (`news`).

    An input left unset means "no opinion" (the server's or the previous value stands). A value not known yet
    (preview) counts as a change. Secrets compare by fingerprint, never by showing the value.
    """
    plan = Plan()
    old_n, new_n = normalize(schema, olds), normalize(schema, news)
    for name, spec in input_fields(schema).items():
        new = new_n.get(name)
        if spec.secret:
            if contains_unknown(new):
                changed = True
            else:
                old_hash = olds.get(hash_key(name)) or (secret_hash(olds[name]) if olds.get(name) is not None else None)
                changed = new is not None and secret_hash(new) != old_hash
        elif new is None:
            changed = spec.clearable and not is_unset(old_n.get(name))  # removed from the program: clear it
        elif contains_unknown(new):
            changed = True
        else:
            changed = new != old_n.get(name) and not (is_unset(new) and is_unset(old_n.get(name)))
        if changed:
            plan.changes.append(name)
            if spec.immutable:
                plan.replaces.append(name)
    return plan


def clear_removed(
    body: dict[str, Any], changes: Iterable[str], values: Mapping[str, Any], specs: Mapping[str, FieldSpec]
) -> dict[str, Any]:
    """The body with an explicit null for every changed field the program no longer sets (PUT merges)."""
    for name in changes:
        wire = specs[name].wire
        if values.get(name) is None and wire:
            body[wire] = None
    return body
