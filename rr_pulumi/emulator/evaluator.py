"""Judging a request by rules with patterns, in worker processes: a runaway pattern costs its own caller only.

Rule patterns are Python `re` patterns (the control plane compiles them with `re`; one engine for both planes).
`re` holds the interpreter while it searches, so the server never searches itself: a worker process
(`python -m rr_pulumi.emulator.evaluator`) runs `rule_evaluation.evaluate`, where each search gets
`PATTERN_TIMEOUT` (a timer signal in the worker's main thread) and then counts as failing closed; the whole
evaluation gets `EVALUATION_BUDGET` seconds, after which the worker is killed and the request is refused (403).
Workers are few (`WORKERS`) and one client (tenant) holds at most `PER_TENANT` of them at a time, so one tenant's
expensive rules cannot queue another tenant's requests behind them for long. Body checks are judged in a worker
too, as a JSONPath walks the body at a cost of its own (past `JSON_PATH_NODES_MAX` nodes it fails closed as a
runaway search does); only rules with neither a pattern nor a body check are judged in the server.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any, Optional, Sequence

from rr_pulumi.schema.rule_evaluation import NO_BODY, Decision, Request, Scope, ScopeResult, evaluate

WORKERS = 4
PER_TENANT = 2
EVALUATION_BUDGET = 2.0          # seconds for every pattern of one request together
MEMORY_LIMIT = 512 * 1024 * 1024  # address space of one worker (bytes)
LINE_LIMIT = 8 * 1024 * 1024      # the longest answer line read from a worker


def needs_worker(scopes: Sequence[Scope]) -> bool:
    """Whether judging may cost more than next to nothing, so it must not run in the server: any pattern (header and
    query checks always search their name pattern; token checks only with a value pattern), and any body check (a
    JSONPath such as `$..*..*` walks the body at a cost of its own, a value pattern or not)."""
    if has_body_checks(scopes):
        return True
    for scope in scopes:
        for rule in scope.rules:
            if rule.get("pathPattern") or rule.get("headerChecks") or rule.get("queryChecks"):
                return True
            if any(not isinstance(c, dict) or c.get("valuePattern") is not None for c in rule.get("tokenChecks") or ()):
                return True
    return False


def has_body_checks(scopes: Sequence[Scope]) -> bool:
    return any(rule.get("bodyChecks") for scope in scopes for rule in scope.rules)


# -- the wire between server and worker -------------------------------------------------------------------------------

def _job(scopes: Sequence[Scope], request: Request) -> str:
    return json.dumps({
        "scopes": [[s.scope, s.object_id, s.default_effect, list(s.rules), s.name] for s in scopes],
        "request": {"method": request.method, "path": request.path, "headers": list(request.headers),
                    "query": list(request.query), "hasBody": request.body is not NO_BODY,
                    "body": None if request.body is NO_BODY else request.body, "claims": request.claims},
    }) + "\n"


def _answer(decision: Decision, scopes: Sequence[Scope]) -> str:
    out = []
    for scope, result in zip(scopes, decision.scopes, strict=True):
        index = {id(rule): i for i, rule in enumerate(scope.rules)}
        out.append({"matched": [index[id(r)] for r in result.matched], "effect": result.effect,
                    "deciding": None if result.deciding_rule is None else index[id(result.deciding_rule)],
                    "timeouts": result.timeouts})
    return json.dumps({"allowed": decision.allowed, "scopes": out}) + "\n"


def _decision(answer: dict[str, Any], scopes: Sequence[Scope]) -> Decision:
    results = []
    for scope, got in zip(scopes, answer["scopes"], strict=True):
        rules = list(scope.rules)
        results.append(ScopeResult(scope.scope, scope.object_id, scope.default_effect,
                                   [rules[i] for i in got["matched"]], got["effect"],
                                   None if got["deciding"] is None else rules[got["deciding"]], scope.name,
                                   list(got["timeouts"])))
    return Decision(bool(answer["allowed"]), results)


def serve(lines, out) -> None:
    """The worker's loop: one job line in, one answer line out."""
    _limit_memory()
    out.write("ready\n")
    out.flush()
    for line in lines:
        job = json.loads(line)
        scopes = [Scope(*s) for s in job["scopes"]]
        r = job["request"]
        request = Request(r["method"], r["path"], [tuple(h) for h in r["headers"]], [tuple(q) for q in r["query"]],
                          r["body"] if r["hasBody"] else NO_BODY, r["claims"])
        out.write(_answer(evaluate(scopes, request), scopes))
        out.flush()


def _limit_memory() -> None:
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):  # not on this platform: the time budget still holds
        pass


# -- the server's side ------------------------------------------------------------------------------------------------

class _Worker:
    def __init__(self, proc: asyncio.subprocess.Process):
        assert proc.stdin is not None and proc.stdout is not None  # start() asks for both pipes
        self.proc = proc
        self._stdin, self._stdout = proc.stdin, proc.stdout

    @classmethod
    async def start(cls) -> "_Worker":
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "rr_pulumi.emulator.evaluator", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, limit=LINE_LIMIT)
        worker = cls(proc)
        try:
            ready = await worker._stdout.readline()
        except BaseException:   # cancelled while it starts (the request's deadline): no one else would stop it
            worker.kill()
            raise
        if ready != b"ready\n":
            worker.kill()
            raise RuntimeError("the rule evaluation worker did not start")
        return worker

    async def ask(self, job: str) -> dict[str, Any]:
        self._stdin.write(job.encode())
        await self._stdin.drain()
        line = await self._stdout.readline()
        if not line.endswith(b"\n"):
            raise RuntimeError("the rule evaluation worker ended")
        return json.loads(line)

    def alive(self) -> bool:
        return self.proc.returncode is None

    def kill(self) -> None:
        """Works inside the event loop and after it has closed (at server stop), when the transport cannot."""
        if self.proc.returncode is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass   # already gone


class Evaluator:
    """A small pool of evaluation workers shared fairly between tenants."""

    def __init__(self, workers: int = WORKERS, per_tenant: int = PER_TENANT, budget: float = EVALUATION_BUDGET):
        self.budget = budget
        self.per_tenant = per_tenant
        self._slots = asyncio.Semaphore(workers)
        self._tenants: dict[str, asyncio.Semaphore] = {}
        self._idle: list[_Worker] = []

    async def evaluate(self, tenant: str, scopes: Sequence[Scope], request: Request) -> Optional[Decision]:
        """The decision, or None when the rules took longer than the budget (the caller then refuses)."""
        if not needs_worker(scopes):
            return evaluate(scopes, request)
        job = _job(scopes, request)
        gate = self._tenants.setdefault(tenant, asyncio.Semaphore(self.per_tenant))
        try:
            async with gate, self._slots:
                worker = await self._take()
                try:
                    answer = await asyncio.wait_for(worker.ask(job), self.budget)
                except (asyncio.TimeoutError, RuntimeError, ValueError, OSError):
                    worker.kill()
                    return None
                except BaseException:   # cancelled (the caller went away): the worker may be mid-search
                    worker.kill()
                    raise
                self._idle.append(worker)
                return _decision(answer, scopes)
        finally:
            if gate._value == self.per_tenant and not gate._waiters:   # nobody holds or waits: forget the tenant
                self._tenants.pop(tenant, None)

    async def _take(self) -> _Worker:
        while self._idle:
            worker = self._idle.pop()
            if worker.alive():
                return worker
        return await _Worker.start()

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()

    async def aclose(self) -> None:
        """close(), then wait for the workers to be gone (from inside the event loop that started them)."""
        idle = list(self._idle)
        self.close()
        for worker in idle:
            await worker.proc.wait()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
