"""Fault campaign: seeded runs of the root stack and a generated stack through `up`, update and `destroy` while the
emulator injects 429s, 500s, connections dropped after commit and jittered latency.

    python benchmarks/campaign.py                 # 20 runs, 3 clients in the generated stack, 3 runs at a time
    python benchmarks/campaign.py --runs 2 --clients 1 --parallel 2

Each run has its own emulator (its own fault seed), user, project folders and file backend. A phase (create,
update) gets at most two `up`s to converge; converged means every resource in the state exists in the account with
the declared values (`preview --expect-no-changes` with faults off), no object is a duplicate (two objects with the
same natural key under one parent) and no object is an orphan (in the account, tracked by no state). `destroy` gets
at most two attempts and must leave the user's account empty.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shutil
import sys
import tempfile
import textwrap
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

from rr_pulumi.schema import kinds
from rr_pulumi.emulator.process import EmulatorProcess
from rr_pulumi.engine import ensure_engine
from rr_pulumi.engine.stack import LocalStack

ROOT = Path(__file__).resolve().parent.parent
FAULTS = "rate429=0.1,err500=0.1,drop_after=0.05,latency=5,jitter=40"

GENERATED = textwrap.dedent("""\
    import pulumi
    from rr_pulumi import ApiKeySecret, BearerSecret, Client, Credential, Proxy, Rule, Target

    config = pulumi.Config()
    phase = int(config.get("phase") or "1")
    for c in range(int(config.require("clients"))):
        org = Client(f"org{c}", client_name=f"campaign-org-{c}")
        callers = Credential(f"callers{c}", client_id=org.id, credential_name=f"callers-{c}",
                             credential_type="proxy", credential_region="us-east-1",
                             credential_secret=ApiKeySecret(api_key=f"campaign-key-{c}-{phase}"))
        upstream = Credential(f"upstream{c}", client_id=org.id, credential_name=f"upstream-{c}",
                              credential_type="target", credential_region="us-east-1",
                              credential_secret=BearerSecret(token=f"campaign-token-{c}"))
        target = Target(f"target{c}", client_id=org.id, target_name=f"upstream-{c}",
                        target_base_url=f"https://up{c}.example.com/v{phase}", target_region="us-east-1")
        proxy = Proxy(f"proxy{c}", client_id=org.id, proxy_name=f"gateway-{c}", proxy_region="us-east-1",
                      proxy_credential_id=callers.id, target_id=target.id, target_credential_id=upstream.id,
                      proxy_max_requests_per_minute=100 * phase)
        for r in range(3):
            Rule(f"rule{c}-{r}", client_id=org.id, proxy_id=proxy.id, effect="deny",
                 priority=10 * r + (phase if r == 0 else 0), methods=["DELETE"])
    """)


@dataclass
class RunResult:
    seed: int
    converged: bool = True
    ups: list[int] = field(default_factory=list)  # `up`s used per phase and stack
    orphans: int = 0
    duplicates: int = 0
    secret_hits: list[str] = field(default_factory=list)  # where a secret value was found in output or state
    failures: list[str] = field(default_factory=list)  # why the run did not converge
    errors: list[str] = field(default_factory=list)  # commands that failed (a second `up` may still converge)
    injected: int = 0
    seconds: float = 0.0


def project(folder: Path, name: str, program: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Pulumi.yaml").write_text(
        f"name: {name}\nruntime:\n  name: python\n  options:\n    virtualenv: {Path(sys.prefix).resolve()}\n")
    (folder / "__main__.py").write_text(program)
    return folder


def why(output: str) -> str:
    """The first error of a failed command, shortened: a traceback's exception line, else the first error line."""
    lines = [ln.strip() for ln in output.splitlines()]
    if any(ln.startswith("Traceback") or ln.endswith("Traceback (most recent call last):") for ln in lines):
        start = next(i for i, ln in enumerate(lines) if ln.endswith("Traceback (most recent call last):"))
        raised = [ln for ln in lines[start + 1:] if re.match(r"^[\w.]+(Error|Exception|Failure|Failed)\b", ln)]
        text = "unhandled " + raised[0] if raised else lines[start]
    else:
        errors = [ln for ln in lines if "error:" in ln]
        text = errors[0] if errors else lines[-1] if lines else "no output"
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", text)
    return text[:220]


class Account:
    """The run user's view of the API (faults off while it looks)."""

    def __init__(self, emu: EmulatorProcess, token: str) -> None:
        self.emu, self.session = emu, requests.Session()
        self.session.headers["Authorization"] = token

    def list(self, path: str) -> list[dict]:
        items, page = [], 1
        while True:
            body = self.session.get(self.emu.url + path, params={"page": page, "limit": 100}, timeout=30).json()
            plural = path.rsplit("/", 1)[-1]
            items += body[plural]
            if page >= body["pagination"]["pages"]:
                return items
            page += 1

    def objects(self) -> list[tuple[str, str, str]]:
        """(parent, natural key, id) of every object the user can see."""
        found = []
        for client in self.list("/api/clients"):
            cid = client["clientId"]
            found.append(("account", "client:" + client["clientName"], cid))
            for plural, name in ((k.plural, k.name_wire) for k in kinds.CLIENT_CHILDREN):
                for item in self.list(f"/api/clients/{cid}/{plural}"):
                    found.append((cid, f"{plural}:{item[name]}", item["sKey"]))
                    for rule in self.list(f"/api/clients/{cid}/{plural}/{item['sKey']}/rules"):
                        key = json.dumps({k: rule.get(k) for k in ("effect", "priority", "methods", "pathPattern")},
                                         sort_keys=True)
                        found.append((item["sKey"], "rule:" + key, rule["sKey"]))
        return found


def state_ids(stack: LocalStack) -> set[str]:
    return {r["id"] for r in stack.resources() if r.get("id")}


def run_once(seed: int, clients: int, work: Path, faults: str) -> RunResult:
    result = RunResult(seed)
    started = time.monotonic()
    folder = work / f"run-{seed}"
    with EmulatorProcess(users=("campaign:team",), seed=seed) as emu:
        token = emu.token("campaign")
        account = Account(emu, token)
        stacks = {
            "root": project(folder / "root", "rr-demo", (ROOT / "__main__.py").read_text()),
            "generated": project(folder / "generated", "campaign", GENERATED),
        }
        secrets = [token, f"campaign-proxy-key-{seed}", f"campaign-upstream-{seed}-1", f"campaign-upstream-{seed}-2",
                   *(f"campaign-key-{c}-{p}" for c in range(clients) for p in (1, 2)),
                   *(f"campaign-token-{c}" for c in range(clients))]
        printed: list[str] = []  # every command's output, scanned for secrets at the end
        live: dict[str, LocalStack] = {}
        for name, path in stacks.items():
            stack = LocalStack(path, stack="campaign", backend_dir=folder / "state").init()
            stack.set_config("requestrocket:apiUrl", emu.url)
            stack.set_config("requestrocket:token", token, secret=True)
            stack.set_config("requestrocket:rateLimitPerMinute", "1000")  # the Team plan
            if name == "root":
                stack.set_config("proxyApiKey", f"campaign-proxy-key-{seed}", secret=True)
                stack.set_config("upstreamToken", f"campaign-upstream-{seed}-1", secret=True)
            else:
                stack.set_config("clients", str(clients))
            live[name] = stack

        commands = iter(range(10_000))

        def faulty(step: str, name: str, run) -> bool:
            emu.set_faults(faults, seed=seed * 1000 + next(commands))
            try:
                outcome = run()
            finally:
                result.injected += sum(emu.stats()["injected"].values())
                emu.reset_stats()
                emu.set_faults(None)
            printed.append(outcome.output)
            if outcome.code != 0:
                result.errors.append(f"{name} {step}: {why(outcome.output)}")
            return outcome.code == 0

        def converge(step: str) -> None:
            for name, stack in live.items():
                for attempt in (1, 2):
                    if faulty(f"{step} up#{attempt}", name, functools.partial(stack.up, check=False)):
                        break
                check = stack.preview("--expect-no-changes", check=False)
                printed.append(check.output)
                result.ups.append(attempt)
                if check.code != 0:
                    result.converged = False
                    result.failures.append(f"{name} {step}: not converged after {attempt} up(s): {why(check.output)}")
            audit(step)

        def audit(step: str) -> None:
            objects = account.objects()
            keys = Counter((parent, key) for parent, key, _ in objects)
            duplicates = sum(n - 1 for n in keys.values() if n > 1)
            tracked = set().union(*(state_ids(s) for s in live.values()))
            orphans = [o for o in objects if o[2] not in tracked]
            result.duplicates += duplicates
            result.orphans += len(orphans)
            if duplicates or orphans:
                result.converged = False
                result.failures.append(f"{step}: {duplicates} duplicate(s), {len(orphans)} orphan(s): "
                                       f"{[k for _, k, _ in orphans][:5]}")

        for stack in live.values():
            printed.append(json.dumps(stack.export()))  # what `pulumi stack export` shows, without --show-secrets
        converge("create")
        live["root"].set_config("upstreamToken", f"campaign-upstream-{seed}-2", secret=True)  # rotate in place
        live["root"].set_config("region", "us-east-1")
        live["generated"].set_config("phase", "2")  # updates, a rotation and a rule replacement per client
        converge("update")
        for name, stack in live.items():
            for attempt in (1, 2):
                if faulty(f"destroy#{attempt}", name, functools.partial(stack.destroy, check=False)):
                    break
        for where, text in [("command output", "\n".join(printed))] + [
                (str(p.relative_to(folder)), p.read_text(errors="replace"))
                for p in folder.rglob("*") if p.is_file() and p.name != "__main__.py"]:
            result.secret_hits += [f"{where}: secret #{secrets.index(v)}" for v in secrets if v in text]
        if result.secret_hits:
            result.converged = False
            result.failures.append(f"secrets found: {result.secret_hits[:5]}")
        left = account.objects()
        if left:
            result.converged = False
            result.orphans += len(left)
            result.failures.append(f"destroy: {len(left)} object(s) left: {[k for _, k, _ in left][:5]}")
    result.seconds = time.monotonic() - started
    shutil.rmtree(folder, ignore_errors=True)
    return result


def campaign(runs: int, clients: int, parallel: int, first_seed: int = 1, faults: str = FAULTS) -> list[RunResult]:
    ensure_engine(verbose=False)
    work = Path(tempfile.mkdtemp(prefix="rr-campaign-"))
    try:
        with ThreadPoolExecutor(parallel) as pool:
            futures = [pool.submit(run_once, seed, clients, work, faults)
                       for seed in range(first_seed, first_seed + runs)]
            results = []
            for future in futures:
                r = future.result()
                print(f"  seed {r.seed}: {'converged' if r.converged else 'NOT converged'}, ups {r.ups}, "
                      f"{r.injected} faults injected, {r.seconds:.0f} s"
                      + "".join(f"\n    error: {e}" for e in r.errors)
                      + "".join(f"\n    FAILED: {f}" for f in r.failures),
                      flush=True)
                results.append(r)
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def summary(results: list[RunResult]) -> dict:
    failed = [r for r in results if not r.converged]
    return {
        "runs": len(results),
        "converged_within_two_ups": sum(r.converged and all(u <= 2 for u in r.ups) for r in results),
        "runs_needing_a_second_up": sum(any(u == 2 for u in r.ups) for r in results),
        "orphans": sum(r.orphans for r in results),
        "duplicates": sum(r.duplicates for r in results),
        "secret_hits": sum(len(r.secret_hits) for r in results),
        "failed_runs": len(failed),
        "why_failed": Counter(f for r in results for f in r.failures).most_common(10),
        "failed_commands": sum(len(r.errors) for r in results),
        "why_commands_failed": Counter(re.sub(r"#\d", "", e) for r in results for e in r.errors).most_common(10),
        "faults_injected": sum(r.injected for r in results),
        "seconds_per_run": round(sum(r.seconds for r in results) / max(1, len(results)), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--clients", type=int, default=3, help="clients in the generated stack (8 resources each)")
    parser.add_argument("--parallel", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--faults", default=FAULTS)
    args = parser.parse_args()
    print(f"fault campaign: {args.runs} runs, faults {args.faults}, generated stack of {args.clients} client(s)",
          flush=True)
    started = time.monotonic()
    results = campaign(args.runs, args.clients, args.parallel, args.first_seed, args.faults)
    figures = summary(results)
    print(json.dumps(figures, indent=2))
    print(f"total {time.monotonic() - started:.0f} s")
    clean = not (figures["failed_runs"] or figures["orphans"] or figures["duplicates"] or figures["secret_hits"])
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
