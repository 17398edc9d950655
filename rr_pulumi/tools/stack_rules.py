"""The rules of a stack as the data plane would judge with them: each proxy's four scopes, either as deployed (the
stack's state, `pulumi stack export`) or as the program now declares them (`pulumi preview --json`).

Objects are named by their Pulumi URN, not their RequestRocket id, so a rule keeps its identity across a
replacement (a rule whose pattern changes is a new object with a new id, but the same rule to a reviewer). A parent
is found by the property's dependencies first (a new proxy has no id at preview, its rules name it by URN), then by
id. A value Pulumi does not know yet at preview is never guessed: the rule (or scope) is marked unknown and every
request it could judge is reported as undetermined.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from rr_pulumi.schema.kinds import CREDENTIAL, PROXY, RULE, RULE_PARENTS, TARGET, by_name, by_type_token
from rr_pulumi.schema.rule_evaluation import Scope
from rr_pulumi.schema.wire import UNKNOWN, contains_unknown, fields, to_wire

PROVIDER_KEY = "__provider"  # a dynamic provider's pickled self among its inputs: not a property
# What a rule matches and does (its parent and client do not change what it matches).
MATCHING_FIELDS = ("effect", "priority", "methods", "path_pattern", "path_presence", "regex_flags", "header_checks",
                   "query_checks", "body_checks", "token_checks")
DEFAULT_EFFECT_FIELDS = {PROXY.name: "proxy_default_rule_effect", TARGET.name: "target_default_rule_effect"}
GONE_OPS = {"delete", "discard", "read-discard"}
# A lookup (`Kind.get`): its step's new state holds only what the program gave (`client_id`), not what was read.
READ_OPS = {"read", "read-replacement"}
# The old half of a replacement (shown with --show-replacement-steps): the new object already took its URN.
OLD_HALF_OPS = {"delete-replaced", "discard-replaced", "remove-pending-replace"}


def name_of(urn: str) -> str:
    return urn.rsplit("::", 1)[1]


@dataclass
class Resource:
    """One rr-pulumi resource: its URN, kind, id (None when not known yet), property values and dependencies."""

    urn: str
    kind: str
    id: Optional[str]
    values: dict[str, Any]
    dependencies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return name_of(self.urn)


@dataclass
class ProxyRules:
    """A proxy's four scopes. Rules are wire dicts whose `sKey` is the rule's URN; `unknown` lists, per scope
    object, why a value it depends on is not known yet."""

    urn: str
    proxy_id: Optional[str]
    scopes: list[Scope]
    unknown: dict[str, list[str]] = field(default_factory=dict)  # scope object key -> reasons

    @property
    def name(self) -> str:
        return name_of(self.urn)


def _resource(urn: str, type_: str, id_: Optional[str], values: dict[str, Any],
              dependencies: Optional[dict[str, list[str]]]) -> Optional[Resource]:
    kind = by_type_token(type_)
    if kind is None:
        return None
    known_id = id_ if id_ and id_ != UNKNOWN else None
    clean = {k: v for k, v in (values or {}).items() if k != PROVIDER_KEY}
    return Resource(urn, kind.name, known_id, clean, dict(dependencies or {}))


def deployed(state_resources: Iterable[dict[str, Any]]) -> list[Resource]:
    """The rr-pulumi resources of a checkpoint (`deployment.resources`), with their recorded outputs."""
    found = []
    for r in state_resources:
        if not r.get("id") or r.get("delete"):  # `delete`: an old copy waiting for deletion after a replacement
            continue
        resource = _resource(r["urn"], r.get("type", ""), r["id"], r.get("outputs") or {},
                             r.get("propertyDependencies"))
        if resource is not None:
            found.append(resource)
    return found


def planned(state_resources: Iterable[dict[str, Any]], preview: dict[str, Any]) -> list[Resource]:
    """What the stack holds once the previewed `up` is done: the state, with every previewed step applied.

    A step's new state carries the declared inputs (the outputs of a resource not created yet are unknown), so
    planned values are its inputs; a resource no step touches keeps its recorded outputs. A lookup's step carries
    only what the program gave, not what was read: a lookup recorded under the same id keeps its recorded outputs,
    a new one's values are unknown.
    """
    by_urn = {r.urn: r for r in deployed(state_resources)}
    for step in preview.get("steps") or []:
        urn, new = step.get("urn"), step.get("newState")
        if step.get("op") in GONE_OPS:
            by_urn.pop(urn, None)
            continue
        if not new or step.get("op") in OLD_HALF_OPS or step.get("op") in ("same", "refresh"):
            continue
        inputs = new.get("inputs") or {}
        if step.get("op") in READ_OPS:
            recorded = by_urn.get(new.get("urn", urn))
            if recorded is not None and recorded.id == new.get("id"):
                continue
            kind = by_type_token(new.get("type", ""))
            inputs = {**{name: UNKNOWN for name in fields(kind.schema_name)}, **inputs} if kind else inputs
        resource = _resource(new.get("urn", urn), new.get("type", ""), new.get("id"), inputs,
                             new.get("propertyDependencies"))
        if resource is not None:
            by_urn[resource.urn] = resource
    return list(by_urn.values())


def _reference(resource: Resource, prop: str, kind: str, by_urn: dict[str, Resource],
               by_id: dict[str, Resource]) -> tuple[Optional[str], Optional[str]]:
    """(the key of the object of `kind` a property names: its URN when in the stack, else `id:<id>`; a reason when
    it cannot be told). A dependency wins over the id: at preview a new object's id is unknown. Only a dependency
    of that kind counts: `target_id=gateway.target_id` depends on the proxy, but names its target."""
    for urn in resource.dependencies.get(prop) or []:
        if urn in by_urn and by_urn[urn].kind == kind:
            return urn, None
    value = resource.values.get(prop)
    if value == UNKNOWN:
        return None, f"{resource.kind} {resource.name}: {prop} is not known until `pulumi up`"
    if not value:
        return None, None
    found = by_id.get(str(value))
    return (found.urn if found else f"id:{value}"), None


def rule_wire(rule: Resource) -> dict[str, Any]:
    """A rule as the evaluation reads it (wire names), identified by its URN."""
    values = {k: v for k, v in rule.values.items() if k in MATCHING_FIELDS and v is not None}
    return {**to_wire(RULE.schema_name, values), "sKey": rule.urn}


def rules_by_parent(resources: list[Resource]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[str]]]:
    """Every rule as a wire dict, grouped by the key of its parent; and the reasons a parent's rules are unknown."""
    by_urn = {r.urn: r for r in resources}
    by_id = {r.id: r for r in resources if r.id}
    rules: dict[str, list[dict[str, Any]]] = {}
    unknown: dict[str, list[str]] = {}
    for rule in (r for r in resources if r.kind == RULE.name):
        parent, reason = None, None
        for kind in RULE_PARENTS:
            key, why = _reference(rule, kind.rule_parent_argument or "", kind.name, by_urn, by_id)
            parent, reason = parent or key, reason or why
        if parent is None:
            if reason:  # a rule that cannot be placed could judge any proxy's requests
                unknown.setdefault("*", []).append(reason)
            continue
        rules.setdefault(parent, []).append(rule_wire(rule))
        undecided = [k for k in MATCHING_FIELDS if contains_unknown(rule.values.get(k))]
        if undecided:
            unknown.setdefault(parent, []).append(
                f"Rule {rule.name}: {', '.join(undecided)} not known until `pulumi up`")
    return rules, unknown


def default_effect(resource: Optional[Resource]) -> str:
    """The default effect of a proxy's or target's rules (`allow` when unset, as the API does, and for credentials,
    which have none); UNKNOWN when it is not known until `up`."""
    prop = DEFAULT_EFFECT_FIELDS.get(resource.kind) if resource else None
    return (resource.values.get(prop) if resource and prop else None) or "allow"


def proxies(resources: list[Resource]) -> list[ProxyRules]:
    """Each proxy of the resources with its four scopes, in the data plane's order."""
    by_urn = {r.urn: r for r in resources}
    by_id = {r.id: r for r in resources if r.id}
    rules, unknown_rules = rules_by_parent(resources)
    found = []
    for proxy in (r for r in resources if r.kind == PROXY.name):
        unknown: dict[str, list[str]] = {}
        parts = []
        for scope, prop, kind in (("proxy credential", "proxy_credential_id", CREDENTIAL.name),
                                  ("target credential", "target_credential_id", CREDENTIAL.name),
                                  ("proxy", None, PROXY.name), ("target", "target_id", TARGET.name)):
            key, reason = (proxy.urn, None) if prop is None else _reference(proxy, prop, kind, by_urn, by_id)
            key = key or f"unknown:{scope}"
            part = by_urn.get(key) if scope in ("proxy", "target") else None  # credentials: always allow
            default = default_effect(part)
            why = f"the {scope}'s default effect is not known until `pulumi up`" if default == UNKNOWN else None
            reasons = [r for r in (reason, why) if r] + unknown_rules.get(key, []) + unknown_rules.get("*", [])
            if reasons:
                unknown[key] = reasons
            parts.append(Scope(scope, key, default, rules.get(key, []), name_of(key) if "::" in key else key))
        found.append(ProxyRules(proxy.urn, proxy.id, parts, unknown))
    return found


def parents(resources: list[Resource]) -> list[Scope]:
    """Every object that has rules (proxy, target or credential) as one scope, for checks of one object's rules.
    A default effect not known yet is UNKNOWN, and so is that of an object outside the stack (named by a literal
    id): another stack's proxy may well deny by default."""
    by_urn = {r.urn: r for r in resources}
    rules, _ = rules_by_parent(resources)
    found = []
    for key, wire_rules in rules.items():
        part = by_urn.get(key)
        kind = by_name(part.kind) if part else None
        found.append(Scope(kind.word if kind else "object", key, default_effect(part) if part else UNKNOWN,
                           wire_rules, name_of(key) if "::" in key else key))
    return found
