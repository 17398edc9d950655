"""`rr-pulumi inventory`: who manages each object of a RequestRocket account, across every stack of the backend.

Drift checks one stack at a time; an account is shared by many stacks of many projects. The inventory reads

1. every stack of the backend (`pulumi stack ls --all --json`, then `pulumi stack export --stack ORG/PROJECT/STACK`
   for each: read-only commands that take no lock and need no passphrase, since ids are not secret and the export
   is not decrypted), and the ids each stack manages (`stack_claims.managed_ids`);
2. every object the token sees: each client, its credentials (temporary ones included), targets and proxies, and
   the rules of each of them;

and reports each object with the stack(s) that manage it. Two findings: an object no stack manages, and an object
that two or more stacks claim (the second one will overwrite, replace or delete what the first one owns).

A stack "manages" an object when the object's id is the id of one of the stack's rr-pulumi resources that the
stack created or adopted; a lookup (`Client.get(...)`, recorded with `external: true`) is a reference to an object
someone else manages, and claims nothing. Which stacks manage this account follows from the ids, which are unique:
a stack of another account names no object here. Each stack's recorded API URLs (the `requestrocket:apiUrl` and
profiles its provider was configured with, plain text in the state) are shown beside it; the ids a stack on this
API names that the account does not hold are a note, not a finding, because without the stack's secrets (its token)
the inventory cannot tell another user's stack on the same API from one whose objects were deleted out of band.

Exit codes, as drift: 0 every object has exactly one manager, 1 findings, 2 could not check (one line).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from rr_pulumi.api import config as rr_config
from rr_pulumi.schema import kinds
from rr_pulumi.api.errors import RequestRocketError
from rr_pulumi.provider.stack_claims import is_lookup, kind_of, managed_ids
from rr_pulumi.provider.stack_claims import stack_names as names_listed

CLEAN, FINDINGS, CANNOT_CHECK = 0, 1, 2

UNMANAGED = "managed by no stack"
CLAIMED_TWICE = "claimed by several stacks"


class InventoryFailed(RequestRocketError):
    """The inventory could not be taken; the message is the one-line reason."""


@dataclass(frozen=True)
class Claim:
    stack: str  # "organization/payments/prod": the stack's fully qualified name
    urn: str  # the resource that manages the object


@dataclass
class AccountObject:
    kind: str  # "Target"
    id: str
    name: Optional[str]  # the object's name in its client (None for rules, which have none)
    client_id: str
    parent_id: Optional[str] = None  # a rule's credential, target or proxy
    managed_by: list[Claim] = field(default_factory=list)


@dataclass
class StackSummary:
    stack: str
    claims: int = 0  # managed ids that name an object of this account
    not_in_account: list[str] = field(default_factory=list)  # managed ids the account does not hold
    lookups: int = 0  # read (`.get`) resources: references, no claim
    api_urls: list[str] = field(default_factory=list)  # the API URLs its provider was configured with (if recorded)


@dataclass
class StackState:
    """What the inventory reads from one stack's exported state."""

    managed: dict[str, str]  # id -> urn (`managed_ids`)
    lookups: int
    api_urls: list[str]


@dataclass
class Finding:
    kind: str  # UNMANAGED | CLAIMED_TWICE
    object: AccountObject


@dataclass
class Inventory:
    api_url: str
    stacks: list[StackSummary]
    objects: list[AccountObject]

    @property
    def findings(self) -> list[Finding]:
        found = []
        for obj in self.objects:
            if not obj.managed_by:
                found.append(Finding(UNMANAGED, obj))
            elif len({c.stack for c in obj.managed_by}) > 1:
                found.append(Finding(CLAIMED_TWICE, obj))
        return found


# ---------------------------------------------------------------------------------------------------------------
# Decisions (pure)


def lookup_count(deployment: dict[str, Any]) -> int:
    return sum(1 for r in deployment.get("resources") or []
               if kind_of(r) is not None and is_lookup(r))


def recorded_api_urls(deployment: dict[str, Any]) -> list[str]:
    """The API URLs a stack's providers were configured with (`requestrocket:apiUrl`, and each profile's `apiUrl`),
    as the engine records provider inputs in the state: plain text, no secret read. Empty when the URL came from the
    environment (REQUESTROCKET_API_URL), which the state does not record; a profile's is missing when the profiles
    hold a secret token (Pulumi then records the whole `profiles` value encrypted)."""
    from rr_pulumi.api.config import API_URL_KEY, PROFILES_KEY

    found: set[str] = set()
    for resource in deployment.get("resources") or []:
        if not str(resource.get("type", "")).startswith("pulumi:providers:"):
            continue
        inputs = resource.get("inputs") or {}
        values = [inputs.get(API_URL_KEY)]
        profiles = inputs.get(PROFILES_KEY)
        if isinstance(profiles, str):  # a structured config value may be recorded as its JSON text
            try:
                profiles = json.loads(profiles)
            except ValueError:
                profiles = None
        if isinstance(profiles, dict):
            values += [p.get("apiUrl") for p in profiles.values() if isinstance(p, dict)]
        found |= {v.rstrip("/") for v in values if isinstance(v, str) and v.strip()}
    return sorted(found)


def read_state(deployment: dict[str, Any]) -> StackState:
    return StackState(managed_ids(deployment), lookup_count(deployment), recorded_api_urls(deployment))


def attribute(objects: list[AccountObject], stacks: dict[str, dict[str, str]]) -> list[StackSummary]:
    """Record on each object the stacks that manage it (`stacks`: name -> managed_ids); one summary per stack."""
    by_id = {obj.id: obj for obj in objects}
    summaries = []
    for stack, ids in sorted(stacks.items()):
        summary = StackSummary(stack)
        for id_, urn in sorted(ids.items()):
            obj = by_id.get(id_)
            if obj is None:
                summary.not_in_account.append(id_)
            else:
                obj.managed_by.append(Claim(stack, urn))
                summary.claims += 1
        summaries.append(summary)
    return summaries


# ---------------------------------------------------------------------------------------------------------------
# Report


def _name(obj: AccountObject) -> str:
    """The name as data: quoted and escaped, so no name can forge a line of the report."""
    return json.dumps(obj.name, ensure_ascii=True) if obj.name is not None else "(rule)"


def _where(obj: AccountObject) -> str:
    if obj.kind == kinds.CLIENT.name:
        return ""
    return f" on {obj.parent_id}" if obj.parent_id else f" in client {obj.client_id}"


def render(inventory: Inventory) -> str:
    findings = inventory.findings
    managing = sum(1 for s in inventory.stacks if s.claims)
    lines = [f"Inventory of the RequestRocket account at {inventory.api_url}: {len(inventory.objects)} object"
             f"{'s' * (len(inventory.objects) != 1)}, {len(inventory.stacks)} stack"
             f"{'s' * (len(inventory.stacks) != 1)} read, {managing} managing objects here.", ""]
    for obj in inventory.objects:
        depth = "  " if obj.kind == kinds.CLIENT.name else "    " if obj.parent_id is None else "      "
        owners = ", ".join(sorted({c.stack for c in obj.managed_by})) or "-- no stack --"
        lines.append(f"{depth}{obj.kind.lower()} {obj.id} {_name(obj)}: {owners}")
    lines += ["", "Stacks:"]
    for summary in inventory.stacks:
        api = f", API {', '.join(summary.api_urls)}" if summary.api_urls else ""
        lines.append(f"  {summary.stack}: manages {summary.claims} object{'s' * (summary.claims != 1)} here, "
                     f"{summary.lookups} lookup{'s' * (summary.lookups != 1)}{api}")
    lines.append("")
    for summary in inventory.stacks:
        same_api = not summary.api_urls or inventory.api_url in summary.api_urls
        if summary.not_in_account and same_api:
            lines.append(f"  note: stack {summary.stack} manages {len(summary.not_in_account)} id(s) this account "
                         f"does not hold (another user's account, or deleted out of band: `rr-pulumi drift` tells)")
    if not findings:
        lines.append("Every object is managed by exactly one stack.")
        return "\n".join(lines) + "\n"
    lines.append(f"{len(findings)} finding{'s' * (len(findings) != 1)}:")
    for finding in findings:
        obj = finding.object
        head = f"  [{finding.kind}] {obj.kind.lower()} {obj.id} {_name(obj)}{_where(obj)}"
        if finding.kind == CLAIMED_TWICE:
            head += ": " + "; ".join(f"{c.stack} ({c.urn})" for c in obj.managed_by)
        lines.append(head)
    lines += ["", "An object no stack manages is adopted into one stack's code (adopt_id=...) or deleted through the "
              "API; an object claimed by several stacks must be left to one of them (`pulumi state delete URN` in the "
              "others: it forgets the object without touching it)."]
    return "\n".join(lines) + "\n"


def render_json(inventory: Inventory) -> str:
    findings = inventory.findings
    return json.dumps({
        "api_url": inventory.api_url,
        "clean": not findings,
        "stacks": [asdict(s) for s in inventory.stacks],
        "objects": [asdict(o) for o in inventory.objects],
        "unmanaged": [f.object.id for f in findings if f.kind == UNMANAGED],
        "claimed_by_several": [f.object.id for f in findings if f.kind == CLAIMED_TWICE],
    }, indent=2) + "\n"  # fmt: skip


def render_error(reason: str, as_json: bool) -> str:
    if as_json:
        return json.dumps({"clean": None, "error": reason}, indent=2) + "\n"
    return f"COULD NOT TAKE the inventory: {reason}\n"


# ---------------------------------------------------------------------------------------------------------------
# I/O: the API and the pulumi CLI

Lister = Callable[[str], list[dict[str, Any]]]


def account_objects(list_items: Lister) -> list[AccountObject]:
    """Every object the token sees, parents before children (`list_items(path)`: every item of a collection)."""
    from rr_pulumi.api.client import CLIENTS, collection, item_id, rules_collection

    found: list[AccountObject] = []
    for client in list_items(CLIENTS):
        client_id = item_id(client, kinds.CLIENT.plural)
        if not client_id:
            continue
        found.append(AccountObject(kinds.CLIENT.name, client_id, client.get(kinds.CLIENT.name_wire or ""), client_id))
        for kind in kinds.CLIENT_CHILDREN:
            for item in list_items(collection(client_id, kind.plural)):
                id_ = item_id(item, kind.plural)
                if not id_:
                    continue
                found.append(AccountObject(kind.name, id_, item.get(kind.name_wire or ""), client_id))
                if kind.rule_parent_argument:
                    for rule in list_items(rules_collection(client_id, kind.plural, id_)):
                        rule_id = item_id(rule, kinds.RULE.plural)
                        if rule_id:
                            found.append(AccountObject(kinds.RULE.name, rule_id, None, client_id, id_))
    return found


def api_lister(settings: rr_config.Settings) -> Lister:
    from rr_pulumi.api.client import listing_params
    from rr_pulumi.api.errors import NotFound
    from rr_pulumi.tools.pulumi_cli import api_client

    api = api_client(settings)

    def list_items(path: str) -> list[dict[str, Any]]:
        try:
            return api.list(path, listing_params(path))  # credentials: temporary ones too
        except NotFound:
            return []  # deleted while we read the account
    return list_items


def stack_names(pulumi: Any) -> list[str]:
    """Every stack of the backend, of every project, by its fully qualified name."""
    return sorted(names_listed(pulumi.json("stack", "ls", "--all", "--json", stack=False)))


def read_deployment(pulumi: Any, stack: str) -> dict[str, Any]:
    """A stack's last checkpoint, as `pulumi stack export` prints it: no lock, no write, secrets left encrypted.
    A stack that cannot be read fails the inventory (its claims are unknown), naming the stack."""
    from rr_pulumi.tools.pulumi_cli import PulumiFailed

    try:
        document = pulumi.json("stack", "export", "--stack", stack, stack=False)
    except PulumiFailed as exc:
        raise PulumiFailed(f"cannot read stack {stack}: {exc}") from None
    return (document.get("deployment") or {}) if isinstance(document, dict) else {}


def settings_for(cwd: Path, stack: Optional[str], api_url: Optional[str], token: Optional[str]) -> rr_config.Settings:
    """--api-url/--token, else the environment, else the connection settings of a stack of the project in `cwd`
    (--stack, or the selected one)."""
    from dataclasses import replace

    settings = rr_config.settings_from()
    if not (token or settings.token) or stack:
        if stack or (cwd / "Pulumi.yaml").exists() or (cwd / "Pulumi.yml").exists():
            from rr_pulumi.tools.pulumi_cli import Pulumi

            settings = Pulumi(cwd, stack).connection_settings()
    settings = replace(settings, api_url=(api_url or settings.api_url).rstrip("/"), token=token or settings.token)
    if not settings.token:
        raise rr_config.ConfigurationError(
            f"No RequestRocket API token is configured. Set the environment variable {rr_config.TOKEN_ENV} "
            "(or pass --token, or run in a project whose stack configures requestrocket:token).")
    return settings


def read_stacks(pulumi: Any, only: Iterable[str] = ()) -> dict[str, StackState]:
    """Every stack of the backend `pulumi` uses (or only those named), read-only: fully qualified name -> state.
    Drift can use it too, to tell objects other stacks manage from objects nobody manages."""
    return {name: read_state(read_deployment(pulumi, name)) for name in (list(only) or stack_names(pulumi))}


def take(cwd: Path, stack: Optional[str] = None, api_url: Optional[str] = None, token: Optional[str] = None,
         only: Iterable[str] = ()) -> Inventory:
    """The inventory of the account; raises InventoryFailed when it cannot be taken."""
    from rr_pulumi.tools.drift import one_line
    from rr_pulumi.tools.pulumi_cli import Pulumi

    try:
        settings = settings_for(Path(cwd), stack, api_url, token)
        stacks = read_stacks(Pulumi(Path(cwd)), only)
    except RequestRocketError as exc:
        raise InventoryFailed(one_line(exc)) from None
    try:
        objects = account_objects(api_lister(settings))
    except RequestRocketError as exc:
        raise InventoryFailed(f"cannot list the account's objects: {one_line(exc)}") from None
    summaries = attribute(objects, {name: state.managed for name, state in stacks.items()})
    for summary in summaries:
        summary.lookups, summary.api_urls = stacks[summary.stack].lookups, stacks[summary.stack].api_urls
    return Inventory(settings.api_url, summaries, objects)


def add_parser(commands: Any) -> None:
    sub = commands.add_parser("inventory", help="every object of the account and the stack that manages it; "
                              "exit 0 clean, 1 unmanaged or doubly claimed objects, 2 error")
    sub.add_argument("--cwd", default=".", help="where `pulumi` runs: a project folder of the backend (default: .)")
    sub.add_argument("--stack", action="append", default=[], metavar="ORG/PROJECT/STACK",
                     help="read only these stacks (repeatable; default: every stack of the backend)")
    sub.add_argument("--json", action="store_true", help="print one JSON object: the inventory, or the error")
    sub.add_argument("--api-url", help=f"Core API base URL (default: ${rr_config.API_URL_ENV}, else the selected "
                     "stack's config)")
    sub.add_argument("--token", help=f"user token (default: ${rr_config.TOKEN_ENV}, else the selected stack's config; "
                     "prefer those to this flag)")
    sub.set_defaults(run=run)


def run(args: Any) -> int:
    import sys

    try:
        inventory = take(Path(args.cwd), None, args.api_url, args.token, only=args.stack)
    except Exception as exc:  # noqa: BLE001 - exit 1 means "findings": anything unforeseen must be exit 2
        reason = str(exc) if isinstance(exc, InventoryFailed) else f"{type(exc).__name__}: {exc}"
        reason = (reason.strip().splitlines() or [type(exc).__name__])[0]
        if args.json:
            print(render_error(reason, as_json=True), end="")
        print(render_error(reason, as_json=False), end="", file=sys.stderr)
        return CANNOT_CHECK
    print(render_json(inventory) if args.json else render(inventory), end="")
    return FINDINGS if inventory.findings else CLEAN
