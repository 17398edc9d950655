"""The engine floor: a dynamic provider that does no I/O.

The floor program (see shape.py) swaps it in for rr-pulumi's five providers, so the stack keeps the same type
tokens, properties, secrets and dependencies, and runs through the same dynamic provider machinery (one
`pulumi-python` provider process, classes pickled by reference). Only the Core API calls are gone.
"""

from __future__ import annotations

import datetime
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


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _kind(props: dict[str, Any]):
    """The rr_pulumi.schema.kinds.Kind of these inputs: the one whose name field they hold (a rule has none). Imported
    here, not at the top, so the plain floor's provider loads nothing of rr-pulumi's."""
    from rr_pulumi.schema import kinds

    return next((k for k in kinds.KINDS if k.name_field and k.name_field in props), kinds.RULE)


class ShapedFloorProvider(FloorProvider):
    """The floor with rr-pulumi's state: no I/O, but `check` fills in the same defaults and the outputs carry what
    the Core API returns (UUIDs, timestamps, a client's members, a proxy's URL and limits, a credential's secret
    fingerprint). What the engine does per step grows with the state, so this is the floor for a provider whose
    state holds the API's answers; run_all.py prints its state size beside rr-pulumi's to show the shapes match."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        from rr_pulumi.schema.wire import input_fields

        own = _own(news)
        kind = _kind(own)
        defaults = {n: spec.default for n, spec in input_fields(kind.schema_name).items() if spec.default is not None}
        if kind.word == "credential":
            defaults["credential_secret_rotation"] = 1  # rr_pulumi.provider.credential counts secret changes from 1
        return CheckResult({**defaults, **own}, [])

    @staticmethod
    def _outputs(id_: str, own: dict[str, Any]) -> dict[str, Any]:
        word, now = _kind(own).word, _now()
        outs = {**own, f"{word}_created_at": now, f"{word}_updated_at": now}
        if word == "client":
            outs.update(client_id=id_, client_members=[{"roles": ["owner", "admin"], "user_id": str(uuid.uuid4())}])
        elif word == "credential":
            outs["credential_secret_hash"] = "sha256:" + uuid.uuid4().hex + uuid.uuid4().hex
        elif word == "proxy":
            outs.update(proxy_max_requests_per_day=20000, proxy_max_requests_per_minute=1000,
                        url=f"https://us-east-1.requestrocket.com/api/{id_}")
        return outs

    def create(self, props: dict[str, Any]) -> CreateResult:
        _round_trip()
        id_ = str(uuid.uuid4())
        return CreateResult(id_, self._outputs(id_, _own(props)))

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        _round_trip()
        return UpdateResult(self._outputs(id_, _own(news)))
