"""One pydantic schema per resource: the single source of argument names, wire names, bounds, allowed values,
and which fields are immutable, secret or set by the server. Validation, diff, wire mapping and docs read it.

The bottom layer: it imports nothing else of rr-pulumi. The plain field table (`wire`, `kinds`, `plan`) loads
without pydantic, so a read, a delete or an unchanged check never pays for it; the models load on first use.
"""

from typing import TYPE_CHECKING, Any

from rr_pulumi.schema.kinds import KINDS, Kind
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

if TYPE_CHECKING:  # `X as X`: re-exported for type checkers (at run time `__getattr__` loads them)
    from rr_pulumi.schema.client import ClientSchema as ClientSchema
    from rr_pulumi.schema.credential import ALLOWED_AUTH_TYPES as ALLOWED_AUTH_TYPES
    from rr_pulumi.schema.credential import SECRET_SHAPES as SECRET_SHAPES
    from rr_pulumi.schema.credential import CredentialSchema as CredentialSchema
    from rr_pulumi.schema.credential import secret_to_wire as secret_to_wire
    from rr_pulumi.schema.model import SchemaModel as SchemaModel
    from rr_pulumi.schema.model import validate as validate
    from rr_pulumi.schema.proxy import ProxySchema as ProxySchema
    from rr_pulumi.schema.rule import RuleSchema as RuleSchema
    from rr_pulumi.schema.target import TargetSchema as TargetSchema

# What loads pydantic, by the module of this package that declares it: each kind's schema (found in the registry),
# and the rest.
_PYDANTIC = {
    **{kind.schema_name: kind.schema_module.removeprefix("rr_pulumi.schema.") for kind in KINDS},
    **{name: "credential" for name in ("ALLOWED_AUTH_TYPES", "SECRET_SHAPES", "secret_to_wire")},
    **{name: "model" for name in ("SchemaModel", "validate")},
}


def __getattr__(name: str) -> Any:
    if name in _PYDANTIC:
        import importlib

        # The package is written out: an import graph sees an import of any module of this package here.
        return getattr(importlib.import_module(f"rr_pulumi.schema.{_PYDANTIC[name]}"), name)
    raise AttributeError(f"module 'rr_pulumi.schema' has no attribute {name!r}")


def schema_of(kind: Kind) -> type["SchemaModel"]:
    """The pydantic schema of a kind (`ProxySchema` for `kinds.PROXY`), loaded on first use. It lives here, above
    the modules it loads, so that no module of this package reaches it: `rr_pulumi.schema.kinds` stays a leaf."""
    schema: type[SchemaModel] = __getattr__(kind.schema_name)
    return schema


__all__ = [  # noqa: PLE0604 (the kinds' schema names come from the registry)
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
    "schema_of",
    "secret_hash",
    "secret_to_wire",
    "to_wire",
    "validate",
    *(kind.schema_name for kind in KINDS),
]
