"""The read cache alone (`rr_pulumi.api.collection_cache`): hits, writes that invalidate, generations that refuse a
list made stale by a write, isolation between collections, and threads (the provider serves several calls at once).

Threads meet on events, never on sleeps; a fake clock stands in for time."""

import threading

from rr_pulumi.api.collection_cache import CollectionCache

TARGETS = "/api/clients/c1/targets"
PROXIES = "/api/clients/c1/proxies"
RULES = "/api/clients/c1/targets/t1/rules"
WAIT = 10  # seconds before a test that would otherwise hang fails instead (never reached when it passes)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Lister:
    """A fetch that counts its calls and answers with the listing of its number."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict:
        self.calls += 1
        return {"t1": {"targetName": f"listing {self.calls}"}}


def test_a_collection_is_listed_once_and_then_served_from_the_cache():
    cache, fetch = CollectionCache(), Lister()
    assert cache.get(TARGETS) is None
    first = cache.load(TARGETS, fetch)
    assert cache.load(TARGETS, fetch) == first == cache.get(TARGETS) and fetch.calls == 1


def test_a_list_expires_after_the_ttl():
    clock, fetch = Clock(), Lister()
    cache = CollectionCache(60, clock=clock)
    cache.load(TARGETS, fetch)
    clock.now += 59.9
    assert cache.get(TARGETS) is not None
    clock.now += 0.1
    assert cache.get(TARGETS) is None
    assert cache.load(TARGETS, fetch)["t1"]["targetName"] == "listing 2"


def test_a_write_invalidates_the_collection():
    cache, fetch = CollectionCache(), Lister()
    cache.load(TARGETS, fetch)
    cache.invalidate(TARGETS)
    assert cache.get(TARGETS) is None
    assert cache.load(TARGETS, fetch)["t1"]["targetName"] == "listing 2"


def test_a_list_started_before_a_write_is_never_stored_after_it():
    cache = CollectionCache()
    generation = cache.generation(TARGETS)  # a list starts...
    cache.invalidate(TARGETS)  # ...a write lands...
    assert cache.store(TARGETS, {"t1": {"targetName": "before the write"}}, generation) is False  # ...it is refused
    assert cache.get(TARGETS) is None
    assert cache.store(TARGETS, {"t1": {"targetName": "after"}}, cache.generation(TARGETS)) is True
    assert cache.get(TARGETS) == {"t1": {"targetName": "after"}}


def test_a_load_in_flight_when_a_write_lands_answers_its_caller_but_is_not_kept():
    cache, fetch = CollectionCache(), Lister()

    def listing_overtaken_by_a_write() -> dict:
        items = fetch()
        cache.invalidate(TARGETS)  # the write lands while the list's answer is on its way
        return items

    assert cache.load(TARGETS, listing_overtaken_by_a_write)["t1"]["targetName"] == "listing 1"
    assert cache.get(TARGETS) is None
    assert cache.load(TARGETS, fetch)["t1"]["targetName"] == "listing 2"


def test_a_write_to_one_collection_leaves_the_others_alone():
    cache = CollectionCache()
    targets, proxies = Lister(), Lister()
    cache.load(TARGETS, targets)
    cache.load(PROXIES, proxies)
    generation = cache.generation(PROXIES)
    cache.invalidate(TARGETS)
    assert cache.get(TARGETS) is None and cache.get(PROXIES) is not None
    assert cache.store(PROXIES, {}, generation) is True  # its generation did not move


def test_deleting_an_object_invalidates_the_collections_below_it():
    cache = CollectionCache()
    for path in (TARGETS, RULES, PROXIES):
        cache.load(path, Lister())
    in_flight = cache.generation("/api/clients/c1/targets/t1/other")  # a list below it, not stored yet
    cache.invalidate(TARGETS, below=f"{TARGETS}/t1/")
    assert cache.get(TARGETS) is None and cache.get(RULES) is None and cache.get(PROXIES) is not None
    assert cache.store("/api/clients/c1/targets/t1/other", {}, in_flight) is False


def test_a_failed_list_stores_nothing():
    cache = CollectionCache()

    def failing() -> dict:
        raise ConnectionError("down")

    try:
        cache.load(TARGETS, failing)
    except ConnectionError:
        pass
    assert cache.get(TARGETS) is None and cache.load(TARGETS, Lister())["t1"]["targetName"] == "listing 1"


def test_a_write_from_another_thread_during_a_list_refuses_that_list():
    cache, fetch = CollectionCache(), Lister()
    listing, written = threading.Event(), threading.Event()
    answers = []

    def slow_list() -> dict:
        listing.set()
        assert written.wait(WAIT)
        return fetch()

    reader = threading.Thread(target=lambda: answers.append(cache.load(TARGETS, slow_list)))
    reader.start()
    assert listing.wait(WAIT)
    cache.invalidate(TARGETS)  # another worker's update, while the list is on its way
    written.set()
    reader.join(WAIT)
    assert answers == [{"t1": {"targetName": "listing 1"}}] and cache.get(TARGETS) is None


def test_a_list_in_flight_does_not_hold_up_other_collections():
    cache = CollectionCache()
    listing, release = threading.Event(), threading.Event()

    def slow_list() -> dict:
        listing.set()
        assert release.wait(WAIT)
        return {}

    reader = threading.Thread(target=cache.load, args=(TARGETS, slow_list))
    reader.start()
    assert listing.wait(WAIT)
    try:
        assert cache.load(PROXIES, Lister()) == {"t1": {"targetName": "listing 1"}}  # not waiting for the targets
    finally:
        release.set()
        reader.join(WAIT)
    assert cache.get(TARGETS) == {}


def test_threads_asking_for_one_collection_at_once_share_one_list():
    """Readers that arrive while the first list is held must wait for it. (`Thread.start` returns once a reader
    runs, and it reaches the cache in microseconds, so they arrive in time; one that came after the list was stored
    would also be served without a second list, so the test never fails wrongly.)"""
    cache, threads_, answers = CollectionCache(), 8, []
    listing, release = threading.Event(), threading.Event()
    fetches = []

    def slow_list() -> dict:
        fetches.append(1)
        listing.set()
        assert release.wait(WAIT)
        return {"t1": {"targetName": f"listing {len(fetches)}"}}

    first = threading.Thread(target=lambda: answers.append(cache.load(TARGETS, slow_list)))
    first.start()
    assert listing.wait(WAIT)  # the first list is in flight: every other reader must wait for it, not list again
    others = [threading.Thread(target=lambda: answers.append(cache.load(TARGETS, slow_list))) for _ in range(threads_)]
    for thread in others:
        thread.start()
    release.set()
    for thread in [first, *others]:
        thread.join(WAIT)
    assert len(fetches) == 1 and answers == [{"t1": {"targetName": "listing 1"}}] * (threads_ + 1)
