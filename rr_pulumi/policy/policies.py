"""The guardrail policies: each one's name, description, default enforcement level and configuration, wired to
its decision in `checks`.

Every policy's level is configurable (`advisory`, `mandatory` or `disabled`) with `--policy-pack-config`; the
settings below are its configuration schema, whose defaults apply when the configuration leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from rr_pulumi.schema import kinds
from rr_pulumi.schema import common
from rr_pulumi.schema.proxy import MAX_REQUESTS_PER_DAY, MAX_REQUESTS_PER_MINUTE

from rr_pulumi.policy import checks
from rr_pulumi.policy.checks import Stack, Violation
from rr_pulumi.policy.view import from_policy_resources, from_validation_args

PACK_NAME = "rr-guardrails"
PACK_DESCRIPTION = "RequestRocket organisation guardrails for rr-pulumi stacks"

# RequestRocket's regions; an organisation narrows the list with `allowedRegions`.
DEFAULT_REGIONS = list(common.DEFAULT_REGIONS)
# Hosts a target may reach over plain http: the machine itself, where the Core API emulator and test upstreams run.
DEFAULT_HTTP_HOSTS = ["localhost", "127.0.0.1", "::1"]
DEFAULT_NAME_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
DEFAULT_NAMED_KINDS = [k.name for k in kinds.CLIENT_CHILDREN]

MANDATORY, ADVISORY = EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY


@dataclass(frozen=True)
class Guardrail:
    """One policy before it is handed to the SDK: what it checks and how it is configured."""

    name: str
    description: str
    level: EnforcementLevel
    settings: Mapping[str, dict[str, Any]]  # JSON schema of each configuration property, with its default
    check: Callable[..., list[Violation]]  # (Resource, config) for resource policies, (Stack, config) for stack
    across_stack: bool = False

    def config(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The policy's configuration: the given values over the schema's defaults."""
        defaults = {key: spec["default"] for key, spec in self.settings.items()}
        return {**defaults, **{k: v for k, v in given.items() if k in self.settings}}

    def to_policy(self) -> Policy:
        schema = PolicyConfigSchema(properties=dict(self.settings)) if self.settings else None
        if self.across_stack:
            return StackValidationPolicy(name=self.name, description=self.description, enforcement_level=self.level,
                                         config_schema=schema, validate=self._validate_stack)
        return ResourceValidationPolicy(name=self.name, description=self.description, enforcement_level=self.level,
                                        config_schema=schema, validate=self._validate_resource)

    def _validate_resource(self, args: ResourceValidationArgs, report: ReportViolation) -> None:
        resource = from_validation_args(args)  # None for resources that are not rr-pulumi's
        if resource is not None:
            _report(self.check(resource, self.config(args.get_config())), report)

    def _validate_stack(self, args: StackValidationArgs, report: ReportViolation) -> None:
        stack = Stack(from_policy_resources(args.resources))
        _report(self.check(stack, self.config(args.get_config())), report)


def _report(violations: list[Violation], report: ReportViolation) -> None:
    for resource, message in violations:
        report(message, resource.urn)


def _integer(maximum: int, what: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": maximum, "default": maximum, "description": what}


def _strings(default: list[str], what: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "default": default, "description": what}


GUARDRAILS = [
    Guardrail(
        name="proxy-rate-limits",
        description="Proxies set proxy_max_requests_per_minute and proxy_max_requests_per_day, at or below the "
        "organisation's ceilings.",
        level=MANDATORY,
        settings={
            "maxRequestsPerMinute": _integer(MAX_REQUESTS_PER_MINUTE, "Highest per-minute limit a proxy may set."),
            "maxRequestsPerDay": _integer(MAX_REQUESTS_PER_DAY, "Highest per-day limit a proxy may set."),
        },
        check=lambda r, c: checks.rate_limits(r, c["maxRequestsPerMinute"], c["maxRequestsPerDay"]),
    ),
    Guardrail(
        name="target-https",
        description="Targets use https base URLs; plain http only to the allowed hosts (a local emulator).",
        level=MANDATORY,
        settings={"allowedHttpHosts": _strings(DEFAULT_HTTP_HOSTS, "Hosts a target may reach over plain http.")},
        check=lambda r, c: checks.https_only(r, c["allowedHttpHosts"]),
    ),
    Guardrail(
        name="allowed-regions",
        description="Credentials, targets and proxies are only in the organisation's allowed regions.",
        level=MANDATORY,
        settings={"allowedRegions": _strings(DEFAULT_REGIONS, "Region codes resources may use.")},
        check=lambda r, c: checks.allowed_regions(r, c["allowedRegions"]),
    ),
    Guardrail(
        name="proxy-parts-share-region",
        description="A proxy's proxy credential, target and target credential are in the proxy's region.",
        level=MANDATORY,
        settings={},
        check=lambda s, c: checks.shared_region(s),
        across_stack=True,
    ),
    Guardrail(
        name="proxy-deny-rule",
        description="A proxy whose default rule effect is allow has at least one deny rule attached; with "
        "requireDefaultDeny, every proxy's default rule effect must be deny.",
        level=MANDATORY,
        settings={
            "requireDefaultDeny": {
                "type": "boolean",
                "default": False,
                "description": "Require proxy_default_rule_effect 'deny' instead of accepting allow plus a deny rule.",
            }
        },
        check=lambda s, c: checks.deny_by_default(s, c["requireDefaultDeny"]),
        across_stack=True,
    ),
    Guardrail(
        name="credential-auth-required",
        description="Credentials do not use auth type none: a proxy always authenticates to its target.",
        level=MANDATORY,
        settings={},
        check=lambda r, c: checks.no_unauthenticated_targets(r),
    ),
    Guardrail(
        name="resource-naming",
        description="Credential, target and proxy names (and client names, if listed) match the organisation's "
        "naming pattern.",
        level=ADVISORY,
        settings={
            "pattern": {
                "type": "string",
                "default": DEFAULT_NAME_PATTERN,
                "description": "Regular expression every name must match in full (default: lower-case kebab-case).",
            },
            "resources": {
                "type": "array",
                "items": {"type": "string", "enum": list(checks.NAME_FIELDS)},
                "default": DEFAULT_NAMED_KINDS,
                "description": "Kinds whose names are checked; clients are left out by default, their names are "
                "the organisation's display name.",
            },
        },
        check=lambda r, c: checks.naming(r, c["pattern"], c["resources"]),
    ),
    Guardrail(
        name="rule-allows-everything",
        description="Rules do not allow every method on every path without any header, query, body or token check.",
        level=ADVISORY,
        settings={},
        check=lambda r, c: checks.allows_everything(r),
    ),
    Guardrail(
        name="rule-lint",
        description="Every rule can change a decision: none is shadowed by a rule that wins wherever it matches, "
        "duplicates another, allows on an object whose default effect already allows, or has a pattern that "
        "matches nothing (see `rr-pulumi rules lint`).",
        level=ADVISORY,
        settings={},
        check=lambda s, c: checks.rule_lint(s),
        across_stack=True,
    ),
]


def policies() -> list[Policy]:
    return [guardrail.to_policy() for guardrail in GUARDRAILS]


def serve() -> None:
    """Run the pack as the engine's analyzer (what the pack folder's `__main__.py` does); blocks until killed."""
    from pulumi_policy import PolicyPack

    PolicyPack(name=PACK_NAME, description=PACK_DESCRIPTION, enforcement_level=MANDATORY, policies=policies())
