"""One request budget per token on this machine, shared by every provider process and worker thread using it.

The Core API limits each token to a number of requests per minute (Basic plan 100, Team plan 1000) in a fixed
one-minute window. The budget keeps the send times of the last `limit` requests and lets a request go only when the
oldest of them is more than a minute (plus a margin for network jitter) old: no 60 seconds can hold more than the
limit, on a fixed or a sliding window, and no time is lost below it, so a large `up` runs at the limit instead of
meeting a storm of 429s.

Stacks run side by side (CI jobs, `pulumi up` of several projects) share the token's limit, so the send log lives
in a file of the user cache folder (`~/.cache/rr-pulumi/ratelimit/<hash>.json`, or $RR_PULUMI_RATELIMIT_DIR), named
by a SHA-256 of the API URL and token (never the token itself) and locked (`flock`) for each reservation: four
processes on a 100/min token get 100/min between them, not 100 each. Where the folder cannot be used the budget
falls back to this process alone. A 429 that arrives anyway (runners on other machines, a smaller real limit)
pauses every thread of every process on this machine until its `Retry-After`; such waits are the API telling us
when to come back, so the client does not count them as failing (see `rr_pulumi.api.retry`).

Send times are read from a clock that never steps back and that every process of the machine shares
(`shared_clock`: CLOCK_BOOTTIME on Linux), never from wall-clock time: a clock stepped back an hour would otherwise
make every send of the last minute look an hour in the future and stall every stack on the token for that hour. Its
readings mean something only within one boot, so the file records which boot wrote it (`clock_id`) and a log from
another boot is dropped. (Processes in different Linux time namespaces would disagree; containers do not use them
by default.)

Waits are printed to stderr (pacing once per 30 s while it holds requests back, and every 429 wait of 5 s or more):
the engine shows a provider's stderr lines in the CLI output (under the stack's diagnostics), so a user sees why
an `up` is slow.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, TextIO

from rr_pulumi.api.cache import cache_folder

DEFAULT_PER_MINUTE = 100  # the Basic plan: safe for every plan; Team-plan users can set 1000
NOTICE_AFTER_SECONDS = 5.0  # a 429 wait at least this long is printed
PACING_NOTICE_SECONDS = 1.0  # pacing that makes a request wait this long is printed...
NOTICE_EVERY_SECONDS = 30.0  # ...at most once per this many seconds


WINDOW_SECONDS = 60.0
MARGIN_SECONDS = 1.0  # a request sent just past the window must not reach the server inside it
RATELIMIT_DIR_ENV = "RR_PULUMI_RATELIMIT_DIR"
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_BOOTTIME = getattr(time, "CLOCK_BOOTTIME", None)


def shared_clock() -> float:
    """Seconds on a clock that never steps back, the same for every process of this machine: CLOCK_BOOTTIME on Linux
    (it counts suspended time, as the API's minute does), else the platform's monotonic clock (also system-wide)."""
    return time.clock_gettime(_BOOTTIME) if _BOOTTIME is not None else time.monotonic()


def clock_id() -> str:
    """Which boot `shared_clock` counts from: its readings compare only within one boot."""
    try:
        return BOOT_ID.read_text().strip()
    except OSError:  # not Linux: the boot's wall-clock time, to ten seconds (a step merely starts a fresh log)
        return f"booted-{round(time.time() - time.monotonic(), -1):.0f}"


@dataclass
class Window:
    """The send log: reserved send times (ascending) and the instant before which nobody sends (after a 429)."""

    sent: list[float] = field(default_factory=list)
    not_before: float = 0.0


def reserve(window: Window, per_minute: int, now: float) -> float:
    """Reserve the earliest send time allowed by `per_minute` and the window's pause; record it; return it."""
    horizon = now - WINDOW_SECONDS - MARGIN_SECONDS
    del window.sent[: bisect.bisect_right(window.sent, horizon)]  # sends this old constrain nothing any more
    slot = max(now, window.not_before)
    if len(window.sent) >= per_minute:
        slot = max(slot, window.sent[-per_minute] + WINDOW_SECONDS + MARGIN_SECONDS)
    bisect.insort(window.sent, slot)  # a reservation: later callers queue behind it
    return slot


class ProcessWindow:
    """The send log of this process alone."""

    def __init__(self) -> None:
        self._window = Window()

    @contextmanager
    def locked(self) -> Iterator[Window]:
        yield self._window  # the budget's own lock already serialises this process's threads


class FileWindow:
    """The send log in a file, shared by every process of this user on this machine (an `flock` per use)."""

    def __init__(self, path: Path, clock: Optional[str] = None) -> None:
        import fcntl  # POSIX only: elsewhere `shared_budget` falls back to `ProcessWindow`

        self._fcntl = fcntl
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.clock = clock or clock_id()
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    @contextmanager
    def locked(self) -> Iterator[Window]:
        self._fcntl.flock(self._fd, self._fcntl.LOCK_EX)
        try:
            window = self._read()
            before = (list(window.sent), window.not_before)
            yield window
            if (window.sent, window.not_before) != before:
                data = json.dumps({"clock": self.clock, "sent": window.sent, "not_before": window.not_before}).encode()
                os.ftruncate(self._fd, 0)
                os.pwrite(self._fd, data, 0)
        finally:
            self._fcntl.flock(self._fd, self._fcntl.LOCK_UN)

    def _read(self) -> Window:
        size = os.fstat(self._fd).st_size
        try:
            data = json.loads(os.pread(self._fd, size, 0) or b"{}")
            if data.get("clock") != self.clock:
                return Window()  # written in another boot (or by an older rr-pulumi, in wall-clock time)
            return Window(sorted(float(t) for t in data.get("sent", [])), float(data.get("not_before", 0.0)))
        except (ValueError, TypeError, AttributeError):
            return Window()  # a file cut short by a killed process: start a fresh log


def budget_file(api_url: str, token: str, folder: Optional[Path] = None) -> Path:
    """Where the send log of this API URL and token lives: named by a hash, so the token is never written."""
    digest = hashlib.sha256(f"{api_url.rstrip('/')}\n{token}".encode()).hexdigest()[:32]
    return (folder or cache_folder("ratelimit", RATELIMIT_DIR_ENV)) / f"{digest}.json"


class RateBudget:
    """A thread-safe sliding-window log of send times; `acquire()` blocks until one request may be sent.

    With a `FileWindow` the log (and a 429's pause) is shared with every process using the same file."""

    def __init__(
        self,
        per_minute: int = DEFAULT_PER_MINUTE,
        *,
        clock: Callable[[], float] = shared_clock,
        sleep: Callable[[float], None] = time.sleep,
        notify: Optional[Callable[[str], None]] = None,
        window: "ProcessWindow | FileWindow | None" = None,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1 (use no budget to disable pacing)")
        self.per_minute = per_minute
        self._clock, self._sleep = clock, sleep
        self._notify = notify or stderr_notice
        self._lock = threading.Lock()
        self._window = window or ProcessWindow()
        self._last_notice = -NOTICE_EVERY_SECONDS

    @property
    def shared(self) -> bool:
        return isinstance(self._window, FileWindow)

    def acquire(self) -> float:
        """Take one request from the budget, waiting as long as needed; returns the seconds waited."""
        with self._lock, self._window.locked() as window:
            now = self._clock()
            earliest = max(now, window.not_before)
            slot = reserve(window, self.per_minute, now)
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
            with self._lock, self._window.locked() as window:  # a 429 may have paused everyone meanwhile
                wait = max(slot, window.not_before) - self._clock()
        return waited

    def pause(self, seconds: float, reason: str = "") -> None:
        """After a 429: no thread (of any process sharing the window) sends before `seconds` from now."""
        with self._lock, self._window.locked() as window:
            now = self._clock()
            until = now + max(0.0, seconds)
            if until > window.not_before:
                window.not_before = until
                if seconds >= NOTICE_AFTER_SECONDS:
                    self._notify(
                        f"requestrocket: rate limited by the API{reason}; waiting {seconds:.0f} s (Retry-After)")


def shared_budget(api_url: str, token: str, per_minute: int) -> RateBudget:
    """The budget of this token on this machine (see the module text); this process's own if none can be shared."""
    try:
        window: "ProcessWindow | FileWindow" = FileWindow(budget_file(api_url, token))
    except (OSError, ImportError):
        window = ProcessWindow()
    return RateBudget(per_minute, window=window)


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
