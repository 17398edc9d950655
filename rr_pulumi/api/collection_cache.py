"""The client's read cache: each listed collection by id for `ttl` seconds, never older than a write through the client.

A refresh reads every object of a stack; listing a collection once and serving every read of it from that list
turns one GET per object into one per collection. The cache lives in the provider process, which the engine starts
per command, so nothing survives between commands.

Every collection has a *generation*, bumped by each write to it (`invalidate`). A list is stored only under the
generation it was started in (`store`), so a list that was in flight when a write landed is handed to the read that
asked for it but never kept: no later read is served data older than a write made through this client. `load`
lists a collection at most once at a time (other readers of it wait for that list), and not at all while a fresh
list is held. Thread-safe: the provider server answers several engine calls at once (`rr_pulumi.api.concurrency`).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

Items = dict[str, dict[str, Any]]  # a collection's items by id


class CollectionCache:
    """Listed collections by path (`/api/clients/{id}/targets`), each with the generation it was listed in."""

    def __init__(self, ttl: float = 60.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()  # guards the three dicts below
        self._lists: dict[str, tuple[float, Items]] = {}  # collection -> (when listed, items)
        self._generations: dict[str, int] = {}  # every collection ever loaded or written: writes to it so far
        self._loading: dict[str, threading.Lock] = {}  # one list of a collection at a time

    def get(self, collection: str) -> Optional[Items]:
        """The items of a collection listed less than `ttl` seconds ago and not written since; else None."""
        with self._lock:
            return self._fresh(collection)

    def generation(self, collection: str) -> int:
        """The collection's generation now: take it before listing, hand it to `store` with the list."""
        with self._lock:
            return self._generations.setdefault(collection, 0)

    def store(self, collection: str, items: Items, generation: int) -> bool:
        """Keep a list read in `generation`; refused (False) when the collection was written since."""
        with self._lock:
            if self._generations.setdefault(collection, 0) != generation:
                return False
            self._lists[collection] = (self._clock(), items)
            return True

    def load(self, collection: str, fetch: Callable[[], Items]) -> Items:
        """The collection's items, from a fresh list or else from `fetch()` (kept unless a write landed meanwhile).
        Threads that ask for the same collection at once share one `fetch`; other collections do not wait."""
        with self._lock:
            found = self._fresh(collection)
            if found is not None:
                return found
            one_at_a_time = self._loading.setdefault(collection, threading.Lock())
        with one_at_a_time:
            with self._lock:
                found = self._fresh(collection)
                if found is not None:
                    return found  # listed by the thread this one waited for
                generation = self._generations.setdefault(collection, 0)
            items = fetch()
            self.store(collection, items, generation)
            return items

    def invalidate(self, collection: str, below: Optional[str] = None) -> None:
        """After a write: forget the collection, and every collection whose path starts with `below` (the children of
        a deleted object), and refuse any list of them still in flight."""
        with self._lock:
            for key in {collection, *self._generations}:
                if key == collection or (below and key.startswith(below)):
                    self._lists.pop(key, None)
                    self._generations[key] = self._generations.get(key, 0) + 1

    def _fresh(self, collection: str) -> Optional[Items]:
        hit = self._lists.get(collection)
        return hit[1] if hit and self._clock() - hit[0] < self.ttl else None
