"""Compiling rule patterns without stalling the server: size limits, a time budget, and a separate process.

Some short patterns take Python's `re` a long time to compile (a wide character class under `i` takes about a
second per 1000 characters), and compiling holds the interpreter. So the emulator never compiles a client's pattern
in its own process: a worker process (`python -m rr_pulumi.emulator.patterns`) compiles them, one JSON line per
pattern, and the request waits for it in a thread. A rule whose patterns together take longer than the budget is
refused (400) and the worker is killed; the next rule gets a fresh worker.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import warnings
from typing import Any, Iterable, Optional

COMPILE_BUDGET_SECONDS = 2.0
STARTUP_SECONDS = 30.0   # a new worker's interpreter start does not count against a rule's budget
READY = "ready"
# Every pattern of one rule together: 4 check lists x 50 checks x 2 patterns could be 400 KB otherwise.
RULE_PATTERNS_MAX_CHARS = 16 * 1024

Pattern = tuple[str, int]  # (pattern, re flags)

try:  # the parser `re` itself uses (its module name changed in Python 3.11)
    from re import _parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _parser


# Nested counted repeats multiply (`(a{2000}){2000}` asks for 4,000,000 `a`s): their product along any nesting chain
# is bounded, and so is how deep groups and repeats nest.
REPEAT_PRODUCT_MAX = 100_000
NESTING_MAX = 20
MEMORY_LIMIT = 512 * 1024 * 1024   # a compile worker's address space (bytes)


def compile_error(pattern: str, flags: int) -> Optional[str]:
    """Why the pattern is refused (Python's re cannot compile it, or it is too big a machine), or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # re's FutureWarning on `[[`: the pattern means what re reads today
            parsed = _parser.parse(pattern, flags)
            re.compile(pattern, flags)
    except MemoryError:
        return "takes too much memory to compile; use a simpler pattern"
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        return f"must be a valid regular expression ({exc or type(exc).__name__})"
    product, depth = _size(parsed.data if hasattr(parsed, "data") else parsed)
    if product > REPEAT_PRODUCT_MAX:
        return (f"nested repeat counts multiply to {product}; at most {REPEAT_PRODUCT_MAX} are allowed "
                "(e.g. not (a{2000}){2000})")
    if depth > NESTING_MAX:
        return f"nests groups and repeats {depth} deep; at most {NESTING_MAX} levels are allowed"
    return None


def _size(items: Any) -> tuple[int, int]:
    """(largest product of counted repeats along one nesting chain, deepest nesting) of a parsed pattern."""
    product, depth = 1, 0
    for op, arg in items:
        name = str(op)
        inner: list = []
        count, level = 1, 0
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg
            count = high if high != _parser.MAXREPEAT else max(low, 1)
            inner, level = [sub], 1
        elif name == "SUBPATTERN":
            inner, level = [arg[-1]], 1
        elif name in ("ASSERT", "ASSERT_NOT"):
            inner, level = [arg[1]], 1
        elif name == "ATOMIC_GROUP":
            inner, level = [arg], 1
        elif name == "BRANCH":
            inner = list(arg[1])
        elif name == "GROUPREF_EXISTS":
            inner = [a for a in arg[1:] if a is not None]
        sub_product, sub_depth = 1, 0
        for sub in inner:
            p, d = _size(sub.data if hasattr(sub, "data") else sub)
            sub_product, sub_depth = max(sub_product, p), max(sub_depth, d)
        product = max(product, count * sub_product)
        depth = max(depth, level + sub_depth)
    return product, depth


class Worker:
    """One compile process, spoken to over pipes; used by one request at a time."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rr_pulumi.emulator.patterns"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, bufsize=1,
        )
        # both pipes exist: PIPE was asked for above
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._stdin, self._stdout = self.proc.stdin, self.proc.stdout
        self.lines: list[str] = []
        self._ready = threading.Condition()
        self.started = False
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self._stdout:
            with self._ready:
                self.lines.append(line)
                self._ready.notify_all()
        with self._ready:
            self.lines.append("")  # end of output: the worker is gone
            self._ready.notify_all()

    def _next_line(self, deadline: float) -> Optional[str]:
        """The worker's next line; None when the deadline passed or the worker is gone. Call with _ready held."""
        while not self.lines:
            left = deadline - time.monotonic()
            if left <= 0 or not self._ready.wait(left):
                return None
        return self.lines.pop(0) or None

    def compile(self, patterns: list[Pattern], budget: float) -> Optional[list[Optional[str]]]:
        """The refusal (or None) of each pattern, or None when the budget ran out (the worker is then killed)."""
        with self._ready:
            if not self.started:
                self.started = self._next_line(time.monotonic() + STARTUP_SECONDS) == READY + "\n"
        if not self.started:
            self.kill()
            return None
        self._stdin.write("".join(json.dumps(p) + "\n" for p in patterns))
        self._stdin.flush()
        deadline = time.monotonic() + budget
        results: list[Optional[str]] = []
        with self._ready:
            while len(results) < len(patterns):
                line = self._next_line(deadline)
                if line is None:
                    self.kill()
                    return None
                results.append(json.loads(line))
        return results

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class PatternCompiler:
    """Compiles a request's patterns in worker processes, within COMPILE_BUDGET_SECONDS per request."""

    def __init__(self, budget: float = COMPILE_BUDGET_SECONDS, keep_idle: int = 2) -> None:
        self.budget = budget
        self.keep_idle = keep_idle
        self._idle: list[Worker] = []
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Start an idle worker now, so no request waits for an interpreter to start (call it from a thread)."""
        self._give_back(Worker())

    def check(self, patterns: Iterable[Pattern]) -> dict[Pattern, Optional[str]]:
        """Pattern -> why it does not compile (None when it does). Blocking: call it from a thread."""
        unique = list(dict.fromkeys(patterns))
        if not unique:
            return {}
        worker = self._take()
        results = worker.compile(unique, self.budget)
        if results is None:
            self.warm_up()   # the over-budget worker was killed: have its successor ready for the next rule
            over = f"the rule's patterns take more than {self.budget:g} s to compile; use simpler patterns"
            return {p: over for p in unique}
        self._give_back(worker)
        return dict(zip(unique, results, strict=True))

    def _take(self) -> Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
        return Worker()

    def _give_back(self, worker: Worker) -> None:
        with self._lock:
            if len(self._idle) < self.keep_idle and worker.alive():
                self._idle.append(worker)
                return
        worker.kill()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


def yield_cpu() -> None:
    """A lower CPU priority: the server's other requests come first while a rule's patterns compile."""
    if hasattr(os, "nice"):
        os.nice(10)


def serve(lines: Iterable[str], out: Any) -> None:
    """The worker's loop: a ready line, then one `[pattern, flags]` JSON line in, one JSON error-or-null line out."""
    yield_cpu()
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):  # not on this platform: the time budget still holds
        pass
    out.write(READY + "\n")
    out.flush()
    for line in lines:
        pattern, flags = json.loads(line)
        out.write(json.dumps(compile_error(pattern, flags)) + "\n")
        out.flush()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
