"""Adopting an existing object instead of creating one (`adopt=True` or `adopt_id="..."` on a resource).

Pulumi's `import` does not work for dynamic providers (pulumi/pulumi#16175), so `create` does it: it finds the
object (by id, or by its natural key: a name within its client, every field of a rule within its parent), refuses
when an immutable field differs, and then the provider applies the declared values.

Adopting by natural key (`adopt=True`) takes an object only when it is provably nobody else's: the one match that no
stack of the backend manages (`rr_pulumi.provider.stack_claims`, read once per provider process through the `pulumi`
CLI that started the provider; this stack's own resources count too). When the backend's stacks cannot all be read, or
the only match is managed by a stack, adoption by name is refused in one line naming the ids: `adopt_id="<id>"` is the
explicit escape, for a user who knows which object to take (an id names one object, so nothing is guessed).

The markers travel as resource inputs beside the schema's fields; they never reach the API and never cause a diff.
Adopting changes nothing the user did not declare: a credential adopted without `credential_secret` keeps its live
secret, and a declared secret is recorded but sent only with `rotate_on_adopt=True`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from typing import Any, Callable, Optional

from rr_pulumi.api import ownership
from rr_pulumi.api.errors import RequestRocketError
from rr_pulumi.provider.stack_claims import Claims, backend_claims
from rr_pulumi.schema.kinds import Kind
from rr_pulumi.schema.plan import is_unset
from rr_pulumi.schema.wire import SchemaRef, fields, from_wire, normalize

ADOPT = "adopt"  # True: find the object by its natural key
ADOPT_ID = "adopt_id"  # the id of the object to adopt
ROTATE_ON_ADOPT = "rotate_on_adopt"  # True: an adopted credential takes the declared secret
MARKERS = (ADOPT, ADOPT_ID, ROTATE_ON_ADOPT)


class AdoptionError(RequestRocketError):
    """The object to adopt is missing, ambiguous, already adopted, or cannot take the declared values."""


def markers_of(props: dict[str, Any]) -> dict[str, Any]:
    """The adoption markers set on a resource's inputs."""
    return {k: props[k] for k in MARKERS if not is_unset(props.get(k)) and props.get(k) is not False}


def adopting(markers: dict[str, Any]) -> bool:
    """Whether the markers ask to take an existing object over (rather than create one)."""
    return ADOPT in markers or ADOPT_ID in markers


def item_to_adopt(
    kind: Kind,
    where: str,
    items: list[dict[str, Any]],
    id_of: Callable[[dict[str, Any]], Optional[str]],
    markers: dict[str, Any],
    natural_key: Callable[[dict[str, Any]], bool],
    key_text: str,
    taken: set[str],
    managed: Optional[Claims] = None,
) -> dict[str, Any]:
    """The listed item to adopt: by id, else the natural-key match that no stack manages (`managed`: the ids the
    backend's stacks track) and this deployment has not adopted yet. Objects of a kind without a name (rules) are
    interchangeable when identical: each adopter gets a different one."""
    word = kind.word
    wanted = markers.get(ADOPT_ID)
    if wanted:
        found = next((i for i in items if id_of(i) == str(wanted)), None)
        if found is None:
            raise AdoptionError(
                f"cannot adopt {word} {wanted!r}: no such {word} in {where}; "
                "fix adopt_id, or remove it to create a new one"
            )
        return found
    matches = [i for i in items if natural_key(i)]
    if not matches:
        raise AdoptionError(
            f"cannot adopt {word} with {key_text}: none exists in {where}; remove adopt=True to create it"
        )
    if managed is not None:
        if managed.unreadable:
            raise AdoptionError(
                f"cannot adopt {word} with {key_text} by name: {', '.join(managed.unreadable)} of this backend "
                "could not be read, so no proof says another stack does not manage it; "
                f"adopt it by id with adopt_id (matches: {_ids(matches, id_of)})"
            )
        unmanaged = ownership.candidates(matches, natural_key, id_of, ownership.Proof(frozenset(managed.ids)))
        theirs, matches = [i for i in matches if i not in unmanaged], unmanaged
        if not matches:
            raise AdoptionError(
                f"cannot adopt {word} with {key_text}: {_ids(theirs, id_of)} is managed by a stack of this backend; "
                "remove adopt=True to create a new one (adopt_id takes a given object over explicitly)"
            )
    free = [i for i in matches if id_of(i) not in taken]
    if not free:
        raise AdoptionError(
            f"cannot adopt {word} with {key_text}: another resource of this stack already created or adopted it"
        )
    if kind.name_field is not None and len(matches) > 1:  # named objects are not interchangeable
        raise AdoptionError(
            f"cannot adopt {word} with {key_text}: several match ({_ids(matches, id_of)}); use adopt_id")
    return free[0]


def _ids(items: list[dict[str, Any]], id_of: Callable[[dict[str, Any]], Optional[str]]) -> str:
    return ", ".join(sorted(str(id_of(i)) for i in items))


class BackendStacks:
    """What the stacks of the backend manage, read once per provider process (only when adopting by name), through
    the `pulumi` CLI that started this provider: the same executable, folder and environment, so the same backend."""

    def __init__(self, run: Optional[Callable[[list[str]], Any]] = None) -> None:
        self._run = run
        self._found: Optional[Claims] = None
        self._lock = threading.Lock()

    def reset(self, run: Optional[Callable[[list[str]], Any]] = None) -> None:
        """Forget what was read, and read with `run` from now on (tests: a backend of their own)."""
        with self._lock:
            self._run, self._found = run, None

    def managed(self) -> Claims:
        with self._lock:
            if self._found is None:
                run = self._run or _pulumi_runner()
                self._found = backend_claims(run) if run else Claims(set(), ["the stacks (no `pulumi` CLI found)"])
            return self._found


def _pulumi_runner() -> Optional[Callable[[list[str]], Any]]:
    from rr_pulumi.provider.live_config import running_pulumi

    invocation = running_pulumi()
    if invocation is None:
        return None
    # The CLI has applied --cwd already (its working directory is the folder): PULUMI_OPTION_CWD must not apply twice.
    env = {**{k: v for k, v in os.environ.items() if k != "PULUMI_OPTION_CWD"}, "PULUMI_SKIP_UPDATE_CHECK": "true"}

    def run(args: list[str]) -> Any:
        try:
            done = subprocess.run([invocation.executable, *args, "--non-interactive"], cwd=invocation.cwd, env=env,
                                  capture_output=True, text=True, timeout=120)  # fmt: skip
            return json.loads(done.stdout) if done.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired, ValueError):
            return None

    return run


BACKEND_STACKS = BackendStacks()


def immutable_conflicts(schema: SchemaRef, values: dict[str, Any], item: dict[str, Any]) -> list[str]:
    """Immutable fields whose declared value differs from the live object's (adoption cannot change them)."""
    live = normalize(schema, from_wire(schema, item))
    declared = normalize(schema, values)
    out = []
    for name, spec in fields(schema).items():
        if spec.immutable and not spec.path and not spec.secret and name in declared:
            if declared[name] != live.get(name) and not (is_unset(declared[name]) and is_unset(live.get(name))):
                out.append(f"{name} is {live.get(name)!r} on the API but {declared[name]!r} in the program")
    return out


class AdoptedIds:
    """Ids adopted by this provider process (one per deployment), so two resources cannot adopt one object."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, kind: str, choose: Callable[[set[str]], str]) -> str:
        """Choose an id (given the ids taken so far) and claim it, atomically across the engine's threads."""
        with self._lock:
            id_ = choose(set(self._ids))
            if id_ in self._ids:
                raise AdoptionError(
                    f"cannot adopt {kind} {id_!r}: it is already adopted by another resource of this stack"
                )
            self._ids.add(id_)
            return id_


ADOPTED = AdoptedIds()


class Replacements:
    """Resources with adoption markers that this deployment replaces, so their replacement is a new object.

    The markers act only at creation. But the engine checks a replacement's inputs a second time with no old inputs,
    as for a new resource, and `create` gets nothing but those inputs: without this, a rule adopted by its id and
    given a new priority would adopt the very rule it replaces. The first check (old inputs, a replacement planned)
    notes the program's inputs; the second check finds them and notes its checked inputs for `create`. Keys are
    fingerprints, held in memory only.
    """

    def __init__(self) -> None:
        self._keys: set[str] = set()
        self._lock = threading.Lock()

    def note(self, stage: str, value: dict[str, Any]) -> None:
        with self._lock:
            self._keys.add(_fingerprint(stage, value))

    def take(self, stage: str, value: dict[str, Any]) -> bool:
        """Whether `value` was noted at `stage` (and forget it)."""
        key = _fingerprint(stage, value)
        with self._lock:
            found = key in self._keys
            self._keys.discard(key)
            return found


def _fingerprint(stage: str, value: dict[str, Any]) -> str:
    def comparable(item: Any) -> Any:  # as the engine hands it back: numbers as floats, tuples as lists
        if isinstance(item, float) and item.is_integer():
            return int(item)
        if isinstance(item, dict):
            return {str(k): comparable(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [comparable(v) for v in item]
        return item

    text = json.dumps([stage, comparable(value)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


REPLACEMENTS = Replacements()
