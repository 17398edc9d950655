"""Seeded fault injection for contract routes: latency, 5xx, injected 429s and dropped connections.

Every contract request draws the same five numbers from one `random.Random(seed)`, whatever its outcome, so the
same seed and the same sequence of requests give exactly the same faults.
"""
from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, fields

RATE_KEYS = ("err500", "err503", "rate429", "drop_before", "drop_after")
MS_KEYS = ("latency", "jitter")


@dataclass(frozen=True)
class FaultSpec:
    latency: float = 0.0       # ms added to every contract request
    jitter: float = 0.0        # plus a uniform random 0..jitter ms
    err500: float = 0.0        # probability of a 500 INTERNAL_ERROR (nothing is written)
    err503: float = 0.0        # probability of a 503 SERVICE_UNAVAILABLE with Retry-After: 1 (nothing is written)
    rate429: float = 0.0       # probability of an injected 429 RATE_LIMITED with Retry-After: 1
    drop_before: float = 0.0   # probability the connection is dropped before the request is handled
    drop_after: float = 0.0    # probability the request is handled (and committed), then the connection dropped

    @classmethod
    def parse(cls, text: str | None) -> "FaultSpec":
        """`latency=50,jitter=20,err500=0.1,...` (empty or None: no faults)."""
        values: dict[str, str] = {}
        for part in (text or "").split(","):
            part = part.strip()
            if not part:
                continue
            key, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"fault spec: expected key=value, got {part!r}")
            values[key.strip()] = value.strip()
        return cls.from_dict(values, text=True)

    @classmethod
    def from_dict(cls, data: dict, text: bool = False) -> "FaultSpec":
        """The spec from a JSON object (values must be JSON numbers) or, with `text`, from parsed SPEC text."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"fault spec: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}")
        values = {}
        for key, raw in data.items():
            try:
                if isinstance(raw, bool) or not (text and isinstance(raw, str) or isinstance(raw, (int, float))):
                    raise ValueError
                value = float(raw)
            except OverflowError:   # a JSON integer beyond a float (10**400): out of every range below
                value = math.inf if raw > 0 else -math.inf
            except (TypeError, ValueError):
                raise ValueError(f"fault spec: {key} must be a number"
                                 + ("" if text else f" (a JSON number, not {type(raw).__name__})")) from None
            if key in RATE_KEYS and not 0.0 <= value <= 1.0:
                raise ValueError(f"fault spec: {key} must be a probability from 0 to 1")
            if key in MS_KEYS and not 0.0 <= value <= 60000.0:
                raise ValueError(f"fault spec: {key} must be 0-60000 milliseconds")
            values[key] = value
        if values.get("err500", 0.0) + values.get("err503", 0.0) > 1.0:
            raise ValueError("fault spec: err500 + err503 must not exceed 1")
        return cls(**values)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @property
    def active(self) -> bool:
        return any(self.to_dict().values())


@dataclass(frozen=True)
class Decision:
    delay: float = 0.0          # seconds
    inject: str | None = None   # rate429 | err500 | err503 | drop_before
    drop_after: bool = False


NO_FAULT = Decision()


class Faults:
    def __init__(self, spec: FaultSpec | None = None, seed: int | None = None):
        self.configure(spec or FaultSpec(), seed)

    def configure(self, spec: FaultSpec, seed: int | None = None) -> None:
        """Install a spec and restart the random sequence (from `seed`, else from a fresh random seed)."""
        self.spec = spec
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        self._rng = random.Random(self.seed)

    def to_dict(self) -> dict:
        return {**self.spec.to_dict(), "seed": self.seed}

    def draw(self) -> Decision:
        spec = self.spec
        if not spec.active:
            return NO_FAULT
        r = self._rng.random
        u_jitter, u_429, u_err, u_before, u_after = r(), r(), r(), r(), r()
        delay = (spec.latency + spec.jitter * u_jitter) / 1000.0
        inject = None
        if u_429 < spec.rate429:
            inject = "rate429"
        elif u_err < spec.err500:
            inject = "err500"
        elif u_err < spec.err500 + spec.err503:
            inject = "err503"
        elif u_before < spec.drop_before:
            inject = "drop_before"
        return Decision(delay, inject, inject is None and u_after < spec.drop_after)
