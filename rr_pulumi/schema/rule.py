"""Rule: attached to exactly one parent (credential, target or proxy).

`/api/clients/{clientId}/{credentials|targets|proxies}/{parentId}/rules` offers list, create and delete only, so
every field is immutable: any change replaces the rule.
"""

from __future__ import annotations

from typing import Any, ClassVar, Optional, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rr_pulumi.schema.wire import PARENTS, normalize_methods
from rr_pulumi.schema.model import Failure, KindFacts, SchemaModel, prop
from rr_pulumi.schema.common import HttpMethod, Presence, Regex, RuleEffect, client_id_prop, timestamp_prop

PRIORITY_MIN, PRIORITY_MAX = 0, 1000
REGEX_FLAGS = "imsx"  # the emulator compiles patterns with Python's re: i, m, s, x
CHECKS_MAX = 50
NOTES_MAX = 1000



class _Check(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, loc_by_alias=False, extra="ignore")


_VALUE_PATTERN = "Regex the value must match (any value when unset)."
_PRESENCE = "present or absent: whether a match must be there or must not be."


class NameCheck(_Check):
    """A header (or query parameter) check: name and value regexes, and whether it must be present or absent."""

    name_pattern: Regex = Field(alias="namePattern", description="Regex matched on the header (parameter) name.")
    value_pattern: Optional[Regex] = Field(None, alias="valuePattern", description=_VALUE_PATTERN)
    presence: Presence = Field("present", alias="presence", description=_PRESENCE)


class BodyCheck(_Check):
    """A JSON body check: a $-rooted JSONPath, a value regex, and whether it must be present or absent."""

    json_path: str = Field(
        alias="jsonPath", min_length=1, max_length=1000, description="JSONPath into the body, starting with '$'."
    )

    @field_validator("json_path")
    @classmethod
    def _rooted(cls, value: str) -> str:
        if not value.startswith("$"):
            raise ValueError(f"must be a JSONPath starting with '$' (got {value!r})")
        return value

    value_pattern: Optional[Regex] = Field(None, alias="valuePattern", description=_VALUE_PATTERN)
    presence: Presence = Field("present", alias="presence", description=_PRESENCE)


class TokenCheck(_Check):
    """A JWT claim check: the claim, a value regex, and whether it must be present or absent."""

    claim: str = Field(alias="claim", min_length=1, max_length=200, description="Name of the claim.")
    value_pattern: Optional[Regex] = Field(None, alias="valuePattern", description=_VALUE_PATTERN)
    presence: Presence = Field("present", alias="presence", description=_PRESENCE)


def _parent(kind: str) -> Any:
    """A parent the rule hangs off: a path field naming another kind (this makes that kind a rule parent)."""
    return prop(
        None,
        immutable=True,
        path=True,
        min_length=1,
        references=kind,
        description=f"Id of the parent {kind.lower()} (set exactly one parent).",
    )


class RuleSchema(SchemaModel):
    """An authorization rule on exactly one parent: `credential_id`, `target_id` or `proxy_id`. The API cannot
    update rules: any change replaces the rule."""

    kind_facts: ClassVar[KindFacts] = KindFacts(plural="rules", word="rule", hangs_off_parents=True)

    client_id: Optional[str] = client_id_prop("rule")
    credential_id: Optional[str] = _parent("Credential")
    target_id: Optional[str] = _parent("Target")
    proxy_id: Optional[str] = _parent("Proxy")
    effect: Optional[RuleEffect] = prop("effect", required=True, immutable=True, description="allow or deny.")
    priority: Optional[int] = prop(
        "priority",
        required=True,
        immutable=True,
        ge=PRIORITY_MIN,
        le=PRIORITY_MAX,
        description=f"{PRIORITY_MIN}-{PRIORITY_MAX}, higher evaluated first.",
    )
    methods: Optional[list[HttpMethod]] = prop(
        "methods",
        default_factory=list,
        immutable=True,
        description=f"HTTP methods matched ({', '.join(get_args(HttpMethod))}); empty matches all.",
    )
    path_pattern: Optional[Regex] = prop("pathPattern", immutable=True, description="Regex matched on the path.")
    path_presence: Optional[Presence] = prop(
        "pathPresence", immutable=True, description="present or absent: whether path_pattern must match."
    )
    header_checks: Optional[list[NameCheck]] = prop(
        "headerChecks", immutable=True, max_length=CHECKS_MAX, description="Header checks."
    )
    query_checks: Optional[list[NameCheck]] = prop(
        "queryChecks", immutable=True, max_length=CHECKS_MAX, description="Query checks."
    )
    body_checks: Optional[list[BodyCheck]] = prop(
        "bodyChecks", immutable=True, max_length=CHECKS_MAX, description="JSON body checks ($-rooted JSONPath)."
    )
    token_checks: Optional[list[TokenCheck]] = prop(
        "tokenChecks", immutable=True, max_length=CHECKS_MAX, description="JWT claim checks."
    )
    regex_flags: Optional[str] = prop(
        "regexFlags", immutable=True, description=f"Flags for every pattern, letters from {REGEX_FLAGS!r}."
    )
    notes: Optional[str] = prop("notes", immutable=True, max_length=NOTES_MAX, description="Free text.")
    rule_created_at: Optional[str] = timestamp_prop("ruleCreatedAt", "rule was created")
    rule_updated_at: Optional[str] = timestamp_prop("ruleUpdatedAt", "rule was last updated")


    @field_validator("methods", mode="before")
    @classmethod
    def _upper_methods(cls, value: Any) -> Any:
        return normalize_methods(value)

    @field_validator("regex_flags")
    @classmethod
    def _flags(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and (any(c not in REGEX_FLAGS for c in value) or len(set(value)) != len(value)):
            raise ValueError(f"must be distinct letters from {REGEX_FLAGS!r} (got {value!r})")
        return value

    @classmethod
    def cross_check(cls, values: dict[str, Any], unknown: frozenset[str] = frozenset()) -> list[Failure]:
        return parent_failures(set(unknown) | {k for k, v in values.items() if v is not None})


def parent_failures(given_names: set[str]) -> list[Failure]:
    """A rule needs exactly one parent; an unknown (preview) parent counts as set."""
    given = [name for name in PARENTS if name in given_names]
    if len(given) == 1:
        return []
    names = ", ".join(PARENTS)
    if not given:
        return [Failure("/".join(PARENTS), f"none is set; a rule needs exactly one parent: set one of {names}")]
    return [Failure(given[1], f"a rule needs exactly one parent, got {', '.join(given)}: set only one of {names}")]
