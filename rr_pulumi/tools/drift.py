"""Drift check for scheduled jobs: does the RequestRocket account still match the code?

Two sources, because the engine sees only what the stack manages:

1. `pulumi preview --refresh --json`: every managed object is read back, and each step the engine would take is a
   difference: an update or replace (a field changed out of band, with its property paths), a create of an object
   the stack had (deleted out of band), an update of a credential that changes nothing but its secret although the
   code did not change the secret (rotated out of band: see `secret_rotated`).
2. The API: the rules of every managed credential, target and proxy, and the credentials (temporary ones too),
   targets and proxies of every managed client, are listed (with the connection profile of the resource that manages
   the parent). An object there that no resource of the stack manages is listed as *not managed by this stack*:
   in an account shared by several stacks, people and jobs it may well be another owner's (a rule another stack put
   on our proxy, a target a team added to a shared client), and nothing can tell whose. So it is information, not
   drift, unless `--fail-on-unmanaged` says this stack owns everything under its parents.

What this stack manages is what its state holds and did not look up (`stack_claims.is_managed`): a lookup
(`Proxy.get`, a read resource, `external` in the state) is a reference, neither drift of ours nor a parent whose
children we list.

Exit codes: 0 no drift, 1 drift, 2 could not check (any reason: no engine, no project or stack, unreadable config,
rejected token, unreachable API), always with a one-line reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from rr_pulumi.api import config as rr_config
from rr_pulumi.schema import kinds
from rr_pulumi.provider.stack_claims import is_managed
from rr_pulumi.api.errors import RequestRocketError

NO_DRIFT, DRIFT, CANNOT_CHECK = 0, 1, 2

FIX = "pulumi up --refresh"
"""What makes the account match the code again. A plain `pulumi up` compares the code with the state recorded at
the last `up`, not with the account, so it sees nothing to do."""

REPLACE_OPS = {"replace", "create-replacement", "delete-replaced"}
ACTIVATION = "ProxyActivation"  # rr_pulumi.rollout: switches a new proxy on once every rule exists
SECRET = "[secret]"
UNKNOWN = "[unknown until `pulumi up`]"
UNNAMED = "but the provider names no changed property (`pulumi preview --refresh --diff` shows the engine's plan)"
PROFILE_INPUT = "profile"
ROTATION_INPUT = "credential_secret_rotation"  # the provider's count of secret changes made in the code
SECRET_INPUT = "credential_secret"

# Kinds of difference, as the report names them.
FIELD_CHANGED = "field changed"
DELETED = "deleted out of band"
UNMANAGED = "unmanaged object added"
SECRET_ROTATED = "secret rotated out of band"
NOT_CREATED = "declared, not in the account"
NOT_DECLARED = "managed, no longer declared"


class CheckFailed(RequestRocketError):
    """The drift check could not run; the message is the one-line reason, `stack` the stack's name when known."""

    def __init__(self, reason: str, stack: Optional[str] = None) -> None:
        super().__init__(reason)
        self.stack = stack


@dataclass
class PropertyChange:
    path: str  # "header_checks[0].value_pattern"
    live: Any  # what the account holds ("[secret]" for a secret)
    declared: Any  # what the code declares


@dataclass
class Difference:
    kind: str
    resource: str  # "Target upstream"
    detail: str
    urn: Optional[str] = None  # the managed resource (for an unmanaged object: the managed parent)
    id: Optional[str] = None  # the object's id in the account
    changes: list[PropertyChange] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return [c.path for c in self.changes]


@dataclass
class Report:
    stack: str
    differences: list[Difference]
    not_managed: list[Difference] = field(default_factory=list)  # objects under our parents that are not ours


# ---------------------------------------------------------------------------------------------------------------
# Decisions (pure)


def _kind_and_name(urn: str) -> tuple[str, str]:
    """`("Proxy", "weather")`: the short type (a child's own type is the last of the URN's) and the name."""
    type_, name = urn.split("::")[-2:]
    return type_.rsplit("$", 1)[-1].rsplit(":", 1)[-1], name


def _word(kind: str) -> str:
    """The kind in the user's words: `proxy`, `proxy activation`."""
    known = kinds.by_name(kind)
    return known.word if known else re.sub(r"(?<=[a-z])(?=[A-Z])", " ", kind).lower()


def _value(value: Any) -> Any:
    """A value fit for the report: Pulumi already shows secrets as `[secret]`; unknowns get a word."""
    from rr_pulumi.schema import contains_unknown

    return UNKNOWN if contains_unknown(value) else value


def _shown(value: Any) -> str:
    if value in (SECRET, UNKNOWN):
        return str(value)
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def property_paths(old: Any, new: Any, path: str) -> list[PropertyChange]:
    """Every leaf that differs, e.g. `header_checks[0].value_pattern`."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [c for key in sorted(set(old) | set(new)) for c in property_paths(old.get(key), new.get(key),
                                                                                  f"{path}.{key}")]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        pairs = enumerate(zip(old, new, strict=True))
        return [c for i, (a, b) in pairs for c in property_paths(a, b, f"{path}[{i}]")]
    return [] if old == new else [PropertyChange(path, _value(old), _value(new))]


def field_changes(kind_name: str, live: dict[str, Any], declared: dict[str, Any]) -> list[PropertyChange]:
    """The non-secret properties where the live object and the code disagree, as the provider's diff decides."""
    from rr_pulumi.schema.plan import plan_diff, user_props
    from rr_pulumi.schema import fields, normalize, schema_of

    kind = kinds.by_name(kind_name)
    if kind is None:
        return []
    schema = schema_of(kind)
    specs = fields(schema)
    live, declared = user_props(live), user_props(declared)
    plan = plan_diff(schema, live, declared)
    old_n, new_n = normalize(schema, live), normalize(schema, declared)
    out: list[PropertyChange] = []
    for name in plan.changes:
        if specs[name].secret:
            continue
        old, new = old_n.get(name), new_n.get(name)
        out += property_paths(old, new, name) or [PropertyChange(name, _value(old), _value(new))]
    return out


def profile_change(before_refresh_inputs: dict[str, Any], declared: dict[str, Any]) -> list[PropertyChange]:
    """A connection profile changed in the code: the object moves to another account (a replacement)."""
    was, wants = before_refresh_inputs.get(PROFILE_INPUT), declared.get(PROFILE_INPUT)
    return [] if was == wants else [PropertyChange(PROFILE_INPUT, was, wants)]


def secret_changed_in_code(before_refresh_inputs: dict[str, Any], declared: dict[str, Any]) -> bool:
    """Did the code change the credential's secret? The provider counts those changes in a plain input."""
    return before_refresh_inputs.get(ROTATION_INPUT) != declared.get(ROTATION_INPUT)


def secret_rotated(kind_name: str, refreshed_outputs: dict[str, Any], changes: list[PropertyChange],
                   secret_changed: bool) -> bool:
    """Was the credential's secret rotated out of band (the provider's `stale:` marker after refresh)?

    The marker lives in `credential_secret_hash`, a secret output that Pulumi's JSON always shows as `[secret]`;
    the provider sets it only when nothing but the secret changed, and then plans an update for it alone. So an
    update of a credential with no field changed, whose secret the code did not change, is that marker.
    """
    if kind_name != kinds.CREDENTIAL.name:
        return False
    marker = refreshed_outputs.get(f"{SECRET_INPUT}_hash")
    if isinstance(marker, str) and marker.startswith("stale:"):
        return True
    return not changes and not secret_changed


def differences_from_preview(preview: dict[str, Any]) -> list[Difference]:
    """The differences a `pulumi preview --refresh --json` document shows."""
    steps = [s for s in preview.get("steps") or [] if kinds.TYPE_TOKEN_PREFIX in s.get("urn", "")]
    before_refresh = {s["urn"]: s.get("oldState") or {} for s in steps if s.get("op") == "refresh"}
    diffs: list[Difference] = []
    seen: set[str] = set()
    for step in steps:
        op, urn = step.get("op"), step["urn"]
        if op in ("refresh", "same", "read") or urn in seen:
            continue
        kind, name = _kind_and_name(urn)
        label = f"{kind} {name}"
        old, new = step.get("oldState") or {}, step.get("newState") or {}
        if op == "create":
            seen.add(urn)
            gone = before_refresh.get(urn, {}).get("id")
            if gone:
                diffs.append(Difference(DELETED, label, f"{_word(kind)} {gone} no longer exists; `{FIX}` "
                                        "creates it again", urn, gone))
            else:
                diffs.append(Difference(NOT_CREATED, label, "declared in the code but not created yet", urn))
            continue
        if op == "delete":
            seen.add(urn)
            diffs.append(Difference(NOT_DECLARED, label, f"{_word(kind)} {old.get('id')} is in the stack but no "
                                    f"longer in the code; `{FIX}` deletes it", urn, old.get("id")))
            continue
        if op in REPLACE_OPS and not (old and new):
            continue  # the other steps of the replacement carry both states
        if op != "update" and op not in REPLACE_OPS:
            continue
        seen.add(urn)
        diffs += _update_differences(step, before_refresh.get(urn, {}), kind, label)
    return diffs


def _update_differences(step: dict[str, Any], before: dict[str, Any], kind: str, label: str) -> list[Difference]:
    """The differences behind one planned update or replacement."""
    op, urn = step["op"], step["urn"]
    old, new = step.get("oldState") or {}, step.get("newState") or {}
    id_ = old.get("id")
    live_outs, declared = old.get("outputs") or {}, new.get("inputs") or {}
    how = "replaces it" if op in REPLACE_OPS else "updates it in place"
    if kind == ACTIVATION:
        from rr_pulumi.provider.activation import WATCHED

        changes = named_changes(step, live_outs, declared, WATCHED)
        return [Difference(FIELD_CHANGED, label, activation_detail(changes, declared, how), urn, id_, changes)]
    changes = field_changes(kind, live_outs, declared) + profile_change(before.get("inputs") or {}, declared)
    if not changes and kind != kinds.CREDENTIAL.name:
        changes = named_changes(step, live_outs, declared)
    diffs = [Difference(FIELD_CHANGED, label, f"{_change(c)} (`{FIX}` {how})", urn, id_, [c]) for c in changes]
    if kind == kinds.CREDENTIAL.name:
        in_code = secret_changed_in_code(before.get("inputs") or {}, declared)
        secret = PropertyChange(SECRET_INPUT, SECRET, SECRET)
        if secret_rotated(kind, live_outs, changes, in_code):
            diffs.append(Difference(SECRET_ROTATED, label, f"its secret was changed outside Pulumi "
                                    f"(updated at {live_outs.get('credential_updated_at')}); `{FIX}` sends the "
                                    "declared secret again", urn, id_, [secret]))
        elif in_code:
            diffs.append(Difference(FIELD_CHANGED, label, f"credential_secret: {SECRET} changed in the code "
                                    f"(`{FIX}` rotates it in place)", urn, id_, [secret]))
    elif not changes:
        diffs.append(Difference(FIELD_CHANGED, label, f"`{FIX}` {how}, {UNNAMED}", urn, id_))
    return diffs


def _change(change: PropertyChange) -> str:
    return f"{change.path}: live {_shown(change.live)}, code {_shown(change.declared)}"


def named_changes(step: dict[str, Any], live: dict[str, Any], declared: dict[str, Any],
                  properties: tuple[str, ...] = ()) -> list[PropertyChange]:
    """The properties the engine names for a step (`replaceReasons`, `diffReasons`), else those of `properties`
    that differ (a dynamic provider names none for an update)."""
    keys = step.get("replaceReasons") or step.get("diffReasons") or properties
    return [c for key in keys for c in property_paths(live.get(key), declared.get(key), key)]


def activation_detail(changes: list[PropertyChange], declared: dict[str, Any], how: str) -> str:
    """What a planned step of a proxy's activation (rr_pulumi.rollout) means for the proxy."""
    by_path = {c.path: c for c in changes}
    if "proxy_id" in by_path:  # the proxy is replaced; its new activation runs once every rule exists
        change = by_path["proxy_id"]
        activates = ("switches the new proxy on once its rules exist" if declared.get("active") is not False
                     else "keeps the new proxy off, as declared")
        if change.declared == UNKNOWN:
            return (f"{_change(change)}: its proxy is replaced (see the proxy's line); `{FIX}` replaces this "
                    f"activation too, which {activates}")
        return (f"{_change(change)}: an unfinished `pulumi up` replaced proxy {change.live} with {change.declared} "
                f"but stopped before this activation, which {activates}; `{FIX}` finishes it")
    if list(by_path) == ["active"]:
        live_on = by_path["active"].live is not False
        return (f"{_change(by_path['active'])}: proxy {declared.get('proxy_id')} is switched "
                f"{'on' if live_on else 'off'} in the account; `{FIX}` switches it {'off' if live_on else 'on'}")
    if changes:
        return "; ".join(map(_change, changes)) + f" (`{FIX}` {how})"
    return f"`{FIX}` {how}, {UNNAMED}"


@dataclass(frozen=True)
class ManagedObject:
    name: str  # the resource name
    urn: str
    client_id: str
    profile: Optional[str]  # the connection profile of the resource, None for the stack's own settings


@dataclass
class Managed:
    """What the stack manages: kind name -> id -> object; parent id -> ids of its managed rules."""

    by_kind: dict[str, dict[str, ManagedObject]] = field(default_factory=dict)
    rules_by_parent: dict[str, set[str]] = field(default_factory=dict)


def managed_from_preview(preview: dict[str, Any]) -> Managed:
    managed = Managed()
    for step in preview.get("steps") or []:
        state = step.get("oldState") or {}
        if step.get("op") != "refresh" or not is_managed({"urn": step.get("urn"), **state}):
            continue
        kind, name = _kind_and_name(step["urn"])
        outs, inputs = state.get("outputs") or {}, state.get("inputs") or {}
        client_id = state["id"] if kind == kinds.CLIENT.name else str(outs.get("client_id", ""))
        profile = inputs.get(PROFILE_INPUT) or None
        managed.by_kind.setdefault(kind, {})[state["id"]] = ManagedObject(name, step["urn"], client_id, profile)
        if kind == kinds.RULE.name:
            parent = next((outs[k.rule_parent_argument] for k in kinds.RULE_PARENTS
                           if k.rule_parent_argument and outs.get(k.rule_parent_argument)), None)
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


Lister = Callable[[str, Optional[str]], Optional[list[dict[str, Any]]]]


def unmanaged_objects(managed: Managed, list_items: Lister) -> list[Difference]:
    """Objects under a managed parent that no resource of the stack manages.

    `list_items(path, profile)` returns every item of a collection (read with the connection profile of the
    parent's resource), or None when the collection's parent is gone.
    """
    from rr_pulumi.api.client import collection, item_id, rules_collection

    diffs = []
    for client_id, client in sorted(managed.by_kind.get(kinds.CLIENT.name, {}).items()):
        for kind in kinds.CLIENT_CHILDREN:
            mine = managed.by_kind.get(kind.name, {})
            for item in list_items(collection(client_id, kind.plural), client.profile) or []:
                id_ = item_id(item, kind.plural)
                if id_ and id_ not in mine:
                    name = item.get(kind.name_wire or "") or "?"
                    diffs.append(Difference(UNMANAGED, f"Client {client.name}", f"{kind.word} {id_} ({name!r}) is in "
                                            f"client {client_id} but in no resource of this stack", client.urn, id_))
    for kind in kinds.RULE_PARENTS:
        for parent_id, parent in sorted(managed.by_kind.get(kind.name, {}).items()):
            rules_of_parent = managed.rules_by_parent.get(parent_id, set())
            for item in list_items(rules_collection(parent.client_id, kind.plural, parent_id), parent.profile) or []:
                id_ = item_id(item, kinds.RULE.plural)
                if id_ and id_ not in rules_of_parent:
                    diffs.append(Difference(UNMANAGED, f"{kind.name} {parent.name}",
                                            f"rule {id_} ({_describe_rule(item)}) is on {kind.word} {parent_id} "
                                            "but in no resource of this stack", parent.urn, id_))
    return diffs


# ---------------------------------------------------------------------------------------------------------------
# Report


def _lines(diffs: list[Difference]) -> list[str]:
    lines = []
    for d in diffs:
        own_id = d.id and d.kind != UNMANAGED  # an unmanaged object's id is in the detail, not its parent's
        lines += [f"  [{d.kind}] {d.resource}" + (f" ({d.id})" if own_id else ""), f"      {d.detail}"]
    return lines


def render(report: Report) -> str:
    stack, diffs, others = report.stack, report.differences, report.not_managed
    if not diffs:
        lines = [f"No drift: stack {stack!r} matches the RequestRocket account."]
    else:
        lines = [f"DRIFT in stack {stack!r}: {len(diffs)} difference{'s' * (len(diffs) != 1)} between the code and "
                 "the RequestRocket account", "", *_lines(diffs), "",
                 f"`{FIX}` makes the account match the code again (a plain `pulumi up` does not: it compares the "
                 "code with the last recorded state)"
                 + ("; unmanaged objects must be deleted through the API or adopted into the code (adopt_id=...)."
                    if any(d.kind == UNMANAGED for d in diffs) else ".")]
    if others:
        lines += ["", f"Not managed by this stack, and not counted as drift: {len(others)} object"
                  f"{'s' * (len(others) != 1)} under its parents that another stack, person or job may own "
                  "(`--fail-on-unmanaged` counts them as drift)", "", *_lines(others)]
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> str:
    return json.dumps({
        "stack": report.stack,
        "drift": bool(report.differences),
        "fix": FIX if report.differences else None,
        "differences": [{**asdict(d), "paths": d.paths} for d in report.differences],
        "not_managed": [{**asdict(d), "paths": d.paths} for d in report.not_managed],
    }, indent=2, default=str) + "\n"  # fmt: skip


def render_error(reason: str, stack: Optional[str], as_json: bool) -> str:
    if as_json:
        return json.dumps({"stack": stack, "drift": None, "error": reason}, indent=2) + "\n"
    return f"COULD NOT CHECK for drift: {reason}\n"


def one_line(exc: BaseException) -> str:
    """The reason of a failure in one line (never a traceback)."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(exc, RequestRocketError):
        return first or type(exc).__name__
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


# ---------------------------------------------------------------------------------------------------------------
# I/O: the pulumi CLI and the API


def overrides_env(api_url: Optional[str] = None, token: Optional[str] = None) -> dict[str, str]:
    """--api-url / --token as the environment of the `pulumi` children: there they replace the stack's own settings
    (not those of a named profile) for the provider of the preview as for the listing, and the token is never on a
    command line or in a file."""
    env = {rr_config.OVERRIDE_API_URL_ENV: api_url, rr_config.OVERRIDE_TOKEN_ENV: token}
    return {k: v for k, v in env.items() if v}


def api_lister(settings_for: Callable[[Optional[str]], rr_config.Settings]) -> Lister:
    from rr_pulumi.api.client import listing_params
    from rr_pulumi.api.errors import NotFound
    from rr_pulumi.tools.pulumi_cli import api_client

    clients: dict[Optional[str], Any] = {}  # one client (and rate budget) per profile

    def list_items(path: str, profile: Optional[str]) -> Optional[list[dict[str, Any]]]:
        if profile not in clients:
            clients[profile] = api_client(settings_for(profile))
        try:
            return clients[profile].list(path, listing_params(path))  # temporary credentials exist all the same
        except NotFound:
            return None  # the parent is gone: already reported as deleted out of band

    return list_items


def check(cwd: Path, stack: Optional[str] = None, api_url: Optional[str] = None,
          token: Optional[str] = None, fail_on_unmanaged: bool = False) -> Report:
    """Every difference between the stack's code and the account; raises CheckFailed when it cannot tell.

    With `fail_on_unmanaged`, objects under the stack's parents that it does not manage count as drift."""
    from rr_pulumi.tools.pulumi_cli import Pulumi

    name = stack  # the real name once pulumi has said which stack is selected
    try:
        pulumi = Pulumi(Path(cwd), stack, env=overrides_env(api_url, token))
        name = pulumi.stack_name()
        pulumi.stack = name
        settings_for = pulumi.connection_settings
        settings_for(None)  # a malformed URL or rate limit fails here, before the long preview
        document = pulumi.json("preview", "--refresh", "--json")
        diffs = differences_from_preview(document)
        managed = managed_from_preview(document)
    except RequestRocketError as exc:
        raise CheckFailed(one_line(exc), name) from None
    try:
        others = unmanaged_objects(managed, api_lister(settings_for))
    except RequestRocketError as exc:
        raise CheckFailed(f"cannot list the account's objects: {one_line(exc)}", name) from None
    return Report(name, diffs + others, []) if fail_on_unmanaged else Report(name, diffs, others)
