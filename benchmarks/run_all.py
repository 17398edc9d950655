"""rr-pulumi against the floors no provider can beat, measured in one run on this machine; prints markdown tables.

    python benchmarks/run_all.py            # quick form: N = 10, 50; rate-limit floor at 20/min
    python benchmarks/run_all.py --full     # N = 10, 50, 200; 300 resources at 100/min; four "machines" on a token
    make bench                              # the quick form; `make bench FULL=1` the full form

1. Wall time of `up`, a no-op `preview`, an update `up`, `refresh` and `destroy` (real `pulumi` CLI) for N
   resources of all five kinds against the engine floor: the same program with a dynamic provider that does no
   I/O (floor_provider.py). Floor and rr-pulumi runs alternate, each repetition in a fresh stack; figures are
   medians with the range over repetitions. rr-pulumi runs with client-side pacing off (the emulator does not
   rate-limit these runs), with the emulator at zero latency and at each of --latencies (50 and 200 ms per
   request). Each ratio is checked against the issue's goal for its latency (GOALS). Beside them runs the shaped
   floor: no I/O, but a state shaped like rr-pulumi's (the part of the ratio the engine's state saving explains).
2. Core API calls per operation, counted by the emulator (`/_emulator/stats`).
3. The provider server's worker pool: `up` and `destroy` of the largest N at 50 and 200 ms per call with Pulumi's
   server (RR_PULUMI_PROVIDER_SERVER=pulumi: 4 workers; the toolchain's own launcher) and rr-pulumi's
   (rr_pulumi/provider/server.py, reached through the project plugin `rr-pulumi new` writes), beside the floor
   provider sleeping as long per call. With RR_PULUMI_TOOLCHAIN naming an official layout, this is rr-pulumi's
   server under the official CLI against Pulumi's own launcher and server.
4. Client-side pacing (rr_pulumi.api.ratelimit): `up` of the largest N with pacing off and at the Team plan's 1000/min.
5. The baseline users would otherwise write (naive_provider.py: one plain request per call, one GET per resource
   on refresh, no budget, no retries) against rr-pulumi, same stack, same run, at 50 ms; and both at the plan
   limit (the emulator limiting the token to 100/min): time, calls, 429s, resources created.
6. Four stacks of 75 resources at once on one 100/min token: total time / (calls / limit), failed calls and
   failed `up`s; with --full also as four "machines" (each its own budget folder, so they meet 429s).
7. The rate-limit floor: `up` with the emulator limiting the token; time / (calls / limit).

The load average is printed after every table: this machine is shared, so read the figures beside it.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import rr_pulumi  # noqa: E402
from launcher import launcher_folder  # noqa: E402
from rr_pulumi.emulator.process import EmulatorProcess  # noqa: E402
from rr_pulumi.engine import find_toolchain  # noqa: E402
from shape import Shape  # noqa: E402
from stacks import OPERATIONS, BenchStack  # noqa: E402

PACING_OFF = {"requestrocket:rateLimitPerMinute": 0}
LATENCY_MS = 50
SHAPED_NOTE = ("The shaped floor (floor_provider.ShapedFloorProvider) does no I/O either, but its state holds what "
               "rr-pulumi's does: the defaults `check` fills in and what the Core API returns. The engine saves the "
               "whole state after every step, so shaped ÷ floor is the part of rr-pulumi's ratio that comes from "
               "the state's size, whatever the provider does; rr-pulumi ÷ shaped is the provider's own part.")
LATENCIES = [LATENCY_MS, 200]  # columns of the overhead table beside 0 ms
GOALS = {  # latency ms -> operation -> the goal for the ratio to the no-I/O floor
    0: {"up": 1.10, "preview": 1.05, "update": 1.10, "refresh": 1.10, "destroy": 1.10},
    50: {"up": 1.25, "preview": 1.25, "update": 1.25, "refresh": 1.25, "destroy": 1.25},
    200: {"up": 1.5, "destroy": 1.5},
}
PULUMI_SERVER_ENV = {"RR_PULUMI_PROVIDER_SERVER": "pulumi"}  # Pulumi's own server: 4 workers
WIDE_POOL = 32
POOL_LATENCIES = [LATENCY_MS, 200]
PROVIDER_MODULES = ",".join(f"rr_pulumi.provider.{kind}" for kind in ("client", "credential", "target", "proxy", "rule"))
PROTOTYPE_ENV = {"RR_PULUMI_PROVIDER_WORKERS": str(WIDE_POOL), "RR_PULUMI_PROVIDER_PRELOAD": PROVIDER_MODULES}


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- figures ------------------------------------------------------------------------------------------------------


def med(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    """`median (min–max)` in seconds."""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{med(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def ratio(values: list[float], floor: list[float]) -> float:
    """The median of the per-repetition ratios: each pair ran back to back, so a load spike on this shared machine
    moves both sides of a pair, which a ratio of medians would not cancel."""
    return med([v / f for v, f in zip(values, floor, strict=True)])


def ratio_text(values: list[float], floor: list[float]) -> str:
    pairs = [v / f for v, f in zip(values, floor, strict=True)]
    return f"{med(pairs):.2f}" if len(pairs) == 1 else f"{med(pairs):.2f} ({min(pairs):.2f}–{max(pairs):.2f})"


def verdict(value: float, goal: float | None) -> str:
    if goal is None:
        return ""
    return "met" if value <= goal else f"missed by {100 * (value / goal - 1):.1f} %"


def calls_by_method(stats: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for route, methods in stats.get("routes", {}).items():
        for method, count in methods.items():
            key = "LIST" if method == "GET" and not route.endswith("}") else method  # GET of a collection
            out[key] = out.get(key, 0) + count
    return out


def failed_calls(stats: dict) -> int:
    return sum(n for status, n in stats.get("statuses", {}).items() if int(status) >= 400 and status != "429")


# -- 1 and 2: overhead against the floor, calls per operation ----------------------------------------------------


def overhead(sizes: list[int], reps: int, emulator: EmulatorProcess, work: Path, prototype: bool = False,
             latencies: list[int] = LATENCIES) -> dict:
    """{(variant, n): [cycle, ...]} for variants floor, shaped (the floor with rr-pulumi's state), rr (0 ms),
    rr<latency> (e.g. rr50, rr200) and with --prototype rr+ (0 ms, the prototype launcher: rr-pulumi's modules
    imported while the server starts)."""
    results: dict = {}
    variants = ["floor", "shaped", "rr"] + [f"rr{ms}" for ms in latencies] + (["rr+"] if prototype else [])
    launcher = launcher_folder(work / "prototype-bin") if prototype else None
    for rep in range(reps):
        for n in sizes:
            shift = rep % len(variants)
            for variant in variants[shift:] + variants[:shift]:  # rotate, so no variant always runs first
                say(f"rep {rep + 1}/{reps} N={n} {variant}")
                latency = int(variant[2:]) if variant[2:].isdigit() else 0
                emulator.set_faults({"latency": latency} if latency else None)
                extra = dict(env=PROTOTYPE_ENV, bin_dir=launcher) if variant == "rr+" else {}
                floor = variant in ("floor", "shaped")
                stack = BenchStack(Shape(n), work, None if floor else emulator, config=PACING_OFF,
                                   provider="shaped" if variant == "shaped" else "rr", **extra)
                results.setdefault((variant, n), []).append(stack.cycle(rev=str(rep + 1)))
    emulator.set_faults(None)
    return results


def goal_text(values: list[float], floor: list[float], latency: int, op: str) -> str:
    goal = GOALS.get(latency, {}).get(op)
    return f"≤ {goal:.2f}: {verdict(ratio(values, floor), goal)}" if goal else ""


def overhead_table(sizes: list[int], results: dict) -> str:
    prototype = any(variant == "rr+" for variant, _ in results)
    latencies = sorted({int(v[2:]) for v, _ in results if v[2:].isdigit()})
    lines = [
        "| N | operation | floor s | rr-pulumi s (0 ms) | ratio | goal |"
        + "".join(f" rr-pulumi s ({ms} ms) | ratio | goal |" for ms in latencies)
        + (" prototype launcher s (0 ms) | ratio |" if prototype else ""),
        "|---:|---|---:|---:|---:|---|" + "---:|---:|---|" * len(latencies) + ("---:|---:|" if prototype else ""),
    ]
    for n in sizes:
        for op in OPERATIONS:
            floor = [c[op].seconds for c in results[("floor", n)]]
            rr = [c[op].seconds for c in results[("rr", n)]]
            row = (f"| {n} | {op} | {spread(floor)} | {spread(rr)} | {ratio_text(rr, floor)} "
                   f"| {goal_text(rr, floor, 0, op)} |")
            for ms in latencies:
                slow = [c[op].seconds for c in results[(f"rr{ms}", n)]]
                row += f" {spread(slow)} | {ratio_text(slow, floor)} | {goal_text(slow, floor, ms, op)} |"
            if prototype:
                wide = [c[op].seconds for c in results[("rr+", n)]]
                row += f" {spread(wide)} | {ratio_text(wide, floor)} |"
            lines.append(row)
    return "\n".join(lines)


def shaped_table(sizes: list[int], results: dict) -> str:
    """The floor against the same floor with rr-pulumi's state, and where rr-pulumi falls between them."""
    lines = ["| N | operation | floor s | shaped floor s | shaped ÷ floor | rr-pulumi ÷ floor | rr-pulumi ÷ shaped |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    sizes_kb = []
    for n in sizes:
        floor, shaped, rr = (results[(variant, n)] for variant in ("floor", "shaped", "rr"))
        for op in OPERATIONS:
            f, s, r = ([c[op].seconds for c in cycles] for cycles in (floor, shaped, rr))
            lines.append(f"| {n} | {op} | {spread(f)} | {spread(s)} | {ratio_text(s, f)} | {ratio_text(r, f)} "
                         f"| {ratio_text(r, s)} |")
        kb = [med([c["up"].state_bytes for c in cycles]) / 1024 for cycles in (floor, shaped, rr)]
        sizes_kb.append(f"N = {n}: floor {kb[0]:.0f} KB, shaped floor {kb[1]:.0f} KB, rr-pulumi {kb[2]:.0f} KB")
    return "\n".join(lines) + "\n\nState file after `up`: " + "; ".join(sizes_kb) + "."


def expected_calls(shape: Shape, op: str) -> tuple[int, str]:
    """The goal for an operation: (calls, text)."""
    if op in ("up", "destroy"):
        return shape.n, f"{shape.n} (one per {'create' if op == 'up' else 'delete'})"
    if op == "update":
        return shape.targets(), f"{shape.targets()} (one per updated target)"
    if op == "preview":
        return 0, "0"
    bound, held = shape.listed_collections(), shape.collections()
    return bound, (f"≤ {bound} lists: one per (parent read, kind, page); {held} of them hold the stack's objects, "
                   f"{bound - held} are siblings listed ahead that hold none")


def calls_table(sizes: list[int], results: dict) -> str:
    lines = ["| N | operation | calls | by method | goal | |", "|---:|---|---:|---|---|---|"]
    for n in sizes:
        shape = Shape(n)
        for op in OPERATIONS:
            runs = [c[op].calls for c in results[("rr", n)]]
            totals = [s["total"] for s in runs]
            worst = runs[totals.index(max(totals))]
            methods = ", ".join(f"{m} {k}" for m, k in sorted(calls_by_method(worst).items()))
            goal, text = expected_calls(shape, op)
            total = max(totals)
            state = "met" if total <= goal else f"+{total - goal}"
            same = "" if len(set(totals)) == 1 else f" (range {min(totals)}–{max(totals)})"
            lines.append(f"| {n} | {op} | {total}{same} | {methods} | {text} | {state} |")
    return "\n".join(lines)


# -- 3: the provider's worker pool -------------------------------------------------------------------------------


def pool_bound(n: int, latencies: list[int], reps: int, emulator: EmulatorProcess, work: Path) -> dict:
    """{latency: [(label, up seconds, destroy seconds)]}: Pulumi's server as shipped against a wider pool."""
    wide_env = {"RR_PULUMI_PROVIDER_WORKERS": str(WIDE_POOL)}
    wide_label = f"pool {WIDE_POOL}, --parallel {WIDE_POOL}"
    results: dict = {}
    for latency in latencies:
        sleep = {"RR_BENCH_FLOOR_SLEEP_MS": str(latency)}
        variants = [  # label, emulator, env, --parallel, launcher folder
            ("floor, no I/O (Pulumi's server: pool 4, --parallel 8)", None, PULUMI_SERVER_ENV, None, None),
            (f"floor sleeping {latency} ms per call (Pulumi's server: pool 4, --parallel 8)", None,
             {**sleep, **PULUMI_SERVER_ENV}, None, None),
            # The engine's bound at its default --parallel: no provider making one call per step does better.
            (f"floor sleeping {latency} ms per call (rr-pulumi's server: pool {WIDE_POOL}, --parallel 8)", None,
             sleep, None, None),
            (f"floor sleeping {latency} ms per call (rr-pulumi's server: {wide_label})", None, {**sleep, **wide_env},
             WIDE_POOL, None),
            ("rr-pulumi with Pulumi's server (pool 4, --parallel 8)", emulator, PULUMI_SERVER_ENV, None, None),
            (f"rr-pulumi as shipped (pool {WIDE_POOL}, --parallel 8)", emulator, {}, None, None),
            (f"rr-pulumi as shipped ({wide_label})", emulator, {}, WIDE_POOL, None),
        ]
        rows: dict[str, tuple[list, list]] = {v[0]: ([], []) for v in variants}
        for rep in range(reps):
            for label, emu, env, parallel, bin_dir in variants:
                say(f"pool {latency} ms, rep {rep + 1}/{reps}: {label}")
                emulator.set_faults({"latency": latency})
                # rr-pulumi's server is reached as `rr-pulumi new` sets it up, through the project plugin: so under
                # an official toolchain (RR_PULUMI_TOOLCHAIN) too; Pulumi's server rows run the toolchain's launcher.
                stack = BenchStack(Shape(n), work, emu, config=PACING_OFF, env=env, parallel=parallel,
                                   bin_dir=bin_dir, rr_provider="RR_PULUMI_PROVIDER_SERVER" not in env)
                rows[label][0].append(stack.up().seconds)
                rows[label][1].append(stack.destroy().seconds)
        results[latency] = [(label, *rows[label]) for label, *_ in variants]
    emulator.set_faults(None)
    return results


def pool_table(n: int, results: dict) -> str:
    lines = ["| latency per call | N = %d | up s | ÷ floor | destroy s | ÷ floor |" % n, "|---:|---|---:|---:|---:|---:|"]
    for latency, rows in results.items():
        floor_up, floor_destroy = rows[0][1], rows[0][2]
        for label, up, destroy in rows:
            lines.append(f"| {latency} ms | {label} | {spread(up)} | {ratio_text(up, floor_up)} | {spread(destroy)} "
                         f"| {ratio_text(destroy, floor_destroy)} |")
    return "\n".join(lines)


def pacing(n: int, reps: int, emulator: EmulatorProcess, work: Path) -> list:
    """`up` of N at 0 ms with client-side pacing off and at the Team plan's 1000/min."""
    variants = [("off (requestrocket:rateLimitPerMinute 0)", 0), ("Team plan (requestrocket:rateLimitPerMinute 1000)", 1000)]
    rows: dict[str, list] = {label: [] for label, _ in variants}
    for rep in range(reps):
        for label, per_minute in variants:
            say(f"pacing rep {rep + 1}/{reps}: {label}")
            stack = BenchStack(Shape(n), work, emulator, config={"requestrocket:rateLimitPerMinute": per_minute})
            rows[label].append(stack.up().seconds)
    off = rows[variants[0][0]]
    lines = [f"| client-side pacing, N = {n}, 0 ms | up s | ÷ pacing off |", "|---|---:|---:|"]
    lines += [f"| {label} | {spread(values)} | {ratio_text(values, off)} |" for label, values in rows.items()]
    return "\n".join(lines)


# -- 4: the rate-limit floor -------------------------------------------------------------------------------------


def rate_limit_floor(n: int, limit: int, work: Path) -> dict:
    say(f"rate-limit floor: up of {n} resources at {limit} calls/min (at least {n / limit:.1f} min)")
    with EmulatorProcess(users=(), rate_limit=limit) as emulator:
        stack = BenchStack(Shape(n), work, emulator, config={"requestrocket:rateLimitPerMinute": limit})
        result = stack.up()
    stats = result.calls
    accepted = stats["total"] - stats.get("statuses", {}).get("429", 0)  # a 429 is not served and not billed
    floor_seconds = accepted / limit * 60
    return {"n": n, "limit": limit, "seconds": result.seconds, "calls": accepted,
            "rejected429": stats.get("statuses", {}).get("429", 0), "failed": failed_calls(stats),
            "floor": floor_seconds, "ratio": result.seconds / floor_seconds}


def rate_table(row: dict) -> str:
    return "\n".join([
        "| N | limit /min | calls | 429s | failed | up s | calls ÷ limit s | ratio | goal |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| {row['n']} | {row['limit']} | {row['calls']} | {row['rejected429']} | {row['failed']} "
        f"| {row['seconds']:.1f} | {row['floor']:.1f} | {row['ratio']:.3f} "
        f"| ≤ 1.10, 0 failed: {'met' if row['ratio'] <= 1.10 and row['failed'] == 0 else 'missed'} |",
    ])


# -- 6: many stacks on one token --------------------------------------------------------------------------------


def shared_token(stacks: int, n: int, limit: int, work: Path, machines: bool = False) -> dict:
    """`up` of `stacks` stacks of N resources at once on one token that the emulator limits to `limit`/min; every
    stack is configured with that limit. With `machines`, each stack keeps its send log in its own folder, as
    runners on separate machines would (they then meet the API's 429s and wait out its Retry-After)."""
    label = "separate machines (one budget folder each)" if machines else "one machine (shared budget)"
    say(f"shared token: {stacks} stacks x {n} resources at once, {limit} calls/min, {label}")
    with EmulatorProcess(users=(), rate_limit=limit) as emulator:
        token = emulator.create_user(f"shared{os.getpid()}x{int(machines)}", "team")
        bench = [BenchStack(Shape(n), work, emulator, config={"requestrocket:rateLimitPerMinute": limit}, token=token,
                            env={"RR_PULUMI_RATELIMIT_DIR": str(work / f"budget-{i}")} if machines else None)
                 for i in range(stacks)]
        emulator.reset_stats()
        started = time.perf_counter()
        with ThreadPoolExecutor(stacks) as pool:
            results = list(pool.map(lambda stack: stack.up(check=False, stats=False), bench))
        took = time.perf_counter() - started
        stats = emulator.stats()
    rejected = stats.get("statuses", {}).get("429", 0)
    accepted = stats["total"] - rejected
    floor_seconds = accepted / limit * 60
    return {"label": label, "stacks": stacks, "n": n, "limit": limit, "seconds": took, "calls": accepted,
            "rejected429": rejected, "failed": failed_calls(stats), "up_failures": sum(r.code != 0 for r in results),
            "floor": floor_seconds, "ratio": took / floor_seconds}


def shared_table(rows: list[dict]) -> str:
    lines = ["| stacks × N, at once | where the budgets live | limit /min | calls | 429s | failed calls | failed `up`s "
             "| total s | calls ÷ limit s | ratio | goal |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        met = row["ratio"] <= 1.15 and row["failed"] == 0 and row["up_failures"] == 0
        lines.append(f"| {row['stacks']} × {row['n']} | {row['label']} | {row['limit']} | {row['calls']} "
                     f"| {row['rejected429']} | {row['failed']} | {row['up_failures']} | {row['seconds']:.1f} "
                     f"| {row['floor']:.1f} | {row['ratio']:.3f} | ≤ 1.15, 0 failed: {'met' if met else 'missed'} |")
    return "\n".join(lines)


# -- 7: the baseline users would otherwise write ------------------------------------------------------------------


def baseline(n: int, reps: int, latency: int, emulator: EmulatorProcess, work: Path) -> dict:
    """{provider: [cycle, ...]} for rr-pulumi and the naive providers (naive_provider.py) at `latency` ms, both on
    the Team plan (1000/min: rr-pulumi paces to it, the emulator does not limit); the naive ones served as Pulumi
    serves a user's dynamic provider (its own server: 4 workers)."""
    results: dict = {"rr": [], "naive": []}
    emulator.set_faults({"latency": latency} if latency else None)
    for rep in range(reps):
        for provider in (["rr", "naive"] if rep % 2 == 0 else ["naive", "rr"]):
            say(f"baseline rep {rep + 1}/{reps} N={n} {provider} at {latency} ms")
            stack = BenchStack(Shape(n), work, emulator, config={"requestrocket:rateLimitPerMinute": 1000},
                               provider=provider, env=PULUMI_SERVER_ENV if provider == "naive" else None)
            results[provider].append(stack.cycle(rev=str(rep + 1)))
    emulator.set_faults(None)
    return results


def baseline_table(n: int, latency: int, results: dict) -> str:
    lines = [f"| N = {n}, {latency} ms | rr-pulumi s | usual provider s | rr-pulumi ÷ usual | rr-pulumi calls "
             "| usual calls |", "|---|---:|---:|---:|---|---|"]
    for op in OPERATIONS:
        rr = [c[op].seconds for c in results["rr"]]
        naive = [c[op].seconds for c in results["naive"]]

        def calls(cycles: list) -> str:
            worst = max((c[op].calls for c in cycles), key=lambda s: s["total"])  # noqa: B023  # called in this loop
            methods = ", ".join(f"{m} {k}" for m, k in sorted(calls_by_method(worst).items()))
            return f"{worst['total']}" + (f" ({methods})" if methods else "")

        lines.append(f"| {op} | {spread(rr)} | {spread(naive)} | {ratio_text(rr, naive)} | {calls(results['rr'])} "
                     f"| {calls(results['naive'])} |")
    return "\n".join(lines)


def plan_limit(n: int, limit: int, work: Path) -> list[dict]:
    """`up` of N resources by rr-pulumi and by the usual providers with the emulator limiting the token."""
    rows = []
    for provider in ("rr", "naive"):
        say(f"plan limit: up of {n} resources at {limit} calls/min, {provider}")
        with EmulatorProcess(users=(), rate_limit=limit) as emulator:
            stack = BenchStack(Shape(n), work, emulator, config={"requestrocket:rateLimitPerMinute": limit},
                               provider=provider, env=PULUMI_SERVER_ENV if provider == "naive" else None)
            result = stack.up(check=False)
            created = len([r for r in stack.stack.resources() if r.get("type", "").startswith("pulumi-python:")])
        stats = result.calls
        rows.append({"provider": "rr-pulumi" if provider == "rr" else "usual provider", "seconds": result.seconds,
                     "calls": stats["total"], "rejected429": stats.get("statuses", {}).get("429", 0),
                     "failed": failed_calls(stats), "created": created, "code": result.code})
    return rows


def plan_limit_table(n: int, limit: int, rows: list[dict]) -> str:
    lines = [f"| `up` of N = {n} at {limit} calls/min | up s | exit code | resources created | calls | 429s "
             "| other failed calls |", "|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['provider']} | {row['seconds']:.1f} | {row['code']} | {row['created']} of {n} "
                     f"| {row['calls']} | {row['rejected429']} | {row['failed']} |")
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", default=os.environ.get("FULL", "") not in ("", "0"),
                        help="N up to 200 and the full rate-limit floor (also: FULL=1)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--sizes", help="comma-separated N (default 10,50 quick; 10,50,200 full)")
    parser.add_argument("--skip", default="",
                        help="comma-separated parts to skip: overhead,pool,pacing,rate,shared,machines,baseline,limit")
    parser.add_argument("--latencies", default=",".join(map(str, LATENCIES)),
                        help="comma-separated latencies (ms) of the overhead table beside 0 ms (default 50,200)")
    parser.add_argument("--prototype", action="store_true",
                        help="also run rr-pulumi with the prototype launcher (dynamic_server.py) in the overhead table")
    parser.add_argument("--raw", type=Path, help="write every measured figure of the overhead runs as JSON here")
    parser.add_argument("--write", type=Path, help="also write the tables to this markdown file")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([10, 50, 200] if args.full else [10, 50])
    reps = args.reps
    skip = set(filter(None, args.skip.split(",")))
    rate_n, rate_limit = (300, 100) if args.full else (30, 20)
    latencies = [int(ms) for ms in args.latencies.split(",") if ms.strip()]

    chain = find_toolchain()  # builds our engine only when no official `pulumi` is usable
    # Measure rr-pulumi as pip installs it: with bytecode. A checkout run with PYTHONDONTWRITEBYTECODE=1 would
    # otherwise compile every module in every provider process.
    compileall.compile_dir(str(Path(rr_pulumi.__file__).parent), quiet=1)
    compileall.compile_dir(str(HERE), quiet=1, maxlevels=0)
    started = time.monotonic()
    sections: list[str] = []

    def emit(*parts: str) -> None:
        """Print each table as soon as it is measured (a long run that fails late keeps what it has)."""
        parts = (*parts, f"(load average {os.getloadavg()[0]:.1f} at {time.strftime('%H:%M UTC', time.gmtime())})")
        sections.extend(parts)
        print("\n\n".join(parts) + "\n", flush=True)
        if args.write:
            args.write.write_text("\n\n".join(sections) + "\n")

    emit(f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, "
         f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the start), Python "
         f"{platform.python_version()}; `pulumi` v{chain.version} from {chain.origin} ({chain.folder}); {reps} "
         f"repetitions, median (min–max) in seconds; ratios are medians of back-to-back pairs; "
         f"`{' '.join(['python', 'benchmarks/run_all.py', *sys.argv[1:]])}`.")
    with tempfile.TemporaryDirectory(prefix="rr-bench-") as tmp:
        work = Path(tmp)
        with EmulatorProcess(users=(), rate_limit=0) as emulator:
            if "overhead" not in skip:
                results = overhead(sizes, reps, emulator, work, args.prototype, latencies)
                if args.raw:
                    args.raw.write_text(json.dumps({f"{v} {n}": [{op: [m.seconds, m.calls] for op, m in c.items()}
                                                                for c in cycles] for (v, n), cycles in results.items()}))
                emit("### Wall time against the engine floor", overhead_table(sizes, results),
                     "### The floor with rr-pulumi's state (0 ms)", SHAPED_NOTE, shaped_table(sizes, results),
                     "### Core API calls per operation (emulator stats)", calls_table(sizes, results))
            if "pool" not in skip:
                n = max(sizes)
                emit("### The dynamic provider's worker pool",
                     pool_table(n, pool_bound(n, POOL_LATENCIES, reps, emulator, work)))
            if "pacing" not in skip:
                emit("### Client-side pacing", pacing(max(sizes), reps, emulator, work))
            if "baseline" not in skip:
                n = max(sizes)
                emit(f"### rr-pulumi against the provider users would otherwise write (N = {n}, {LATENCY_MS} ms)",
                     baseline_table(n, LATENCY_MS, baseline(n, reps, LATENCY_MS, emulator, work)))
        if "limit" not in skip:
            emit("### At the plan limit: rr-pulumi against the usual provider",
                 plan_limit_table(150, 100, plan_limit(150, 100, work)))
        shared_rows = [] if "shared" in skip else [shared_token(4, 75, 100, work)]
        if "machines" not in skip and args.full:  # three more minutes at the limit: the full form only
            shared_rows.append(shared_token(4, 75, 100, work, machines=True))
        if shared_rows:
            emit("### Four stacks at once on one 100/min token", shared_table(shared_rows))
        if "rate" not in skip:
            emit("### The rate-limit floor", rate_table(rate_limit_floor(rate_n, rate_limit, work)))
    emit(f"Total benchmark time: {(time.monotonic() - started) / 60:.1f} min; load average "
         f"{os.getloadavg()[0]:.1f} at the end.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
