"""One request budget per provider process, shared by the engine's worker threads.

The Core API limits each token to a number of requests per minute (Basic plan 100, Team plan 1000) in a fixed
one-minute window. The budget keeps the send times of the last `limit` requests and lets a request go only when the
oldest of them is more than a minute (plus a margin for network jitter) old: no 60 seconds can hold more than the
limit, on a fixed or a sliding window, and no time is lost below it, so a large `up` runs at the limit instead of
meeting a storm of 429s. A 429 that arrives anyway
(another process using the same token, a smaller real limit) pauses every thread until its `Retry-After`.

Waits are printed to stderr (pacing once per 30 s while it holds requests back, and every 429 wait of 5 s or more):
the engine shows a provider's stderr lines in the CLI output (under the stack's diagnostics), so a user sees why
an `up` is slow.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from typing import Callable, Optional, TextIO

DEFAULT_PER_MINUTE = 100  # the Basic plan: safe for every plan; Team-plan users can set 1000
NOTICE_AFTER_SECONDS = 5.0  # a 429 wait at least this long is printed
PACING_NOTICE_SECONDS = 1.0  # pacing that makes a request wait this long is printed...
NOTICE_EVERY_SECONDS = 30.0  # ...at most once per this many seconds


WINDOW_SECONDS = 60.0
MARGIN_SECONDS = 1.0  # a request sent just past the window must not reach the server inside it


class RateBudget:
    """A thread-safe sliding-window log of send times; `acquire()` blocks until one request may be sent."""

    def __init__(
        self,
        per_minute: int = DEFAULT_PER_MINUTE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        notify: Optional[Callable[[str], None]] = None,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1 (use no budget to disable pacing)")
        self.per_minute = per_minute
        self._clock, self._sleep = clock, sleep
        self._notify = notify or stderr_notice
        self._lock = threading.Lock()
        self._sent: deque[float] = deque(maxlen=per_minute)  # send times (reserved) of the last `per_minute`
        self._not_before = 0.0  # set by pause(): nobody sends before this instant
        self._last_notice = -NOTICE_EVERY_SECONDS

    def acquire(self) -> float:
        """Take one request from the budget, waiting as long as needed; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            earliest = max(now, self._not_before)
            slot = earliest
            if len(self._sent) == self.per_minute:
                slot = max(slot, self._sent[0] + WINDOW_SECONDS + MARGIN_SECONDS)
            self._sent.append(slot)  # a reservation: later callers queue behind it
            pacing = slot - earliest
            wait = slot - now
            if pacing >= PACING_NOTICE_SECONDS and now - self._last_notice >= NOTICE_EVERY_SECONDS:
                self._last_notice = now
                self._notify(
                    f"requestrocket: pacing API requests to {self.per_minute}/min (requestrocket:rateLimitPerMinute); "
                    f"waiting {pacing:.0f} s"
                )
        waited = 0.0
        while wait > 0:
            self._sleep(wait)
            waited += wait
            with self._lock:  # a 429 may have paused everyone while this thread slept
                wait = max(slot, self._not_before) - self._clock()
        return waited

    def pause(self, seconds: float, reason: str = "") -> None:
        """After a 429: no thread sends before `seconds` from now."""
        with self._lock:
            now = self._clock()
            until = now + max(0.0, seconds)
            if until > self._not_before:
                self._not_before = until
                if seconds >= NOTICE_AFTER_SECONDS:
                    self._notify(f"requestrocket: rate limited by the API{reason}; waiting {seconds:.0f} s (Retry-After)")


def stderr_notice(message: str, stream: Optional[TextIO] = None) -> None:
    """One line on stderr; the engine shows it in the CLI output."""
    try:
        print(message, file=stream or sys.stderr, flush=True)
    except (OSError, ValueError):
        pass  # a closed stderr must never fail a request


def parse_per_minute(value: object) -> Optional[int]:
    """The configured limit: a positive integer, 0 (no pacing: None), or a ValueError naming the problem."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_PER_MINUTE
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError(f"must be a whole number of requests per minute, got {value!r}") from None
    if number != int(number) or number < 0:
        raise ValueError(f"must be a whole number of requests per minute (0 disables pacing), got {value!r}")
    return int(number) or None
