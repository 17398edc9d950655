"""How long `rr-pulumi rules diff` and the rule lint take on a large stack, without Pulumi: a generated checkpoint
of P proxies with R rules each, a preview that changes one rule of every proxy, and N requests (JSON Lines).

    python benchmarks/rules_diff.py                       # 20 proxies x 50 rules, 20000 requests
    python benchmarks/rules_diff.py --proxies 5 --rules 200 --requests 5000

Prints the time to read the requests, to judge them twice (deployed and declared), to lint, and the flips found.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from rr_pulumi.tools import rule_lint
from rr_pulumi.tools import rules_diff
from rr_pulumi.tools import stack_rules
from rr_pulumi.tools.request_files import read

T = "pulumi-python:dynamic/requestrocket:"
METHODS = ["GET", "POST", "PUT", "DELETE"]


def urn(kind: str, name: str) -> str:
    return f"urn:pulumi:bench::bench::{T}{kind}::{name}"


def state(proxies: int, rules: int) -> list[dict]:
    found = [{"urn": urn("Credential", "callers"), "type": T + "Credential", "id": "c1", "outputs": {}},
             {"urn": urn("Target", "api"), "type": T + "Target", "id": "t1", "outputs": {}}]
    for p in range(proxies):
        found.append({"urn": urn("Proxy", f"p{p}"), "type": T + "Proxy", "id": f"p{p}",
                      "outputs": {"proxy_credential_id": "c1", "target_id": "t1", "proxy_default_rule_effect": "deny"}})
        for r in range(rules):
            found.append({"urn": urn("Rule", f"p{p}-r{r}"), "type": T + "Rule", "id": f"p{p}-r{r}", "outputs": {
                "proxy_id": f"p{p}", "effect": "deny" if r % 5 == 0 else "allow", "priority": r,
                "methods": [METHODS[r % 4]], "path_pattern": f"^/v1/res{r}(/.*)?$"}})
    return found


def preview(proxies: int) -> dict:
    return {"steps": [{"op": "replace", "urn": urn("Rule", f"p{p}-r1"), "newState": {
        "urn": urn("Rule", f"p{p}-r1"), "type": T + "Rule", "inputs": {
            "proxy_id": "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "effect": "allow", "priority": 1,
            "methods": ["PUT"], "path_pattern": "^/v1/res1$"}, "propertyDependencies": {"proxy_id": [
                urn("Proxy", f"p{p}")]}}} for p in range(proxies)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proxies", type=int, default=20)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()
    randomly = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "requests.jsonl"
        path.write_text("".join(json.dumps({
            "proxy": f"p{randomly.randrange(args.proxies)}", "method": randomly.choice(METHODS),
            "path": f"/v1/res{randomly.randrange(args.rules)}/{randomly.randrange(100)}"}) + "\n"
            for _ in range(args.requests)))
        started = time.perf_counter()
        samples = read(path)
        read_s = time.perf_counter() - started
    checkpoint, planned = state(args.proxies, args.rules), preview(args.proxies)
    started = time.perf_counter()
    report = rules_diff.diff(checkpoint, planned, samples)
    diff_s = time.perf_counter() - started
    started = time.perf_counter()
    findings = rule_lint.lint(stack_rules.parents(stack_rules.planned(checkpoint, planned)))
    lint_s = time.perf_counter() - started
    total_rules = args.proxies * args.rules
    print(f"{args.proxies} proxies x {args.rules} rules ({total_rules} rules), {args.requests} requests")
    print(f"  read requests:      {read_s:8.3f} s")
    print(f"  diff (judge twice): {diff_s:8.3f} s  ({args.requests / diff_s:,.0f} requests/s; includes the lint)")
    print(f"  lint alone:         {lint_s:8.3f} s  ({len(findings)} findings)")
    print(f"  flips: {len(report.changed)}, undetermined: {len(report.undetermined)}")


if __name__ == "__main__":
    main()
