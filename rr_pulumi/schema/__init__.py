"""One pydantic schema per resource: the single source of argument names, wire names, bounds, allowed values,
and which fields are immutable, secret or set by the server. Validation, diff, wire mapping and docs read it."""

from ..wire import (
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
from ._base import SchemaModel, validate
from .client import ClientSchema
from .credential import ALLOWED_AUTH_TYPES, SECRET_SHAPES, CredentialSchema, secret_to_wire
from .proxy import ProxySchema
from .rule import RuleSchema
from .target import TargetSchema

__all__ = [
    "ALLOWED_AUTH_TYPES",
    "PARENTS",
    "SECRET_SHAPES",
    "UNKNOWN",
    "ClientSchema",
    "CredentialSchema",
    "Failure",
    "FieldSpec",
    "ProxySchema",
    "RuleSchema",
    "SchemaModel",
    "TargetSchema",
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
]
