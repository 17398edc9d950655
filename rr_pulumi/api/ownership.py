"""Which listed object a request made: the one proof behind every adoption after an ambiguous create.

After a POST fails ambiguously (a 5xx, a reset, a read timeout), or `pulumi` was killed with a create in flight,
the API may or may not hold the new object, and names need not be unique: another stack, project, person or job
may hold an object with the same natural key (a name within its client; for a rule, which has no name, every
field within its parent). A listed object is taken as the one this request made only when all of these hold:

1. it matches the natural key;
2. its id is not `excluded`: for a create, every id the collection held just before the POST (listed fresh, never
   from a cache); for recovery, every id any readable stack of the backend tracks;
3. its `<kind>CreatedAt`, when the API gives one, is not before `since` minus `CLOCK_SKEW`: `since` is when the
   request (or the interrupted update) started by this machine's clock, and the allowance covers a server clock up
   to `CLOCK_SKEW` behind ours. A server clock further behind makes our own object look too old: it is then not
   adopted (a one-line error names it), which is the safe way to fail;
4. it is the only one left that holds every plain value the request sent (`verdict`).

When no object passes, the request made nothing, and a create may be sent again. But when objects pass 1-3 and none
(or several) hold the sent values, nothing is adopted and nothing is sent again: such an object is another's of the
same name, or ours with a value the server normalised, and no listing tells which, so the caller fails naming them.

Within one process, what no listing shows is known all the same: `Claims` holds every id a create of this process
made or adopted, per API and collection, and a create's verdict excludes them too (after waiting for the POSTs of
other threads that were still unanswered when it listed), so two resources of one `up` never hold one id.

What no listing can prove: an identical object (same name, same values) created by someone else within the seconds
between our list and our failed POST. That one object would be adopted; it is the only case left, and the
alternative (never adopting) would turn every lost answer into a duplicate.

Used by `RequestRocketClient.create` (after an ambiguous POST), `recovery.settle` (pending creates of a killed
`up`) and adoption by natural key (`provider.adopt.item_to_adopt`: rules 1 and 2 with every id a stack of the backend
manages excluded, and 4 for named kinds; no time, as adoption takes an object that exists already).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Optional

from rr_pulumi.schema import kinds

CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Proof:
    """What is known before the request: the ids that cannot be ours, and when the request started."""

    excluded: frozenset[str]
    since: Optional[datetime] = None  # None: no start time is known (the createdAt test is skipped)


def created_at(item: dict[str, Any], plural: str) -> Optional[datetime]:
    """The item's `<kind>CreatedAt` (ISO-8601), or None when the API gives none or it cannot be read."""
    kind = kinds.by_plural(plural)
    return parse_time(item.get(f"{kind.word if kind else plural.rstrip('s')}CreatedAt"))


def parse_time(value: Any) -> Optional[datetime]:
    """An RFC 3339 time (UTC when it names no zone), or None. Go writes up to nine fraction digits with trailing
    zeros cut (the engine's `created`, a lock's `timestamp`), and Python 3.10 reads only three or six: the fraction
    is written as six first."""
    if not isinstance(value, str) or not value:
        return None
    text = re.sub(r"\.(\d+)", lambda m: "." + (m.group(1) + "00000")[:6], value.replace("Z", "+00:00"), count=1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def candidates(
    items: Iterable[dict[str, Any]],
    matches: Callable[[dict[str, Any]], bool],
    id_of: Callable[[dict[str, Any]], Optional[str]],
    proof: Proof,
    plural: str = "",
) -> list[dict[str, Any]]:
    """The listed items this request may have made: rules 1 to 3 of the module text."""
    out = []
    for item in items:
        id_ = id_of(item)
        if not id_ or id_ in proof.excluded or not matches(item):
            continue
        created = created_at(item, plural)
        if proof.since is not None and created is not None and created < proof.since - CLOCK_SKEW:
            continue
        out.append(item)
    return out


@dataclass(frozen=True)
class Verdict:
    ours: Optional[dict[str, Any]]  # the one object the request provably made
    candidates: list[dict[str, Any]]  # else what it may have made (empty: it made nothing)


def verdict(
    items: Iterable[dict[str, Any]],
    matches: Callable[[dict[str, Any]], bool],
    id_of: Callable[[dict[str, Any]], Optional[str]],
    proof: Proof,
    plural: str,
    sent: dict[str, Any],
) -> Verdict:
    """What the request made, by rules 1 to 4 of the module text."""
    possible = candidates(items, matches, id_of, proof, plural)
    same = [item for item in possible if has_sent_values(item, sent)]
    if len(same) == 1:
        return Verdict(same[0], [])
    return Verdict(None, same or possible)


def has_sent_values(item: dict[str, Any], sent: dict[str, Any]) -> bool:
    """Whether every plain (string, number, boolean) field of a request body has the sent value in `item`.

    Objects and lists are left out (the API may add defaults inside them), and so are write-only secrets, which no
    listing returns."""
    for key, value in sent.items():
        if isinstance(value, (str, int, float, bool)) and key in item and item[key] != value:
            return False
    return True


def now() -> datetime:
    return datetime.now(timezone.utc)


class Claims:
    """The objects this process's creates made or adopted in one API, by collection, and the POSTs still unanswered.

    Identical objects are legal and names need not be unique, so when two threads create the same object and one POST
    fails ambiguously, the other's new object passes rules 1 to 4 of the module text: only this process can tell it is
    not the failed request's. `verdict` therefore excludes every claimed id, and first waits for each POST that was
    unanswered when the collection was listed (its object may be in the list, its id not yet claimed); a verdict's
    `ours` is claimed before the next verdict is taken, so no two creates adopt one object."""

    def __init__(self) -> None:
        self._changed = threading.Condition()  # guards the dicts below; notified when a POST is answered
        self._ids: dict[str, set[str]] = {}  # collection -> ids made or adopted
        self._unanswered: dict[str, set[object]] = {}  # collection -> tickets of POSTs sent, not yet answered

    def sending(self, collection: str) -> object:
        """Before a POST: its ticket, for `answered` (call that in every case, also when the POST raised)."""
        ticket = object()
        with self._changed:
            self._unanswered.setdefault(collection, set()).add(ticket)
        return ticket

    def answered(self, collection: str, ticket: object, made: Optional[str] = None) -> None:
        """After a POST: it got its answer (or none), and `made` is the id of the object it returned, if any."""
        with self._changed:
            self._unanswered.get(collection, set()).discard(ticket)
            if made:
                self._ids.setdefault(collection, set()).add(made)
            self._changed.notify_all()

    def unanswered(self, collection: str) -> frozenset[object]:
        """The POSTs to the collection not yet answered: take it when a listing of it returns, give it to `verdict`."""
        with self._changed:
            return frozenset(self._unanswered.get(collection, ()))

    def _await_answers(self, collection: str, listed_while: frozenset[object]) -> None:
        """Wait (holding `_changed`) until the POSTs `listed_while` are answered: their objects may be in the listing,
        their ids not yet claimed."""
        self._changed.wait_for(lambda: not (self._unanswered.get(collection, set()) & listed_while))

    def made_by_this_process(self, collection: str, listed_while: frozenset[object]) -> frozenset[str]:
        """The ids this process's creates made or adopted in the collection, once the POSTs `listed_while` are
        answered: adoption by name never takes one (it belongs to another resource of this deployment)."""
        with self._changed:
            self._await_answers(collection, listed_while)
            return frozenset(self._ids.get(collection, ()))

    def verdict(
        self,
        collection: str,
        listed_while: frozenset[object],
        items: Iterable[dict[str, Any]],
        matches: Callable[[dict[str, Any]], bool],
        id_of: Callable[[dict[str, Any]], Optional[str]],
        proof: Proof,
        plural: str,
        sent: dict[str, Any],
    ) -> Verdict:
        """`verdict` with this process's claimed ids excluded, once the POSTs `listed_while` (unanswered when the items
        were listed) are answered; its `ours` is claimed."""
        with self._changed:
            self._await_answers(collection, listed_while)
            claimed = self._ids.setdefault(collection, set())
            made = verdict(items, matches, id_of, Proof(proof.excluded | claimed, proof.since), plural, sent)
            ours = id_of(made.ours) if made.ours is not None else None
            if ours:
                claimed.add(ours)
            return made


_claims: dict[str, Claims] = {}
_claims_lock = threading.Lock()


def claims_for(api_url: str) -> Claims:
    """The one `Claims` of an API in this process, shared by its clients: the provider keeps one client per profile,
    and two profiles may name the same account."""
    with _claims_lock:
        return _claims.setdefault(api_url.rstrip("/"), Claims())


def forget_claims() -> None:
    """Forget every claim of this process (tests, whose fake APIs number their objects from 1 each time)."""
    with _claims_lock:
        _claims.clear()
