"""The Core API client: one HTTP transport (`rr_pulumi.api.transport`) per account (the provider keeps one client per
connection profile, see `provider.connection`), shared by the engine's worker threads.

* Auth: the raw token in `Authorization` (no `Bearer`); every call has a (connect, read) timeout, because the
  engine gives dynamic provider methods none.
* Envelopes: `{"<plural>": [...], "message"}` per the contract, tolerating `{"data": [...], "pagination"}`, a bare
  list or a bare object; an item's id is its `<resource>Id` if present, else `sKey` (ids are opaque: prefixed ids
  are fine, and each is quoted whole into its path segment). Lists read every page (`page`, `limit=100`).
* Rate limit: every request first takes one from the token's `RateBudget`, shared by every process on this
  machine using the token (see `ratelimit`), sized by `requestrocket:rateLimitPerMinute` /
  `REQUESTROCKET_RATE_LIMIT` (default 100, the Basic plan; 0 disables).
* Retries (the policy is `rr_pulumi.api.retry`; this class only carries out its decisions): 429 waits for
  `Retry-After` (jittered backoff when absent) for every method, since a rejected request changed nothing; the wait
  pauses every thread of the process, and long waits are printed (the CLI shows them). GET/PUT/DELETE are retried
  on 5xx and connection failures, within `max_attempts` and `max_total_seconds`.
  POST is never blindly resent: `create` lists the collection (fresh) before it posts, and after an ambiguous
  failure (5xx, reset, read timeout) lists it again. An object matching the natural key (`matches`) that was not
  there before, is not older than the request and holds the sent values is adopted when it is the only one
  (`rr_pulumi.api.ownership`); when no new object matches, nothing was created and the POST is sent again; otherwise,
  or when the list fails, the create fails in one line naming what it may have created. So a create costs one list
  and one POST. A success whose answer holds no object is settled by the same listing (never sent again), and ids
  this process's creates made or adopted are never adopted again (`ownership.Claims`).
* Token renewal: a client may be given `renew_token`, asked once per rejected token (401) for the current one;
  when it answers with another token, the request is sent again with it (a token rotated in the stack config
  while the engine still hands the provider the one recorded in the state, see `provider.connection`).
* Read cache (for `pulumi refresh`, in `rr_pulumi.api.collection_cache`): `find()` lists a collection once and
  serves every read of it from that list for `cache_ttl` seconds. Any write through this client invalidates the
  collection it touched and everything below the object it touched (its rules), so a process never reads back stale
  data of its own making; a list that was in flight when a write landed is handed to its caller but not kept (a
  generation per collection). The first miss of a collection also lists it under every other parent of the same
  kind already read (`siblings_to_prefetch`), in the background, and the provider asks for a refreshed client's
  three collections as soon as it reads the client (`prefetch`), so a refresh waits about one round trip per
  dependency level.
* Connections: one keep-alive connection per provider worker (`rr_pulumi.api.concurrency`), over `http.client`
  (`rr_pulumi.api.transport`), which the Pulumi SDK has loaded already: the provider process never imports `requests`.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Callable, Iterable, Optional
from urllib.parse import quote

from rr_pulumi.schema import kinds
from rr_pulumi.api import ownership
from rr_pulumi.api.errors import (
    ApiError,
    ConnectionFailed,
    NotFound,
    RequestRocketError,
    ServerError,
    Unauthorized,
    UnprovenCreate,
    error_from_response,
    gave_up,
    redact,
)
from rr_pulumi.api.concurrency import provider_workers
from rr_pulumi.api.ratelimit import NOTICE_AFTER_SECONDS, RateBudget, stderr_notice
from rr_pulumi.api.collection_cache import CollectionCache
from rr_pulumi.api.retry import Decision, Outcome, RetryPolicy, Verdict, retry_after_seconds
from rr_pulumi.api.transport import NotSent, Response, Transport, TransportError

PAGE_LIMIT = 100
CHECK_CONNECT_ATTEMPTS = 2  # connection attempts of the token check before it reports the API unreachable
MAX_PAGES = 1000
PAGE_READERS = 8  # pages of one list read at once



class AmbiguousFailure(ConnectionFailed):
    """The request may have reached the API: the connection broke or timed out after it was sent."""


class AnsweredWithoutItem(RequestRocketError):
    """A POST succeeded but its answer holds no object with an id: the object exists, and only a listing finds it."""

    def __init__(self, collection: str) -> None:
        super().__init__(f"POST {collection} succeeded without returning the {word_of(collection)} it created")


def plural_of(collection: str) -> str:
    return collection.rstrip("/").rsplit("/", 1)[-1]


def word_of(collection: str) -> str:
    """The kind of a collection's objects in the user's words (`target`)."""
    kind = kinds.by_plural(plural_of(collection))
    return kind.word if kind else plural_of(collection)


def ambiguous_text(collection: str, failure: Exception, candidates: tuple[str, ...]) -> str:
    """One line: a POST failed, new objects of its natural key appeared, none provably its own; what settles it."""
    return (
        f"{_failure_text(failure)}, and {len(candidates)} new {plural_of(collection)} matching it appeared meanwhile "
        f"({', '.join(candidates)}): it cannot be proven which (if any) this request created, so none was adopted; "
        "if one of them is this resource's, declare adopt_id=\"<that id>\" on it and run `pulumi up`; "
        "if none is, run `pulumi up` again"
    )


def unlisted_text(collection: str, failure: Exception, listing: Exception) -> str:
    """One line: a POST failed and the collection could not be listed to see whether it created anything."""
    return (
        f"{_failure_text(failure)}, and listing {collection} to see whether it created anything failed too "
        f"({_first_line(listing)}): before the next `pulumi up`, look there for a new {plural_of(collection)} "
        "matching this resource; if there is one, declare adopt_id=\"<its id>\" on it"
    )


def unreturned_text(collection: str) -> str:
    """One line: a POST succeeded without returning its object, and no new object matching it is listed."""
    word = word_of(collection)
    return (
        f"{AnsweredWithoutItem(collection)}, and no new {word} matching it is listed: nothing was adopted and nothing "
        f"was sent again; before the next `pulumi up`, look in {collection} for a new {word} matching this resource; "
        "if there is one, declare adopt_id=\"<its id>\" on it"
    )


def _failure_text(failure: Exception) -> str:
    return _first_line(failure).rstrip(".")


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def item_id(item: dict[str, Any], plural: str) -> Optional[str]:
    """The id of an item: an explicit `<resource>Id`, else `sKey`, else `id`."""
    kind = kinds.by_plural(plural)
    id_field = kind.id_field if kind else plural.rstrip("s") + "Id"
    for key in (id_field, "sKey", "id"):
        value = item.get(key)
        if isinstance(value, (str, int)) and str(value):
            return str(value)
    return None


def items_of(body: Any, plural: str) -> list[dict[str, Any]]:
    """The items of a response, whatever the documented envelope."""
    if isinstance(body, list):
        return [i for i in body if isinstance(i, dict)]
    if not isinstance(body, dict):
        return []
    for key in (plural, "data", "items"):
        value = body.get(key)
        if isinstance(value, list):
            return [i for i in value if isinstance(i, dict)]
        if isinstance(value, dict):
            return [value]
    if item_id(body, plural):
        return [body]
    return []


def pages_of(body: Any) -> Optional[int]:
    """The number of pages a list response announces, if it announces one."""
    pagination = body.get("pagination") if isinstance(body, dict) else None
    if not isinstance(pagination, dict):
        return None
    pages = pagination.get("pages")
    if isinstance(pages, (int, float)):
        return int(pages)
    total, limit = pagination.get("total"), pagination.get("limit")
    if isinstance(total, (int, float)) and isinstance(limit, (int, float)) and limit > 0:
        return max(1, math.ceil(total / limit))
    return None


def listing_params(collection: str) -> dict[str, Any]:
    """Query parameters that list everything in a collection that exists."""
    # Temporary oauth2 credentials (pending authorization) are listed only on request; they exist all the same.
    return {"includeTemporary": "true"} if plural_of(collection) == kinds.CREDENTIAL.plural else {}


class RequestRocketClient:
    """A thread-safe client of the RequestRocket Core API."""

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        transport: Optional[Transport] = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        max_attempts: int = 5,
        max_total_seconds: float = 120.0,
        cache_ttl: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        budget: Optional[RateBudget] = None,
        renew_token: Optional[Callable[[], Optional[str]]] = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self._renew_token = renew_token
        self._renew_lock = threading.Lock()
        self._rejected: set[str] = set()  # tokens the API refused (never retried once renewed)
        self._transport = transport or Transport(pool_size=provider_workers())
        self.timeout = timeout
        self.retry = RetryPolicy(max_attempts, max_total_seconds, clock=clock)
        self.cache = CollectionCache(cache_ttl, clock=clock)
        self.claims = ownership.claims_for(self.api_url)  # what this process's creates made, shared by its clients
        self._sleep = sleep
        self.budget = budget
        self._read_lock = threading.Lock()  # guards the read-ahead bookkeeping below
        self._found: set[str] = set()  # paths of objects read through `find` (refresh reads parents first)
        self._prefetched: set[str] = set()
        self._prefetcher: Any = None  # a thread pool, made on the first prefetch
        self.calls: list[tuple[str, str]] = []  # (method, path) of every request sent, for tests and stats

    def __repr__(self) -> str:
        return f"RequestRocketClient({self.api_url!r})"

    # -- transport ---------------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[dict[str, Any]] = None,
        body: Any = None,
        secrets: Iterable[str] = (),
        connect_attempts: Optional[int] = None,
    ) -> Any:
        """Send one logical request, with the retries `self.retry` allows its method (after a connection that could
        not be made, at most `connect_attempts` sends in all), and return the parsed JSON body."""
        secrets = list(secrets)
        tries = self.retry.start(method, connect_attempts=connect_attempts, budgeted=self.budget is not None)
        error: RequestRocketError
        while True:
            if self.budget is not None:
                tries.paced(self.budget.acquire())
            token = self._token
            if token not in secrets:
                secrets.append(token)  # never echoed in an error text
            try:
                response = self._send(method, path, params, body, token)
            except TransportError as exc:
                outcome, error = Outcome.unanswered(exc), self._unanswered(method, path, exc, secrets)
            else:
                if response.status_code < 400:
                    return self._json(response)
                outcome, error = self._refused(method, path, response, secrets)
                if isinstance(error, Unauthorized) and tries.may_renew_token() and self._renewed(token):
                    continue  # a rejected request changed nothing: send it once more with the current token
            decision = tries.after(outcome)
            if decision.verdict is Verdict.FAIL:
                raise error  # a 4xx, or a POST that may have been applied: its caller decides (see create)
            if decision.verdict is Verdict.GIVE_UP:
                raise gave_up(error, decision.attempts, decision.seconds)
            self._wait(decision, f" on {method} {path}")

    @staticmethod
    def _unanswered(method: str, path: str, failure: TransportError, secrets: list[str]) -> ConnectionFailed:
        """The error of a request that got no answer; `AmbiguousFailure` when it may have reached the API."""
        kind = ConnectionFailed if isinstance(failure, NotSent) else AmbiguousFailure
        return kind(method, path, redact(str(failure), secrets))

    def _refused(self, method: str, path: str, response: Response, secrets: list[str]) -> tuple[Outcome, ApiError]:
        """The outcome and the error of an answer with an error status."""
        outcome = Outcome.answered(response.status_code, retry_after_seconds(response.headers.get("Retry-After")))
        body = self._json(response, lenient=True)
        error = error_from_response(
            method, path, response.status_code, body, retry_after=outcome.retry_after, secrets=secrets
        )
        return outcome, error

    def _wait(self, decision: Decision, reason: str) -> None:
        """Wait before the next attempt; a 429's wait through the shared budget, if any (every thread pauses)."""
        if decision.rate_limited and self.budget is not None:
            self.budget.pause(decision.wait, reason)  # the next acquire() waits
            return
        if decision.rate_limited and decision.wait >= NOTICE_AFTER_SECONDS:
            seconds = decision.wait
            stderr_notice(f"requestrocket: rate limited by the API{reason}; waiting {seconds:.0f} s (Retry-After)")
        self._sleep(decision.wait)

    def _renewed(self, rejected: str) -> bool:
        """After a 401 with `rejected`: whether another (current) token is now in use."""
        if self._renew_token is None:
            return False
        with self._renew_lock:
            if self._token != rejected:
                return True  # another thread renewed it already
            if rejected in self._rejected:
                return False
            self._rejected.add(rejected)
            fresh = self._renew_token()
            if not fresh or fresh == rejected:
                return False
            self._token = fresh
            return True

    def _send(
        self, method: str, path: str, params: Optional[dict[str, Any]], body: Any, token: str
    ) -> Response:
        self.calls.append((method, path))
        return self._transport.request(
            method,
            self.api_url + path,
            params=params,
            json=body,
            headers={"Accept": "application/json", "User-Agent": "rr-pulumi", "Authorization": token},
            timeout=self.timeout,
        )

    @staticmethod
    def _json(response: Response, lenient: bool = False) -> Any:
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            if lenient:
                return response.text
            return {}

    # -- collections -------------------------------------------------------------------------------------------

    def list(self, collection: str, params: Optional[dict[str, Any]] = None) -> list[dict[str, Any]]:
        """Every item of a collection, reading all pages: the first, then the others it announces at once."""
        plural = plural_of(collection)

        def page(number: int) -> Any:
            return self.request("GET", collection, params={**(params or {}), "page": number, "limit": PAGE_LIMIT})

        first = page(1)
        bodies = [first]
        pages = min(pages_of(first) or 1, MAX_PAGES) if items_of(first, plural) else 1
        if pages > 1:  # each page is still one request through the budget; only the waiting overlaps
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(pages - 1, PAGE_READERS), thread_name_prefix="rr-pages") as readers:
                bodies += readers.map(page, range(2, pages + 1))
        found: dict[str, dict[str, Any]] = {}
        for body in bodies:
            for item in items_of(body, plural):
                found.setdefault(item_id(item, plural) or str(len(found)), item)
        return list(found.values())

    def get(self, collection: str, id_: str) -> dict[str, Any]:
        path = f"{collection}/{segment(id_)}"
        return self._one(self.request("GET", path), "GET", path)

    def create(
        self,
        collection: str,
        body: dict[str, Any],
        matches: Callable[[dict[str, Any]], bool],
        *,
        secrets: Iterable[str] = (),
    ) -> dict[str, Any]:
        """POST a new object. After an ambiguous failure, or a success that does not return the object, adopt the
        object only when it provably came from this request (`rr_pulumi.api.ownership`); send again only when the
        collection proves nothing was created."""
        secrets = list(secrets)
        plural = plural_of(collection)
        proof = ownership.Proof(frozenset(self._ids_in(collection)), ownership.now())
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._posted(collection, body, secrets)
            except (ServerError, AmbiguousFailure, AnsweredWithoutItem) as exc:
                failure = exc
            self._sleep(self.retry.backoff(attempt))  # a server still finishing the request lists its object then
            try:
                listed = self.list(collection, listing_params(collection))
            except (ApiError, ConnectionFailed) as listing:
                raise UnprovenCreate(unlisted_text(collection, failure, listing)) from None
            made = self.claims.verdict(
                collection, self.claims.unanswered(collection), listed, matches, lambda i: item_id(i, plural), proof,
                plural, body,
            )  # fmt: skip
            if made.ours is not None:
                return made.ours
            if made.candidates:
                ids = tuple(sorted(str(item_id(i, plural)) for i in made.candidates))
                raise UnprovenCreate(ambiguous_text(collection, failure, ids), ids) from None
            if isinstance(failure, AnsweredWithoutItem):  # the API says it created one: sending again may duplicate it
                raise UnprovenCreate(unreturned_text(collection)) from None
            if attempt >= self.retry.max_attempts:
                raise failure
            # Nothing new matches: this POST created nothing, and the list just read is the next one's "before".
            proof = ownership.Proof(frozenset(filter(None, (item_id(i, plural) for i in listed))), proof.since)

    def _posted(self, collection: str, body: dict[str, Any], secrets: Iterable[str]) -> dict[str, Any]:
        """One POST, its object claimed for this process (`ownership.Claims`) the moment it is answered; raises
        AnsweredWithoutItem when a success holds no object with an id."""
        plural = plural_of(collection)
        sending, made = self.claims.sending(collection), None
        try:
            answer = self.request("POST", collection, body=body, secrets=secrets)
            item = next((i for i in items_of(answer, plural) if item_id(i, plural)), None)
            if item is None:
                raise AnsweredWithoutItem(collection)
            made = item_id(item, plural)
            return item
        finally:
            self.claims.answered(collection, sending, made)
            self.invalidate(collection)

    def _ids_in(self, collection: str) -> set[str]:
        """The ids a collection holds now, listed fresh (never from the read cache): what a POST cannot create."""
        plural = plural_of(collection)
        try:
            listed = self.list(collection, listing_params(collection))
        except NotFound:
            return set()  # the parent is gone: the POST answers for itself (a 404)
        return {i for i in (item_id(item, plural) for item in listed) if i}

    def update(
        self, collection: str, id_: str, body: dict[str, Any], *, secrets: Iterable[str] = ()
    ) -> dict[str, Any]:
        try:
            path = f"{collection}/{segment(id_)}"
            return self._one(self.request("PUT", path, body=body, secrets=secrets), "PUT", path)
        finally:
            self.invalidate(collection)

    def delete(self, collection: str, id_: str, body: Optional[dict[str, Any]] = None) -> bool:
        """Delete an object; False when it was already gone (a 404, also after a retried attempt)."""
        try:
            self.request("DELETE", f"{collection}/{segment(id_)}", body=body)
            return True
        except NotFound:
            return False
        finally:
            self.invalidate(collection, below=f"{collection}/{segment(id_)}/")

    @staticmethod
    def _one(body: Any, method: str, path: str) -> dict[str, Any]:
        """The one item of a get/update response (its envelope is named after the collection)."""
        plural = plural_of(path.rsplit("/", 1)[0])
        items = items_of(body, plural)
        if not items:
            raise ApiError(method, path, 200, "UNEXPECTED_RESPONSE", "the response held no item")
        return items[0]

    # -- read cache ------------------------------------------------------------------------------------------------

    def find(self, collection: str, id_: str) -> Optional[dict[str, Any]]:
        """An object by id, from one cached list of its collection (`self.cache`); None when it (or its parent) is gone.

        The first miss of a collection also starts listing its siblings (see `siblings_to_prefetch`), so a refresh
        waits about one round trip per dependency level instead of one per list and engine slot."""
        missed = self.cache.get(collection) is None
        with self._read_lock:
            self._found.add(f"{collection}/{segment(id_)}")
            siblings = siblings_to_prefetch(collection, self._found) if missed else []
            self._prefetched.add(collection)  # listed by this call (below), not in the background
        self.prefetch(siblings)
        return self._cached(collection).get(id_)

    def prefetch(self, collections: Iterable[str]) -> None:
        """List these collections in the background (each once per process), for reads that will need them."""
        with self._read_lock:
            wanted = [c for c in dict.fromkeys(collections) if c not in self._prefetched and self.cache.get(c) is None]
            self._prefetched.update(wanted)
            if wanted and self._prefetcher is None:
                from concurrent.futures import ThreadPoolExecutor

                # as many lists at once as the provider has workers (and connections): a level in one round trip
                self._prefetcher = ThreadPoolExecutor(provider_workers(), thread_name_prefix="rr-prefetch")
        for path in wanted:
            self._prefetcher.submit(self._quietly_cached, path)

    def _quietly_cached(self, collection: str) -> None:
        try:
            self._cached(collection)
        except Exception:  # noqa: BLE001 - a read that needs it lists it again and reports the error itself
            pass

    def _cached(self, collection: str) -> dict[str, dict[str, Any]]:
        """The collection's items by id: cached, else listed (and cached unless a write landed meanwhile)."""
        return self.cache.load(collection, lambda: self._listed_by_id(collection))

    def _listed_by_id(self, collection: str) -> dict[str, dict[str, Any]]:
        try:
            listed = self.list(collection, listing_params(collection))
        except NotFound:
            listed = []  # the parent is gone, and its children with it
        plural = plural_of(collection)
        return {str(item_id(i, plural)): i for i in listed if item_id(i, plural)}

    def invalidate(self, collection: str, below: Optional[str] = None) -> None:
        """Forget the collection (and every collection below `below`), also a list of it still in flight."""
        self.cache.invalidate(collection, below)

    # -- token check -------------------------------------------------------------------------------------------

    def verify_token(self, connect_attempts: int = CHECK_CONNECT_ATTEMPTS) -> None:
        """Fail early on a rejected token or an unreachable API: the first page of the clients, with at most
        `connect_attempts` tries to connect (an unreachable API is reported in seconds; a failing one, 5xx, gets the
        usual retries). A one-page answer primes the clients cache, so a refresh does not list them again."""
        generation = self.cache.generation(CLIENTS)
        first = self.request("GET", CLIENTS, params={"page": 1, "limit": PAGE_LIMIT}, connect_attempts=connect_attempts)
        if (pages_of(first) or 1) <= 1 and self.cache.get(CLIENTS) is None:
            plural = plural_of(CLIENTS)
            by_id = {str(item_id(i, plural)): i for i in items_of(first, plural) if item_id(i, plural)}
            self.cache.store(CLIENTS, by_id, generation)  # refused if a client was written meanwhile


CLIENTS = f"/api/{kinds.CLIENT.plural}"


def segment(id_: str) -> str:
    """An id as one path segment: quoted whole, so an id from the API or the program never adds a segment."""
    return quote(str(id_), safe="")


def collection(client_id: str, plural: str) -> str:
    """`/api/clients/{clientId}/{plural}`."""
    return f"{CLIENTS}/{segment(client_id)}/{plural}"


def rules_collection(client_id: str, parent_plural: str, parent_id: str) -> str:
    """`/api/clients/{clientId}/{parent_plural}/{parentId}/rules`."""
    return f"{collection(client_id, parent_plural)}/{segment(parent_id)}/{kinds.RULE.plural}"


def _shape(path: str) -> tuple[str, ...]:
    """A path with its ids blanked: `/api/clients/{id}/proxies/{id}/rules` (ids follow a plural segment)."""
    parts = path.strip("/").split("/")
    return tuple("*" if i >= 2 and i % 2 == 0 else part for i, part in enumerate(parts))


def siblings_to_prefetch(collection: str, found: Iterable[str]) -> list[str]:
    """The same collection under every other parent of the same kind already read (`found`: object paths).

    A refresh reads parents before children (the engine refreshes in state order, which is dependency order), so
    when the targets of one client are first needed, every client of the stack has been read: listing the targets
    of all of them at once costs one round trip instead of one per client. Never a collection whose parent was
    not read, so it stays within the stack's own objects."""
    parent, _, plural = collection.rstrip("/").rpartition("/")
    shape = _shape(parent)  # `/api` for the clients: no object has that shape, so no siblings
    return sorted(f"{other}/{plural}" for other in found if other != parent and _shape(other) == shape)

