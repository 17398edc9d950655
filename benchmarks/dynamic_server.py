"""Prototype: serve Pulumi's Python dynamic provider with a larger worker pool (and, optionally, a sampler).

`pulumi.dynamic.__main__` builds its gRPC server on `futures.ThreadPoolExecutor(max_workers=4)`, so a provider
process serves at most four calls at once, whatever the engine's `--parallel`. This module raises that bound
before running Pulumi's own server module unchanged:

    python -m dynamic_server            # RR_PULUMI_PROVIDER_WORKERS (default 32) workers

RR_PULUMI_PROVIDER_PRELOAD=mod,mod imports those modules on a background thread while the server starts, so the
first call does not wait for them (the engine starts the provider before it sends the first Check).

The launcher made by `launcher_folder()` runs it in place of `python -m pulumi.dynamic`. With
RR_BENCH_SAMPLE=<file>, a thread also samples every thread's stack every 5 ms and writes the collapsed stacks
(flame-graph input: `frame;frame;frame count`) to that file once a second, since the engine kills the provider
without warning.
"""

from __future__ import annotations

import collections
import importlib
import os
import runpy
import sys
import threading
import time
from concurrent import futures

DEFAULT_WORKERS = 32


class _Pool(futures.ThreadPoolExecutor):
    def __init__(self, max_workers=None, *args, **kwargs):
        workers = int(os.environ.get("RR_PULUMI_PROVIDER_WORKERS") or DEFAULT_WORKERS)
        super().__init__(max(max_workers or 0, workers), *args, **kwargs)


def _sample(path: str, interval: float = 0.005) -> None:
    stacks: collections.Counter = collections.Counter()
    me = threading.get_ident()
    last_write = time.monotonic()
    while True:
        time.sleep(interval)
        for ident, frame in sys._current_frames().items():
            if ident == me:
                continue
            names = []
            while frame is not None:
                code = frame.f_code
                names.append(f"{os.path.basename(code.co_filename)}:{code.co_name}")
                frame = frame.f_back
            stack = ";".join(reversed(names))
            if "_call_behavior" not in stack:
                continue  # not serving a call: idle pool threads, the gRPC poller, the main thread
            stacks[stack] += 1
        if time.monotonic() - last_write > 1.0:
            last_write = time.monotonic()
            with open(path + ".tmp", "w") as out:
                out.writelines(f"{stack} {count}\n" for stack, count in stacks.most_common())
            os.replace(path + ".tmp", path)


def _preload(modules: list[str]) -> None:
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - the real import, on the first call, reports it
            pass


def main() -> None:
    futures.ThreadPoolExecutor = _Pool  # pulumi.dynamic.__main__ reads `futures.ThreadPoolExecutor` at start-up
    preload = [m for m in os.environ.get("RR_PULUMI_PROVIDER_PRELOAD", "").split(",") if m]
    if preload:
        # Pulumi's package has import cycles: finish importing it here, so the thread only imports new modules.
        importlib.import_module("pulumi.dynamic")
        importlib.import_module("pulumi.runtime.proto.provider_pb2_grpc")
        threading.Thread(target=_preload, args=(preload,), daemon=True).start()
    sample = os.environ.get("RR_BENCH_SAMPLE")
    if sample:
        threading.Thread(target=_sample, args=(f"{sample}.{os.getpid()}",), daemon=True).start()
    runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
