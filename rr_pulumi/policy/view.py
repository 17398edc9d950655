"""A resource as the policies see it: its kind, its properties as plain values, and what its properties refer to.

The policy SDK hands policies its own mapping type that raises on any unknown (preview) value it is asked for.
The policies here instead unwrap it once into plain dicts and lists that keep the unknown markers, so a check can
skip exactly the values not known yet and still judge the rest of the resource.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from pulumi_policy import PolicyResource, ResourceValidationArgs
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from rr_pulumi.schema import kinds
from rr_pulumi.schema import UNKNOWN

# A view's `kind` is the kind's name ("Proxy"), as in the type token; the facts about each kind live in
# rr_pulumi.schema.kinds.
CLIENT, CREDENTIAL, TARGET, PROXY, RULE = (k.name for k in (kinds.CLIENT, kinds.CREDENTIAL, kinds.TARGET, kinds.PROXY,
                                                              kinds.RULE))
PROVIDER_KEY = "__provider"

_UNKNOWNS = frozenset(
    {
        UNKNOWN,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)


def type_token(kind: str) -> str:
    return kinds.TYPE_TOKEN_PREFIX + kind


def kind_of(resource_type: str) -> Optional[str]:
    """`Proxy` for `pulumi-python:dynamic/requestrocket:Proxy`; None for any resource that is not rr-pulumi's."""
    kind = kinds.by_type_token(resource_type)
    return kind.name if kind else None


def is_unknown(value: Any) -> bool:
    """True when the value itself is not known yet (preview)."""
    return isinstance(value, str) and value in _UNKNOWNS


def has_unknown(value: Any) -> bool:
    """True when the value, or anything inside it, is not known yet."""
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknown(v) for v in value)
    return is_unknown(value)


def unwrapped(value: Any) -> Any:
    """Plain dicts and lists from the policy SDK's unknown-checking proxies; unknown markers are kept."""
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, Mapping):
        raw = value if isinstance(value, dict) else _target(value)
        return {k: unwrapped(v) for k, v in raw.items()}
    if isinstance(value, Sequence):
        raw = value if isinstance(value, (list, tuple)) else _target(value)
        return [unwrapped(v) for v in raw]
    return value


def _target(proxy: Any) -> Any:
    """What a policy SDK proxy (pulumi_policy.proxy) wraps: it answers `["__target"]`, outside its Sequence type."""
    return proxy["__target"]


@dataclass
class Resource:
    """One rr-pulumi resource of the stack (or of the step being validated)."""

    kind: str
    name: str
    urn: str
    props: dict[str, Any]
    # Property name -> URNs of the resources whose outputs flowed into it (stack validation only).
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How messages name the resource: its kind and its Pulumi resource name."""
        return f"{self.kind} {self.name!r}"

    def known(self, name: str, default: Any = None) -> Any:
        """A property's value; `default` when it is unset. Check `is_unknown` first where that matters."""
        value = self.props.get(name)
        return default if value is None else value


def _props(props: Any) -> dict[str, Any]:
    return {k: v for k, v in unwrapped(props).items() if k != PROVIDER_KEY}


def from_validation_args(args: ResourceValidationArgs) -> Optional[Resource]:
    """The resource being validated by a resource policy, or None when it is not an rr-pulumi resource."""
    kind = kind_of(args.resource_type)
    if kind is None:
        return None
    return Resource(kind, args.name, args.urn, _props(args.props))


def from_policy_resources(resources: list[PolicyResource]) -> list[Resource]:
    """The stack's rr-pulumi resources for a stack policy, with their property dependencies as URNs."""
    out = []
    for item in resources:
        kind = kind_of(item.resource_type)
        if kind is None:
            continue
        deps = {k: [d.urn for d in v] for k, v in (item.property_dependencies or {}).items()}
        out.append(Resource(kind, item.name, item.urn, _props(item.props), deps))
    return out


def number(value: Any) -> Any:
    """Numbers arrive from the engine as floats: show 600.0 as 600."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
