"""One pydantic schema per resource: the single source of argument names, wire names, bounds, allowed values,
and which fields are immutable, secret or set by the server. Validation, diff, wire mapping and docs read it.

The bottom layer: it imports nothing else of rr-pulumi. The plain field table (`wire`, `kinds`, `plan`) loads
without pydantic, so a read, a delete or an unchanged check never pays for it; the models load on first use.
"""

from typing import TYPE_CHECKING, Any

from rr_pulumi.schema.kinds import KINDS
from rr_pulumi.schema.wire import (
    PARENTS,
    UNKNOWN,
    Failure,
    FieldSpec,
    contains_unknown,
    fields,
    from_wire,
    input_fields,
    normalize,
    parent_of,
    secret_hash,
    to_wire,
)

if TYPE_CHECKING:
    from rr_pulumi.schema.client import ClientSchema
    from rr_pulumi.schema.credential import ALLOWED_AUTH_TYPES, SECRET_SHAPES, CredentialSchema, secret_to_wire
    from rr_pulumi.schema.model import SchemaModel, validate
    from rr_pulumi.schema.proxy import ProxySchema
    from rr_pulumi.schema.rule import RuleSchema
    from rr_pulumi.schema.target import TargetSchema

# What loads pydantic, by the module that declares it: each kind's schema (found in the registry), and the rest.
_PYDANTIC = {
    **{kind.schema_name: kind.schema_module for kind in KINDS},
    **{name: f"{__name__}.credential" for name in ("ALLOWED_AUTH_TYPES", "SECRET_SHAPES", "secret_to_wire")},
    **{name: f"{__name__}.model" for name in ("SchemaModel", "validate")},
}


def __getattr__(name: str) -> Any:
    if name in _PYDANTIC:
        import importlib

        return getattr(importlib.import_module(_PYDANTIC[name]), name)
    raise AttributeError(f"module 'rr_pulumi.schema' has no attribute {name!r}")


__all__ = [
    "ALLOWED_AUTH_TYPES",
    "PARENTS",
    "SECRET_SHAPES",
    "UNKNOWN",
    "Failure",
    "FieldSpec",
    "SchemaModel",
    "contains_unknown",
    "fields",
    "from_wire",
    "input_fields",
    "normalize",
    "parent_of",
    "secret_hash",
    "secret_to_wire",
    "to_wire",
    "validate",
    *(kind.schema_name for kind in KINDS),
]
