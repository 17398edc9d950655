"""When a failed request is sent again, and after how long: the client's retry policy, apart from any HTTP.

`RetryPolicy` holds the bounds (attempts, seconds of failing, 429s); `policy.start(method)` gives the `Attempts` of
one logical request, which own its counters and answer, for each failed attempt's `Outcome`, with a `Decision`:
retry after a wait, fail as it is (not retryable), or give up (retryable, but the bounds are spent).

* 429 changed nothing, so it is waited out for every method, POST too: `Retry-After` when the API sent one, else a
  jittered backoff; at most `max_rate_limited` times. With a shared rate budget the wait pauses every thread
  (`Decision.rate_limited`), and a wait the API asked for is pacing, not failing (other runners share the token):
  it does not count against `max_total_seconds`.
* 5xx and a request that may have reached the server (`MaybeSent`) are retried only for GET/PUT/DELETE: a POST may
  have created its object, and only `RequestRocketClient.create` can tell (`rr_pulumi.api.ownership`).
* A request that never left (`NotSent`) is retried for every method, at most `connect_attempts` times (the token
  check reports an unreachable API in seconds).
* Every other status fails at once; a rejected token may be swapped for the current one once (`may_renew_token`).
* Seconds of failing are measured on the injected clock, minus the time spent waiting in the rate budget.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Optional

from rr_pulumi.api.transport import NotSent, TransportError

RETRY_AFTER_MAX = 60.0  # a longer Retry-After is waited for this long, then the request is sent again
MAX_RATE_LIMITED = 30  # 429s answered with a wait before giving up (they change nothing, so waiting is safe)
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 8.0  # seconds before the jitter, which takes off up to half


def retry_after_seconds(header: Optional[str]) -> Optional[float]:
    """A `Retry-After` header in seconds, clamped to 0..RETRY_AFTER_MAX; None (a backoff) when absent or not a finite
    number: `nan` survives the clamp, and a wait of nan seconds either raises in `time.sleep` or is no wait at all."""
    try:
        seconds = float(header) if header is not None else math.nan
    except ValueError:
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX) if math.isfinite(seconds) else None


@dataclass(frozen=True)
class Outcome:
    """How one attempt failed: an HTTP error status (with its Retry-After), or no answer at all (`status` None)."""

    status: Optional[int] = None
    retry_after: Optional[float] = None
    maybe_sent: bool = False  # no answer, and the request may have reached the server

    @classmethod
    def answered(cls, status: int, retry_after: Optional[float] = None) -> "Outcome":
        return cls(status, retry_after)

    @classmethod
    def unanswered(cls, failure: TransportError) -> "Outcome":
        return cls(maybe_sent=not isinstance(failure, NotSent))


class Verdict(Enum):
    RETRY = "retry"  # wait `Decision.wait`, then send the request again
    FAIL = "fail"  # not retryable: the error stands as it is
    GIVE_UP = "give up"  # retryable, but a bound is spent: the error, saying how hard we tried


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    wait: float = 0.0
    rate_limited: bool = False  # a 429's wait: through the rate budget (every thread pauses), not this thread alone
    attempts: int = 1  # requests sent so far, this one included (a resend with a renewed token is not counted)
    seconds: float = 0.0  # seconds spent failing so far (`Attempts.failing_seconds`)


class RetryPolicy:
    """The bounds of every request of a client; immutable, so the client's threads share it."""

    def __init__(
        self,
        max_attempts: int = 5,
        max_total_seconds: float = 120.0,
        *,
        max_rate_limited: int = MAX_RATE_LIMITED,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.max_attempts = max_attempts
        self.max_total_seconds = max_total_seconds
        self.max_rate_limited = max_rate_limited
        self.clock = clock
        self._jitter = jitter

    def backoff(self, attempt: int) -> float:
        """The wait before retry number `attempt` (from 1): 0.5 s doubling up to 8 s, less up to half at random."""
        return min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (attempt - 1)) * self._jitter(0.5, 1.0)

    def start(self, method: str, *, connect_attempts: Optional[int] = None, budgeted: bool = False) -> "Attempts":
        """The counters of one logical request. `budgeted`: its sends wait in a rate budget (see `Attempts.paced`),
        and a 429's wait is spent there; `connect_attempts`: sends in all when the API cannot be reached."""
        return Attempts(self, idempotent=method != "POST", connect_attempts=connect_attempts, budgeted=budgeted)


class Attempts:
    """The counters of one logical request (used by one thread): what was tried, and for how long."""

    def __init__(self, policy: RetryPolicy, *, idempotent: bool, connect_attempts: Optional[int], budgeted: bool):
        self._policy = policy
        self.idempotent = idempotent
        self._connect_attempts = connect_attempts or policy.max_attempts
        self._budgeted = budgeted
        self._started = policy.clock()
        self._paced = 0.0  # seconds spent waiting in the rate budget: pacing is not failing...
        self._limited_wait = 0.0  # ...except 429 backoffs spent there (no Retry-After: we chose to wait)
        self.retries = 0  # sends again after a 5xx or a connection failure
        self.rate_limited = 0  # 429s answered
        self._renewed = False

    def paced(self, seconds: float) -> None:
        """Record the seconds a send waited in the rate budget (they do not count as failing)."""
        self._paced += seconds

    def may_renew_token(self) -> bool:
        """After a 401: whether the request may be sent once more with a renewed token (once per request)."""
        first, self._renewed = not self._renewed, True
        return first

    def failing_seconds(self) -> float:
        """Seconds this request has spent failing and retrying (budget pacing excluded, 429 backoffs included)."""
        return self._policy.clock() - self._started - self._paced + self._limited_wait

    def after(self, outcome: Outcome) -> Decision:
        """What to do after an attempt that failed with `outcome`."""
        policy = self._policy
        if outcome.status == 429:
            self.rate_limited += 1
            asked = outcome.retry_after
            wait = asked if asked is not None else policy.backoff(min(self.rate_limited, 5))
            failing = self.failing_seconds()
            if self.rate_limited > policy.max_rate_limited or failing + wait > policy.max_total_seconds:
                return self._decide(Verdict.GIVE_UP, failing=failing)
            if self._budgeted and asked is None:
                self._limited_wait += wait  # the budget's pause will count it as pacing; it is failing
            return self._decide(Verdict.RETRY, wait, failing, limited=True)
        if not self._retryable(outcome):
            return self._decide(Verdict.FAIL, failing=self.failing_seconds())
        self.retries += 1
        wait = policy.backoff(self.retries)
        failing = self.failing_seconds()
        limit = self._connect_attempts if outcome.status is None and not outcome.maybe_sent else policy.max_attempts
        if self.retries >= limit or failing + wait > policy.max_total_seconds:
            return self._decide(Verdict.GIVE_UP, failing=failing)
        return self._decide(Verdict.RETRY, wait, failing)

    def _retryable(self, outcome: Outcome) -> bool:
        if outcome.status is None:  # no answer: a request that never left changed nothing
            return self.idempotent or not outcome.maybe_sent
        return outcome.status >= 500 and self.idempotent

    def _decide(self, verdict: Verdict, wait: float = 0.0, failing: float = 0.0, limited: bool = False) -> Decision:
        sent = self.retries + self.rate_limited  # each failure counted above was one request sent...
        if verdict is Verdict.FAIL:
            sent += 1  # ...and this one was not counted
        return Decision(verdict, wait, limited, sent, failing)
