"""Drift check for scheduled jobs: does the RequestRocket account still match the code?

Two sources, because the engine sees only what the stack manages:

1. `pulumi preview --refresh --json`: every managed object is read back, and each step the engine would take is a
   difference: an update or replace (a field changed out of band, with its property path), a create of an object
   the stack had (deleted out of band), an update of a credential whose `credentialUpdatedAt` moved (its secret was
   rotated out of band; the API never returns secrets, so that timestamp is the only trace).
2. The API: the rules of every managed credential, target and proxy, and the credentials, targets and proxies of
   every managed client, are listed; an object no resource of the stack manages is an unmanaged addition.

Exit codes: 0 no drift, 1 drift, 2 could not check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

NO_DRIFT, DRIFT, CANNOT_CHECK = 0, 1, 2

TYPE_PREFIX = "pulumi-python:dynamic/requestrocket:"
RULE_PARENTS = {"Credential": "credentials", "Target": "targets", "Proxy": "proxies"}
CLIENT_CHILDREN = {"credentials": "Credential", "targets": "Target", "proxies": "Proxy"}
REPLACE_OPS = {"replace", "create-replacement", "delete-replaced"}

# Kinds of difference, as the report names them.
FIELD_CHANGED = "field changed"
DELETED = "deleted out of band"
UNMANAGED = "unmanaged object added"
SECRET_ROTATED = "secret rotated out of band"
NOT_CREATED = "declared, not in the account"
NOT_DECLARED = "managed, no longer declared"


class CheckFailed(Exception):
    """The drift check could not run (the preview failed, the API could not be listed)."""


@dataclass
class Difference:
    kind: str
    resource: str  # "Target upstream"
    detail: str
    paths: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------------
# Decisions (pure)


def _kind_and_name(urn: str) -> tuple[str, str]:
    type_, name = urn.split("::")[-2:]
    return type_.rsplit("$", 1)[-1].removeprefix(TYPE_PREFIX), name  # a component's child: its own type is last


def _shown(value: Any) -> str:
    from .schema import contains_unknown

    if contains_unknown(value):
        return "(known after `pulumi up`)"
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def property_paths(old: Any, new: Any, path: str) -> list[tuple[str, Any, Any]]:
    """(path, old, new) of every leaf that differs, e.g. `header_checks[0].value_pattern`."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += property_paths(old.get(key), new.get(key), f"{path}.{key}")
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new)):
            out += property_paths(a, b, f"{path}[{i}]")
        return out
    return [] if old == new else [(path, old, new)]


def _schema_of(kind: str) -> Any:
    from .schema import ClientSchema, CredentialSchema, ProxySchema, RuleSchema, TargetSchema

    return {"Client": ClientSchema, "Credential": CredentialSchema, "Target": TargetSchema, "Proxy": ProxySchema,
            "Rule": RuleSchema}.get(kind)  # fmt: skip


def field_changes(kind: str, live: dict[str, Any], declared: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """The properties where the live object and the code disagree, as the provider's diff decides (secrets aside)."""
    from .provider._base import plan_diff, user_props
    from .schema import fields, normalize

    schema = _schema_of(kind)
    if schema is None:
        return []
    specs = fields(schema)
    live, declared = user_props(live), user_props(declared)
    plan = plan_diff(schema, live, declared)
    old_n, new_n = normalize(schema, live), normalize(schema, declared)
    out = []
    for name in plan.changes:
        if specs[name].secret:
            continue
        out += property_paths(old_n.get(name), new_n.get(name), name) or [(name, old_n.get(name), new_n.get(name))]
    return out


def differences_from_preview(preview: dict[str, Any]) -> list[Difference]:
    """The differences a `pulumi preview --refresh --json` document shows."""
    steps = [s for s in preview.get("steps") or [] if TYPE_PREFIX in s.get("urn", "")]
    before_refresh = {s["urn"]: s.get("oldState") or {} for s in steps if s.get("op") == "refresh"}
    diffs: list[Difference] = []
    seen: set[str] = set()
    for step in steps:
        op, urn = step.get("op"), step["urn"]
        kind, name = _kind_and_name(urn)
        label = f"{kind} {name}"
        if op in ("refresh", "same", "read") or urn in seen:
            continue
        old, new = step.get("oldState") or {}, step.get("newState") or {}
        if op == "create":
            seen.add(urn)
            if urn in before_refresh:
                gone = before_refresh[urn].get("id", "?")
                diffs.append(Difference(DELETED, label, f"{kind.lower()} {gone} no longer exists; `pulumi up` "
                                        "creates it again"))
            else:
                diffs.append(Difference(NOT_CREATED, label, "declared in the code but not created yet"))
            continue
        if op == "delete":
            seen.add(urn)
            diffs.append(Difference(NOT_DECLARED, label, f"{kind.lower()} {old.get('id')} is in the stack but "
                                    "no longer in the code; `pulumi up` deletes it"))
            continue
        if op in REPLACE_OPS and not (old and new):
            continue  # the other steps of the replacement carry both states
        if op == "update" or op in REPLACE_OPS:
            seen.add(urn)
            live_outs = old.get("outputs") or {}
            changes = field_changes(kind, live_outs, new.get("inputs") or {})
            for path, was, wants in changes:
                how = "replaces it" if op in REPLACE_OPS else "updates it in place"
                diffs.append(Difference(FIELD_CHANGED, label, f"{path}: live {_shown(was)}, code {_shown(wants)} "
                                        f"(`pulumi up` {how})", [path]))
            if kind == "Credential":
                was = (before_refresh.get(urn, {}).get("outputs") or {}).get("credential_updated_at")
                now = live_outs.get("credential_updated_at")
                if was and now and was != now:
                    maybe = "its secret may have been rotated" if changes else "its secret was rotated"
                    diffs.append(Difference(SECRET_ROTATED, label, f"updated outside Pulumi at {now} (last known "
                                            f"{was}): {maybe}; `pulumi up` sends the declared secret again",
                                            ["credential_secret"]))
                elif not changes:
                    diffs.append(Difference(FIELD_CHANGED, label, "credential_secret: [secret] changed in the code "
                                            "(`pulumi up` rotates it in place)", ["credential_secret"]))
            elif not changes:
                diffs.append(Difference(FIELD_CHANGED, label, f"the engine plans an {op} (no property named)"))
    return diffs


@dataclass
class Managed:
    """What the stack manages, by kind: id -> (resource name, client id)."""

    by_kind: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    rules_by_parent: dict[str, set[str]] = field(default_factory=dict)


def managed_from_preview(preview: dict[str, Any]) -> Managed:
    managed = Managed()
    for step in preview.get("steps") or []:
        if step.get("op") != "refresh" or TYPE_PREFIX not in step.get("urn", ""):
            continue
        state = step.get("oldState") or {}
        kind, name = _kind_and_name(step["urn"])
        outs = state.get("outputs") or {}
        if not state.get("id"):
            continue
        client_id = state["id"] if kind == "Client" else outs.get("client_id", "")
        managed.by_kind.setdefault(kind, {})[state["id"]] = (name, client_id)
        if kind == "Rule":
            parent = next((outs[k] for k in ("credential_id", "target_id", "proxy_id") if outs.get(k)), None)
            if parent:
                managed.rules_by_parent.setdefault(parent, set()).add(state["id"])
    return managed


def _describe_rule(item: dict[str, Any]) -> str:
    parts = [f"{item.get('effect')} priority {item.get('priority')}"]
    if item.get("methods"):
        parts.append("methods " + ",".join(item["methods"]))
    if item.get("pathPattern"):
        parts.append(f"path {item['pathPattern']!r}")
    return ", ".join(parts)


def unmanaged_objects(managed: Managed, list_items: Callable[[str], Optional[list[dict[str, Any]]]]) -> list[Difference]:
    """Objects under a managed parent that no resource of the stack manages.

    `list_items(path)` returns every item of a collection, or None when the collection's parent is gone.
    """
    from .client import collection, item_id, rules_collection

    diffs = []
    for client_id, (client_name, _) in sorted(managed.by_kind.get("Client", {}).items()):
        for plural, kind in CLIENT_CHILDREN.items():
            mine = managed.by_kind.get(kind, {})
            for item in list_items(collection(client_id, plural)) or []:
                id_ = item_id(item, plural)
                if id_ and id_ not in mine:
                    name = item.get(f"{kind.lower()}Name") or item.get("proxyName") or "?"
                    diffs.append(Difference(UNMANAGED, f"Client {client_name}",
                                            f"{kind.lower()} {id_} ({name!r}) is in client {client_id} but in no "
                                            "resource of this stack"))
    for kind, plural in RULE_PARENTS.items():
        for parent_id, (parent_name, client_id) in sorted(managed.by_kind.get(kind, {}).items()):
            mine = managed.rules_by_parent.get(parent_id, set())
            for item in list_items(rules_collection(client_id, plural, parent_id)) or []:
                id_ = item_id(item, "rules")
                if id_ and id_ not in mine:
                    diffs.append(Difference(UNMANAGED, f"{kind} {parent_name}",
                                            f"rule {id_} ({_describe_rule(item)}) is on {kind.lower()} {parent_id} "
                                            "but in no resource of this stack"))
    return diffs


# ---------------------------------------------------------------------------------------------------------------
# Report


def render(stack: str, diffs: list[Difference]) -> str:
    if not diffs:
        return f"No drift: stack {stack!r} matches the RequestRocket account.\n"
    lines = [f"DRIFT in stack {stack!r}: {len(diffs)} difference{'s' * (len(diffs) != 1)} between the code and "
             "the RequestRocket account", ""]
    for d in diffs:
        lines += [f"  [{d.kind}] {d.resource}", f"      {d.detail}"]
    lines += ["", "`pulumi up` makes the account match the code again; unmanaged objects must be deleted through the "
              "API or adopted into the code (adopt_id=...)."]
    return "\n".join(lines) + "\n"


def render_json(stack: str, diffs: list[Difference]) -> str:
    return json.dumps({"stack": stack, "drift": bool(diffs), "differences": [asdict(d) for d in diffs]}, indent=2)


# ---------------------------------------------------------------------------------------------------------------
# I/O: the pulumi CLI and the API


def pulumi_command() -> str:
    """`pulumi` from PATH, else rr-pulumi's engine."""
    found = shutil.which("pulumi")
    if found:
        return found
    from .engine import ensure_engine

    return str(ensure_engine(verbose=False) / "pulumi")


def run_pulumi(args: list[str], cwd: Path, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run([pulumi_command(), *args, "--non-interactive", "--color", "never"], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def preview(cwd: Path, stack: Optional[str]) -> dict[str, Any]:
    args = ["preview", "--refresh", "--json", *(["--stack", stack] if stack else [])]
    proc = run_pulumi(args, cwd)
    if proc.returncode != 0:
        raise CheckFailed(f"`pulumi {' '.join(args)}` exited {proc.returncode}:\n{(proc.stderr + proc.stdout)[-3000:]}")
    try:
        return json.loads(proc.stdout)
    except ValueError as exc:
        raise CheckFailed(f"`pulumi {' '.join(args)}` printed no JSON document ({exc})") from None


def stack_settings(cwd: Path, stack: Optional[str]) -> dict[str, str]:
    """`requestrocket:apiUrl` and `requestrocket:token` from the stack configuration (decrypted)."""
    proc = run_pulumi(["config", "--show-secrets", "--json", *(["--stack", stack] if stack else [])], cwd, 300)
    if proc.returncode != 0:
        return {}
    try:
        config = json.loads(proc.stdout)
    except ValueError:
        return {}
    return {k: str(v.get("value")) for k, v in config.items() if isinstance(v, dict) and v.get("value") is not None}


def api_lister(api_url: str, token: str) -> Callable[[str], Optional[list[dict[str, Any]]]]:
    from .client import RequestRocketClient
    from .errors import NotFound

    client = RequestRocketClient(api_url, token)

    def list_items(path: str) -> Optional[list[dict[str, Any]]]:
        try:
            return client.list(path)
        except NotFound:
            return None  # the parent is gone: already reported as deleted out of band

    return list_items


def check(cwd: Path, stack: Optional[str] = None, api_url: Optional[str] = None,
          token: Optional[str] = None) -> list[Difference]:
    """Every difference between the stack's code and the account; raises CheckFailed when it cannot tell."""
    from . import config as rr_config
    from .errors import RequestRocketError

    document = preview(cwd, stack)
    diffs = differences_from_preview(document)
    managed = managed_from_preview(document)
    if not managed.by_kind:
        return diffs
    settings = stack_settings(cwd, stack)  # the provider's order: flags, then stack config, then environment
    api_url = api_url or settings.get(rr_config.API_URL_KEY) or os.environ.get(rr_config.API_URL_ENV)
    token = token or settings.get(rr_config.TOKEN_KEY) or os.environ.get(rr_config.TOKEN_ENV)
    if not token:
        raise CheckFailed(rr_config.MISSING_TOKEN)
    try:
        diffs += unmanaged_objects(managed, api_lister(api_url or rr_config.DEFAULT_API_URL, token))
    except RequestRocketError as exc:
        raise CheckFailed(f"cannot list the account's objects: {exc}") from None
    return diffs
