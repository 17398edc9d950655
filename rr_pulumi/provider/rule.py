"""Rule provider: `/api/clients/{clientId}/{credentials|targets|proxies}/{parentId}/rules`.

The API has no update for rules: every field is immutable in the schema, so any change is a replacement.
"""

from __future__ import annotations

from typing import Any

from rr_pulumi.schema import kinds
from rr_pulumi.api.client import rules_collection
from rr_pulumi.schema.plan import is_unset
from rr_pulumi.schema.wire import fields, normalize, parent_of, to_wire
from rr_pulumi.provider.base import SchemaProvider


def _comparable(wire: dict[str, Any]) -> dict[str, Any]:
    """A rule body in canonical form, empty values dropped, to compare a created rule with a listed one."""
    methods = normalize(kinds.RULE.schema_name, {"methods": wire.get("methods") or []})["methods"]
    return _strip({**wire, "methods": methods})


def _strip(value: Any) -> Any:
    """Drop empty values at every depth (the API may echo optional keys as null)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not is_unset(v)}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


class RuleProvider(SchemaProvider):
    kind = kinds.RULE
    updatable = False

    def collection(self, values: dict[str, Any]) -> str:
        segment, parent_id = parent_of(values)
        return rules_collection(values["client_id"], segment, parent_id)

    def natural_key(self, values: dict[str, Any], item: dict[str, Any]) -> bool:
        # Rules have no name: a rule is the same rule when every field matches.
        sent = _comparable(to_wire(self.schema, values))
        listed = _comparable({k: item.get(k) for k in sent.keys() | _rule_keys()})
        return sent == listed

    def natural_key_text(self, values: dict[str, Any]) -> str:
        return "the declared fields"

    def parent_text(self, values: dict[str, Any]) -> str:
        segment, parent_id = parent_of(values)
        parent = kinds.by_plural(segment)
        return f"{parent.word if parent else segment} {parent_id!r}"

    def adopt_conflicts(self, values: dict[str, Any], item: dict[str, Any]) -> list[str]:
        if self.natural_key(values, item):
            return []
        return ["its fields differ from the declaration, and rules cannot be updated"]

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        raise NotImplementedError("rules have no update in the Core API; every change replaces the rule")


def _rule_keys() -> set[str]:
    """The wire names of a rule's body fields."""
    schema = kinds.RULE.schema_name
    return set(to_wire(schema, {name: [] for name in fields(schema)}).keys())
