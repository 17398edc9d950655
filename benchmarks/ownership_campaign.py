"""Ownership campaign: many stacks of several projects share one RequestRocket account, under faults and a killed
`up`; afterwards every object must be managed by exactly the stack that created it, and no stack may have written to
or deleted an object it did not create.

    python benchmarks/ownership_campaign.py [--seed N] [--json]

One emulator, one user (one account), one file backend. Three projects with two stacks each (dev, prod):

* `platform` creates a client named "shared" (the same name in dev and prod), a credential "callers" and a target
  "api" in it;
* `team-a` and `team-b` look the platform's client and target up by literal id (`Client.get`, `Target.get`) and
  declare, in that shared client, a target "api" and a credential "callers" (the platform's names), an identical
  rule under the platform's target (the same in both teams), and a rule under their own target; `team-b` also looks
  up team-a's target and puts a rule under it.

Every `up` runs under injected faults (`err500`: a 5xx before the write applies; `drop_after`: the write is
committed and the answer lost), a failed `up` is run once more without faults, and team-b's prod `up` is SIGKILLed
mid-flight and recovered with the README's recovery line (`rr-pulumi recover && pulumi refresh --yes && pulumi up
--yes`). Then every stack's `pulumi preview --expect-no-changes` and `rr-pulumi drift` run, and `rr-pulumi inventory`
takes stock of the account; finally every stack is destroyed (teams first).

Who did what comes from the emulator's control-plane request log (`GET /_emulator/requests`): the campaign runs one
command at a time, so every request between two reads of the log belongs to that command's stack. The creator of an
object is the stack whose POST made it (answered, or committed with its answer dropped); a foreign write is a
committed PUT or DELETE, by any stack, of an object another stack (or nobody we know) created.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests

from rr_pulumi.emulator.process import EmulatorProcess
from rr_pulumi.engine import ensure_engine
from rr_pulumi.engine.stack import LocalStack

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from test_interrupted_runs import kill_mid_up, recovery_line  # noqa: E402  the e2e suite's kill and README line

FAULTS = "err500=0.2,drop_after=0.2"
KILL_LATENCY = "latency=700,jitter=300"  # slow answers, so the kill lands while a create is in flight
ENVS = ("dev", "prod")
ORG = "organization"  # the file backend's organisation in fully qualified stack names

PLATFORM = textwrap.dedent("""\
    import pulumi
    from rr_pulumi import ApiKeySecret, Client, Credential, Target

    shared = Client("shared", client_name="shared")
    callers = Credential("callers", client_id=shared.id, credential_name="callers", credential_type="proxy",
                         credential_region="us-east-1", credential_secret=ApiKeySecret(api_key="{secret}"))
    api = Target("api", client_id=shared.id, target_name="api", target_base_url="https://platform-{env}.example.com",
                 target_region="us-east-1")
    pulumi.export("client_id", shared.id)
    pulumi.export("target_id", api.id)
    """)

TEAM = textwrap.dedent("""\
    import pulumi
    from rr_pulumi import ApiKeySecret, Client, Credential, Rule, Target

    shared = Client.get("shared", "{client_id}")
    platform_api = Target.get("platform-api", "{platform_target}", client_id=shared.id)
    api = Target("api", client_id=shared.id, target_name="api", target_base_url="https://{team}-{env}.example.com",
                 target_region="us-east-1")
    callers = Credential("callers", client_id=shared.id, credential_name="callers", credential_type="proxy",
                         credential_region="us-east-1", credential_secret=ApiKeySecret(api_key="{secret}"))
    Rule("no-deletes", client_id=shared.id, target_id=platform_api.id, effect="deny", priority=10, methods=["DELETE"])
    Rule("own", client_id=shared.id, target_id=api.id, effect="deny", priority=20, methods=["PATCH"])
    {extra}
    pulumi.export("target_id", api.id)
    """)

TEAM_B_EXTRA = ('team_a_api = Target.get("team-a-api", "{team_a_target}", client_id=shared.id)\n'
                'Rule("on-team-a", client_id=shared.id, target_id=team_a_api.id, effect="allow", priority=30, '
                'methods=["GET"])')


@dataclass
class Figures:
    seconds: float = 0.0
    stacks: int = 0
    pulumi_commands: int = 0
    requests: int = 0
    committed_writes: int = 0
    creates: int = 0
    injected: dict[str, int] = field(default_factory=dict)  # fault -> count, every method
    injected_on_post: dict[str, int] = field(default_factory=dict)
    kills: int = 0
    recovery_exit: int | None = None
    recovery_adopted: int = 0  # pending creates of the killed `up` that recovery found in the account
    failed_ups: list[str] = field(default_factory=list)  # first faulted `up`s that failed (run again without)
    unconverged: list[str] = field(default_factory=list)  # stacks whose second `up` failed too
    foreign_writes: list[str] = field(default_factory=list)
    ownership_mismatches: list[str] = field(default_factory=list)
    preview_failures: list[str] = field(default_factory=list)
    drift_failures: list[str] = field(default_factory=list)
    inventory_exit: int | None = None
    destroy_failures: list[str] = field(default_factory=list)
    left_in_account: int = 0


def first_error(output: str) -> str:
    """The line that says why: an error line, else the first planned change (a preview), else the first line."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    changes = [ln for ln in lines if ln.startswith(("~", "+", "-", "+-"))]
    return (errors or changes or lines or ["no output"])[0][:300]


def object_id(path: str) -> str:
    """The object a PUT or DELETE names: the last id of `/api/clients/{c}[/{plural}/{id}[/rules/{r}]]`."""
    return path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def parent_id(collection: str) -> str | None:
    """The parent a POST to a collection creates under (None for `/api/clients`)."""
    parts = collection.split("?", 1)[0].strip("/").split("/")
    return parts[-2] if len(parts) > 2 else None


class Campaign:
    def __init__(self, work: Path, seed: int) -> None:
        self.work, self.seed = work, seed
        self.figures = Figures()
        self.creator: dict[str, str] = {}  # object id -> the stack that created it
        self.children: dict[str, list[str]] = {}  # object id -> the objects created under it (a delete cascades)
        self.gone: set[str] = set()
        self.stacks: dict[str, LocalStack] = {}
        self._seeds = iter(range(seed * 100, seed * 100 + 100))

    # -- the request log --------------------------------------------------------------------------------------

    def _log(self) -> dict:
        response = requests.get(self.emu.url + "/_emulator/requests", params={"since": self._last},
                                headers={"Authorization": self.emu.admin_token}, timeout=30)
        response.raise_for_status()
        return response.json()

    def attributed(self, who: str, run):
        """Run one command; every request the emulator received meanwhile is `who`'s."""
        self._last = self._log()["last"]
        try:
            return run()
        finally:
            for entry in self._log()["requests"]:
                self._account_for(who, entry)

    def _account_for(self, who: str, entry: dict) -> None:
        f = self.figures
        f.requests += 1
        fault, method = entry["fault"], entry["method"]
        if fault:
            f.injected[fault] = f.injected.get(fault, 0) + 1
            if method == "POST":
                f.injected_on_post[fault] = f.injected_on_post.get(fault, 0) + 1
        committed = fault in (None, "drop_after") and entry["status"] is not None and entry["status"] < 300
        if not committed or method not in ("POST", "PUT", "DELETE"):
            return
        f.committed_writes += 1
        if method == "POST":
            if entry["created"]:
                f.creates += 1
                self.creator[entry["created"]] = who
                self.children.setdefault(parent_id(entry["path"]) or "", []).append(entry["created"])
            return
        target = object_id(entry["path"])
        owner = self.creator.get(target, "nobody known")
        if owner != who:
            f.foreign_writes.append(f"{who} {method} {entry['path']} (created by {owner})")
        if method == "DELETE":  # the API deletes what is under it too: a rule, a client's objects
            for below in self._below(target):
                if below not in self.gone and self.creator.get(below) != who:
                    f.foreign_writes.append(f"{who} DELETE {entry['path']} also deleted {below} (created by "
                                            f"{self.creator.get(below)})")
            self.gone |= {target, *self._below(target)}

    def _below(self, id_: str) -> list[str]:
        found, todo = [], list(self.children.get(id_, []))
        while todo:
            child = todo.pop()
            found.append(child)
            todo += self.children.get(child, [])
        return found

    # -- stacks ------------------------------------------------------------------------------------------------

    def stack(self, project: str, env: str, program: str) -> LocalStack:
        folder = self.work / f"{project}-{env}"  # each stack its own checkout: its program holds its literal ids
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "Pulumi.yaml").write_text(f"name: {project}\nruntime:\n  name: python\n  options:\n"
                                            f"    virtualenv: {Path(sys.prefix).resolve()}\n")
        (folder / "__main__.py").write_text(program)
        stack = LocalStack(folder, stack=env, backend_dir=self.work / "state").init()
        stack.set_config("requestrocket:apiUrl", self.emu.url)
        stack.set_config("requestrocket:token", self.token, secret=True)
        stack.set_config("requestrocket:rateLimitPerMinute", "0")  # the emulator does not limit this campaign
        self.stacks[self.name(project, env)] = stack
        self.figures.stacks = len(self.stacks)
        return stack

    @staticmethod
    def name(project: str, env: str) -> str:
        return f"{ORG}/{project}/{env}"

    def command(self, who: str, run):
        self.figures.pulumi_commands += 1
        return self.attributed(who, run)

    def faulty_up(self, who: str) -> None:
        """`up` under faults; a failed one once more without (the user's second try)."""
        stack = self.stacks[who]
        self.emu.set_faults(FAULTS, seed=next(self._seeds))
        try:
            done = self.command(who, lambda: stack.up(check=False))
        finally:
            self.emu.set_faults(None)
        if done.code == 0:
            return
        self.figures.failed_ups.append(f"{who}: {first_error(done.output)}")
        again = self.command(who, lambda: stack.up(check=False))
        if again.code != 0:
            self.figures.unconverged.append(f"{who}: {first_error(again.output)}")

    def killed_up(self, who: str) -> None:
        """SIGKILL `pulumi up` while a create is in flight, then the README's recovery line."""
        stack = self.stacks[who]
        # kill_mid_up waits on "received minus answered"; answers dropped by earlier faults were never counted.
        self.emu.reset_stats()
        self.emu.set_faults(KILL_LATENCY, seed=next(self._seeds))
        try:
            self.command(who, lambda: kill_mid_up(stack, self.emu, ready=lambda lines: any(
                " created" in ln for ln in lines)))
        finally:
            self.emu.set_faults(None)
        self.figures.kills += 1
        env = {**stack.env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{stack.env['PATH']}"}
        done = self.command(who, lambda: subprocess.run(["sh", "-c", recovery_line()], cwd=stack.project_dir,
                                                        env=env, capture_output=True, text=True, timeout=900))
        self.figures.recovery_exit = done.returncode
        self.figures.recovery_adopted = sum("adopting" in line for line in done.stdout.splitlines())
        if done.returncode != 0:
            self.figures.unconverged.append(f"{who}: recovery exited {done.returncode}: "
                                            f"{first_error(done.stdout + done.stderr)}")

    def rr_pulumi(self, who: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
        env = {**self.stacks[who].env, "REQUESTROCKET_RATE_LIMIT": "0", "REQUESTROCKET_API_URL": self.emu.url,
               "REQUESTROCKET_TOKEN": self.token}  # the stack's own config comes first for drift; inventory needs these
        script = Path(sys.executable).parent / "rr-pulumi"
        return self.command(who, lambda: subprocess.run([str(script), *args], cwd=cwd, env=env,
                                                        capture_output=True, text=True, timeout=900))

    # -- the campaign --------------------------------------------------------------------------------------------

    def run(self) -> Figures:
        started = time.monotonic()
        with EmulatorProcess(users=("owner:team",), rate_limit=100_000) as self.emu:
            self.token, self._last = self.emu.token("owner"), 0
            platform = {}
            for env in ENVS:
                who = self.name("platform", env)
                self.stack("platform", env, PLATFORM.format(env=env, secret=f"k-platform-{env}"))
                self.faulty_up(who)
                platform[env] = self.stacks[who].outputs()
            team_a = {}
            for env in ENVS:
                who = self.name("team-a", env)
                self.stack("team-a", env, TEAM.format(client_id=platform[env]["client_id"], team="team-a", env=env,
                                                      platform_target=platform[env]["target_id"],
                                                      secret=f"k-team-a-{env}", extra=""))
                self.faulty_up(who)
                team_a[env] = self.stacks[who].outputs()
            for env in ENVS:
                extra = TEAM_B_EXTRA.format(team_a_target=team_a[env]["target_id"])
                self.stack("team-b", env, TEAM.format(client_id=platform[env]["client_id"], team="team-b", env=env,
                                                      platform_target=platform[env]["target_id"],
                                                      secret=f"k-team-b-{env}", extra=extra))
                (self.killed_up if env == "prod" else self.faulty_up)(self.name("team-b", env))
            self.check()
            self.destroy()
        self.figures.seconds = round(time.monotonic() - started, 1)
        return self.figures

    def check(self) -> None:
        f = self.figures
        for who, stack in self.stacks.items():
            preview = self.command(who, functools.partial(stack.preview, "--expect-no-changes", check=False))
            if preview.code != 0:
                f.preview_failures.append(f"{who}: exit {preview.code}: {first_error(preview.stdout)}")
            drift = self.rr_pulumi(who, "drift", "--stack", stack.stack, "--json", cwd=stack.project_dir)
            if drift.returncode != 0:
                try:
                    found = json.loads(drift.stdout)
                    why = found.get("error") or "; ".join(f"{d['kind']}: {d['resource']}: {d['detail']}"
                                                         for d in found.get("differences", []))
                except ValueError:
                    why = first_error(drift.stdout + drift.stderr)
                f.drift_failures.append(f"{who}: exit {drift.returncode}: {why[:600]}")
        anyone = next(iter(self.stacks))
        done = self.rr_pulumi(anyone, "inventory", "--json", cwd=self.work)
        f.inventory_exit = done.returncode
        report = json.loads(done.stdout)
        for obj in report.get("objects", []):
            managers = sorted({c["stack"] for c in obj["managed_by"]})
            creator = self.creator.get(obj["id"], "nobody known")
            if managers != [creator]:
                f.ownership_mismatches.append(f"{obj['kind']} {obj['id']} {obj['name']!r}: created by {creator}, "
                                              f"managed by {managers or 'no stack'}")
        if "error" in report:
            f.ownership_mismatches.append(f"inventory could not run: {report['error']}")

    def destroy(self) -> None:
        for who in reversed(list(self.stacks)):  # the reverse of creation: whoever builds under others goes first
            stack = self.stacks[who]
            done = self.command(who, functools.partial(stack.destroy, check=False))
            if done.code != 0:
                self.figures.destroy_failures.append(f"{who}: {first_error(done.output)}")
        session = requests.Session()
        session.headers["Authorization"] = self.token
        self.figures.left_in_account = len(session.get(self.emu.url + "/api/clients", timeout=30).json()["clients"])


def campaign(work: Path | None = None, seed: int = 1) -> Figures:
    ensure_engine(verbose=False)
    if work is not None:
        return Campaign(work, seed).run()
    with tempfile.TemporaryDirectory(prefix="rr-ownership-") as folder:
        return Campaign(Path(folder), seed).run()


def render(figures: Figures) -> str:
    f = figures
    lines = [
        f"ownership campaign: {f.stacks} stacks of 3 projects on one account, {f.pulumi_commands} pulumi/rr-pulumi "
        f"commands, {f.requests} control-plane requests ({f.committed_writes} committed writes, {f.creates} creates),"
        f" {f.seconds} s",
        f"  injected faults: {dict(sorted(f.injected.items()))}, on POST: {dict(sorted(f.injected_on_post.items()))}",
        f"  killed ups: {f.kills}, recovery exit: {f.recovery_exit} ({f.recovery_adopted} pending creates "
        f"adopted), faulted ups that failed (run again): "
        f"{len(f.failed_ups)}, unconverged: {len(f.unconverged)}",
        f"  foreign writes: {len(f.foreign_writes)}",
        f"  objects not managed by exactly their creator: {len(f.ownership_mismatches)} (inventory exit "
        f"{f.inventory_exit})",
        f"  preview --expect-no-changes failures: {len(f.preview_failures)}, drift non-zero: {len(f.drift_failures)}",
        f"  destroy failures: {len(f.destroy_failures)}, clients left after destroy: {f.left_in_account}",
    ]
    for title, items in (("failed up", f.failed_ups), ("UNCONVERGED", f.unconverged),
                         ("FOREIGN WRITE", f.foreign_writes), ("OWNERSHIP", f.ownership_mismatches),
                         ("PREVIEW", f.preview_failures), ("DRIFT", f.drift_failures),
                         ("DESTROY", f.destroy_failures)):
        lines += [f"    {title}: {item}" for item in items]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="the fault seeds' base (default 1)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    figures = campaign(seed=args.seed)
    print(json.dumps(asdict(figures), indent=2) if args.json else render(figures), end="\n" if args.json else "")
    clean = not (figures.foreign_writes or figures.ownership_mismatches or figures.preview_failures
                 or figures.drift_failures or figures.unconverged)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
