"""How many calls one provider process serves at once.

One number sizes both the provider server's worker pool (`rr_pulumi.provider.server`) and the HTTP connection pool
of the API client (`rr_pulumi.api.client`), so every worker keeps its own keep-alive connection. Threads and
connections are made on demand, so a large pool costs nothing until the engine sends that many calls at once (its
`--parallel`, default 4 × cores).
"""

from __future__ import annotations

import os
from typing import Mapping, Optional

WORKERS_ENV = "RR_PULUMI_PROVIDER_WORKERS"
DEFAULT_WORKERS = 32  # covers `--parallel 32`; Pulumi's own server has 4
MAX_WORKERS = 1024


def provider_workers(env: Optional[Mapping[str, str]] = None) -> int:
    """$RR_PULUMI_PROVIDER_WORKERS (a whole number from 1 to 1024), else 32."""
    value = (os.environ if env is None else env).get(WORKERS_ENV, "").strip()
    if not value:
        return DEFAULT_WORKERS
    if not value.isdigit() or not 1 <= int(value) <= MAX_WORKERS:
        raise ValueError(f"{WORKERS_ENV} must be a whole number from 1 to {MAX_WORKERS}, got {value!r}")
    return int(value)
