"""The engine floor: a dynamic provider that does no I/O.

The floor program (see shape.py) swaps it in for rr-pulumi's five providers, so the stack keeps the same type
tokens, properties, secrets and dependencies, and runs through the same dynamic provider machinery (one
`pulumi-python` provider process, classes pickled by reference). Only the Core API calls are gone.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

PROVIDER_KEY = "__provider"
SLEEP_ENV = "RR_BENCH_FLOOR_SLEEP_MS"  # a pretend API round trip in create/update/delete, to isolate the pool bound


def _round_trip() -> None:
    milliseconds = float(os.environ.get(SLEEP_ENV) or 0)
    if milliseconds:
        time.sleep(milliseconds / 1000)


def _own(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


class FloorProvider(ResourceProvider):
    """Accepts every input, answers every call at once, and stores the inputs as outputs."""

    serialize_as_secret_always = False  # like rr-pulumi's providers: nothing secret is captured

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(_own(news), [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = _own(olds), _own(news)
        changes = [k for k in new if new[k] is not None and new[k] != old.get(k)]
        return DiffResult(changes=bool(changes), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        _round_trip()
        return CreateResult(uuid.uuid4().hex, _own(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        _round_trip()
        return UpdateResult(_own(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        own = _own(props)
        return ReadResult(id_, own, own)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        _round_trip()
        return None
