"""The decisions of every policy, as pure functions over `Resource` views and plain configuration values.

Each returns the violations it found as `(resource, message)` pairs; an empty list means compliant. A value not
known yet (preview) is never judged: the check skips it and judges it again at `up`, when it is known.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Optional, get_args
from urllib.parse import urlparse

from rr_pulumi.schema import kinds as registry
from rr_pulumi.schema import UNKNOWN, fields
from rr_pulumi.schema.common import HttpMethod
from rr_pulumi.schema.proxy import ProxySchema

from rr_pulumi.policy.view import CREDENTIAL, PROXY, RULE, TARGET, Resource, has_unknown, is_unknown, number

Violation = tuple[Resource, str]

ALL_METHODS = frozenset(get_args(HttpMethod))
# Paths a catch-all pattern matches; a pattern matching every one of them is treated as matching every path.
PROBE_PATHS = ("", "/", "/admin", "/v1/users/42", "/internal/.env", "/a/b/c?x=1")

NAME_FIELDS = {k.name: k.name_field for k in registry.KINDS if k.name_field}
REGION_FIELDS = {k.name: k.region_field for k in registry.KINDS if k.region_field}
# A proxy's parts: the property holding the id, and the kind of resource it names.
PROXY_PARTS = {ref.argument: ref.kind for ref in registry.PROXY.references}
# The rule argument naming its proxy (rules hang off proxies: kinds.RULE_PARENTS).
assert registry.PROXY.rule_parent_argument is not None
RULE_PROXY_ARGUMENT: str = registry.PROXY.rule_parent_argument
# What a rule matches and does; its parent and client do not matter to "does it allow everything".
RULE_SCOPE = ("effect", "methods", "path_pattern", "path_presence", "regex_flags", "header_checks", "query_checks",
              "body_checks", "token_checks")
# An unset default effect is the API's: allow.
DEFAULT_RULE_EFFECT = fields(ProxySchema)["proxy_default_rule_effect"].default or "allow"


def rate_limits(resource: Resource, max_per_minute: int, max_per_day: int) -> list[Violation]:
    """A proxy sets both rate limits, each at or below its ceiling."""
    if resource.kind != PROXY:
        return []
    found = []
    for prop, ceiling, unit in (
        ("proxy_max_requests_per_minute", max_per_minute, "minute"),
        ("proxy_max_requests_per_day", max_per_day, "day"),
    ):
        value, limit = resource.props.get(prop), f"{number(ceiling)} per {unit}"
        if is_unknown(value):
            continue
        if value is None:
            found.append((resource, f"{resource.label}: {prop} is not set; set it to at most {limit}"))
        elif value > ceiling:
            found.append((resource, f"{resource.label}: {prop} is {number(value)}, above the ceiling of {limit}"))
    return found


def https_only(resource: Resource, allowed_http_hosts: Iterable[str]) -> list[Violation]:
    """A target's base URL uses https, unless its host is one of the allowed exceptions (a local emulator)."""
    url = resource.props.get("target_base_url")
    if resource.kind != TARGET or url is None or is_unknown(url):
        return []
    parsed = urlparse(str(url))
    if parsed.scheme == "https":
        return []
    if parsed.scheme == "http" and (parsed.hostname or "") in {h.lower() for h in allowed_http_hosts}:
        return []
    allowed = ", ".join(allowed_http_hosts) or "none"
    reason = f"does not use https (http is allowed only for: {allowed})"
    return [(resource, f"{resource.label}: target_base_url {url!r} {reason}")]


def allowed_regions(resource: Resource, regions: Iterable[str]) -> list[Violation]:
    """Credentials, targets and proxies live only in the allowed regions."""
    prop = REGION_FIELDS.get(resource.kind)
    value = resource.props.get(prop) if prop else None
    regions = list(regions)
    if value is None or is_unknown(value) or value in regions:
        return []
    return [(resource, f"{resource.label}: {prop} {value!r} is not an allowed region; allowed: {', '.join(regions)}")]


def no_unauthenticated_targets(resource: Resource) -> list[Violation]:
    """No credential authenticates with auth type `none`."""
    auth = resource.props.get("credential_auth_type")
    if resource.kind != CREDENTIAL or auth != "none":
        return []
    return [
        (
            resource,
            f"{resource.label}: credential_auth_type is 'none', so the proxy calls its target unauthenticated; "
            "use apiKey, bearer, jwt, basicAuth, oauth2, customToken or custom",
        )
    ]


def naming(resource: Resource, pattern: str, kinds: Iterable[str]) -> list[Violation]:
    """The names of the listed kinds (client, credential, target, proxy) match the organisation's pattern."""
    prop = NAME_FIELDS.get(resource.kind) if resource.kind in kinds else None
    value = resource.props.get(prop) if prop else None
    if value is None or is_unknown(value) or re.fullmatch(pattern, str(value)):
        return []
    return [(resource, f"{resource.label}: {prop} {value!r} does not match the naming pattern {pattern}")]


def allows_everything(resource: Resource) -> list[Violation]:
    """A rule that allows every method on every path, with no header, query, body or token check, is flagged."""
    props = {k: resource.props.get(k) for k in RULE_SCOPE}
    if resource.kind != RULE or has_unknown(props):
        return []
    if props.get("effect") != "allow":
        return []
    methods = {str(m).upper() for m in props.get("methods") or []}
    if methods and not ALL_METHODS <= methods:
        return []
    if any(props.get(k) for k in ("header_checks", "query_checks", "body_checks", "token_checks")):
        return []
    if not _matches_every_path(props.get("path_pattern"), props.get("path_presence"), props.get("regex_flags")):
        return []
    return [
        (
            resource,
            f"{resource.label}: allows every method on every path; narrow it with methods, path_pattern or checks",
        )
    ]


def _matches_every_path(pattern: Optional[str], presence: Optional[str], flags: Optional[str]) -> bool:
    if not pattern:
        return True
    if presence == "absent":
        return False  # "path must not match": a restriction
    options = re.IGNORECASE if flags and "i" in flags else 0
    try:
        compiled = re.compile(pattern, options)
    except re.error:
        return False  # the provider rejects it anyway
    return all(compiled.search(path) for path in PROBE_PATHS)


# ------------------------------------------------------------------------------------------------------------------
# Across the stack


class Stack:
    """The stack's rr-pulumi resources, and what a property of one of them refers to."""

    def __init__(self, resources: list[Resource]):
        self.resources = resources
        self._by_urn = {r.urn: r for r in resources}

    def of_kind(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.kind == kind]

    def referenced(self, resource: Resource, prop: str, kind: str) -> Optional[Resource]:
        """The resource of `kind` whose id flowed into `prop`, found by the property's dependencies.

        Ids are unknown before a resource is created, so only dependencies link resources reliably in a preview;
        an id written as a literal (a resource outside the stack) refers to nothing here.
        """
        for urn in resource.property_dependencies.get(prop, []):
            found = self._by_urn.get(urn)
            if found is not None and found.kind == kind:
                return found
        return None


def shared_region(stack: Stack) -> list[Violation]:
    """A proxy's proxy credential, target and target credential are in the proxy's region."""
    found = []
    for proxy in stack.of_kind(PROXY):
        region = proxy.props.get("proxy_region")
        if region is None or is_unknown(region):
            continue
        for prop, kind in PROXY_PARTS.items():
            part = stack.referenced(proxy, prop, kind)
            if part is None:
                continue
            part_region = part.props.get(REGION_FIELDS[kind])
            if part_region is None or is_unknown(part_region) or part_region == region:
                continue
            found.append(
                (
                    proxy,
                    f"{proxy.label}: proxy_region is {region!r} but its {prop} refers to {part.label} "
                    f"in {part_region!r}",
                )
            )
    return found


def rules_of(stack: Stack, proxy: Resource) -> list[Resource]:
    """The stack's rules attached to the proxy."""
    return [rule for rule in stack.of_kind(RULE) if stack.referenced(rule, RULE_PROXY_ARGUMENT, PROXY) is proxy]


def deny_by_default(stack: Stack, require_default_deny: bool) -> list[Violation]:
    """A proxy whose default effect is allow has a deny rule; or, when configured, every proxy defaults to deny."""
    found = []
    for proxy in stack.of_kind(PROXY):
        effect = proxy.known("proxy_default_rule_effect", DEFAULT_RULE_EFFECT)
        if is_unknown(effect) or effect == "deny":
            continue
        if require_default_deny:
            found.append(
                (proxy, f"{proxy.label}: proxy_default_rule_effect is {effect!r}; this organisation requires 'deny'")
            )
            continue
        effects = [rule.props.get("effect") for rule in rules_of(stack, proxy)]
        if "deny" in effects or any(is_unknown(e) for e in effects):
            continue
        found.append(
            (
                proxy,
                f"{proxy.label}: proxy_default_rule_effect is {effect!r} and no rule with effect 'deny' is "
                "attached to it; add a deny rule (Rule(proxy_id=proxy.id, effect='deny', ...)) or default to 'deny'",
            )
        )
    return found



def _known_or_marker(value: Any) -> Any:
    """The value with the policy SDK's unknown markers replaced by the engine's one, which the rule lint reads."""
    if isinstance(value, dict):
        return {k: _known_or_marker(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_known_or_marker(v) for v in value]
    return UNKNOWN if is_unknown(value) else value


def rule_lint(stack: Stack) -> list[Violation]:
    """Rules that can never change a decision (`rr_pulumi.tools.rule_lint`: shadowed, duplicate, an allow on an
    object that allows by default, a pattern that matches nothing), on each object's rules; parents are found by
    dependency."""
    from rr_pulumi.tools import rule_lint as lint
    from rr_pulumi.tools import stack_rules

    views = [stack_rules.Resource(r.urn, r.kind, None, _known_or_marker(r.props), r.property_dependencies)
             for r in stack.resources]
    by_urn = {r.urn: r for r in stack.resources}
    names = {r.urn: r.name for r in stack.resources}
    return [(by_urn[f.rule], f.message) for f in lint.lint(stack_rules.parents(views), names) if f.rule in by_urn]
