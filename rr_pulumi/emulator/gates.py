"""Per-key concurrency limits, shared by the contract routes (rule compiles per user) and the data plane (calls in
flight per proxy and per client)."""
from __future__ import annotations

import asyncio


class Gates:
    """Per-key concurrency limits (a proxy's, a client's): waiting for one's turn costs only that key's callers."""

    def __init__(self, size: int):
        self.size = size
        self._gates: dict[str, asyncio.Semaphore] = {}

    def hold(self, key: str) -> "_Held":
        return _Held(self, key)


class _Held:
    def __init__(self, gates: Gates, key: str):
        self.gates, self.key = gates, key

    async def __aenter__(self):
        self.gate = self.gates._gates.setdefault(self.key, asyncio.Semaphore(self.gates.size))
        await self.gate.acquire()

    async def __aexit__(self, *exc):
        self.gate.release()
        if self.gate._value == self.gates.size and not self.gate._waiters:
            self.gates._gates.pop(self.key, None)
