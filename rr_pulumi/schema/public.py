"""The public, typed surface that the schema implies: each resource's arguments and outputs as Python type text
and per-argument docs, and the nested value types (secrets, rule checks, client members).

`scripts/generate_resources.py` writes `rr_pulumi/resources.py` from this, and `scripts/resource_docs.py` writes
docs/resources.md, so a field added to a schema appears in the constructor, the outputs and the docs together.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Optional, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from rr_pulumi.schema.kinds import Kind
from rr_pulumi.schema.model import FieldSpec, SchemaModel, derive_fields
from rr_pulumi.schema.client import ClientMember
from rr_pulumi.schema.credential import SECRET_SHAPES
from rr_pulumi.schema.rule import BodyCheck, NameCheck, TokenCheck

# Nested models whose public names differ from the schema's (one model serves header and query checks).
_RENAMED: dict[type[BaseModel], str] = {NameCheck: "HeaderCheck"}
_SECRET_MODELS: dict[type[BaseModel], str] = {shape: auth_type for auth_type, shape in SECRET_SHAPES.items()}
# Required by the API, but implied by another argument in the program: a typed secret says its auth type.
IMPLIED_BY = {"credential_auth_type": "credential_secret"}


def public_name(model: type[BaseModel]) -> str:
    """`ApiKeyShape` -> `ApiKeySecret`, `NameCheck` -> `HeaderCheck`, others keep their name."""
    if model in _SECRET_MODELS:
        return model.__name__.removesuffix("Shape") + "Secret"
    return _RENAMED.get(model, model.__name__)


def dict_name(model: type[BaseModel]) -> str:
    """The TypedDict describing the model as a plain dict (an input alternative and the output value)."""
    return public_name(model) + ("" if model is ClientMember else "Dict")


def _is_optional(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def _strip_optional(annotation: Any) -> Any:
    if _is_optional(annotation):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else Union[tuple(rest)]
    return annotation


def type_text(annotation: Any, *, input: bool) -> str:
    """Python type text for a schema annotation: inputs take Pulumi Inputs and read-only collections."""
    annotation = _strip_optional(annotation)
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return type_text(get_args(annotation)[0], input=input)
    if origin is Literal:  # a closed set: a type checker rejects any other value (the provider does at preview)
        return f"Literal[{', '.join(map(repr, get_args(annotation)))}]"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"Union[{public_name(annotation)}, {dict_name(annotation)}]" if input else dict_name(annotation)
    if origin in (list, tuple):
        item = type_text(get_args(annotation)[0], input=input)
        return f"Sequence[{_input(item, input)}]" if input else f"list[{item}]"
    if origin is dict:
        value = type_text(get_args(annotation)[1], input=input)
        return f"Mapping[str, {_input(value, input)}]" if input else f"dict[str, {value}]"
    if origin in (Union, types.UnionType):
        return "Union[" + ", ".join(type_text(a, input=input) for a in get_args(annotation)) + "]"
    if annotation is Any:
        return "Any"
    return annotation.__name__


def _input(text: str, input: bool) -> str:
    """Wrap in pulumi.Input, except values holding nested models (rr-pulumi converts those itself)."""
    if not input or any(name in text for name in _nested_names()):
        return text
    return f"pulumi.Input[{text}]"


def _nested_names() -> list[str]:
    return [public_name(m) for m in nested_models()]


def nested_models() -> list[type[BaseModel]]:
    """Every nested model of the public API: secret shapes, rule checks, client members."""
    return [*SECRET_SHAPES.values(), NameCheck, BodyCheck, TokenCheck, ClientMember]


# ------------------------------------------------------------------------------------------------------------------
# Resource arguments and outputs


@dataclass(frozen=True)
class Argument:
    name: str
    type: str  # the constructor's annotation
    required: bool
    default: Optional[str]  # Python text of the default shown in docs (the constructor itself defaults to None)
    doc: str
    spec: FieldSpec


@dataclass(frozen=True)
class OutputProperty:
    name: str
    type: str  # inside pulumi.Output[...]
    doc: str


@dataclass(frozen=True)
class ResourceApi:
    kind: Kind
    arguments: list[Argument]
    outputs: list[OutputProperty]
    lookup_arguments: list[Argument]  # what `get` needs beside the id: where the object lives
    schema: type[SchemaModel]  # whose docstring documents the resource


def _default_of(info: FieldInfo, spec: FieldSpec) -> Optional[str]:
    if info.default_factory is not None:
        return repr(info.default_factory())  # type: ignore[call-arg]
    return None if spec.default is None else repr(spec.default)


def bounds_text(info: FieldInfo) -> Optional[str]:
    """The numeric bounds or list length of a field, when its description does not already say them."""
    low = next((m.ge for m in info.metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in info.metadata if hasattr(m, "le")), None)
    if low is not None and high is not None and f"{low}-{high}" not in (info.description or ""):
        return f"Between {low} and {high}."
    longest = next((m.max_length for m in info.metadata if hasattr(m, "max_length")), None)
    if longest is not None and get_origin(_strip_optional(info.annotation)) is list:
        return f"At most {longest} items."
    return None


def argument_doc(spec: FieldSpec, default: Optional[str], bounds: Optional[str] = None) -> str:
    """The argument's description, then what a user must know: required, default, replacement, secret, references."""
    parts = [spec.description.rstrip(".") + "."]
    if bounds:
        parts.append(bounds)
    if spec.required:
        parts.append("Required.")
    if default is not None:
        parts.append(f"Default: {default}.")
    if spec.immutable:
        parts.append("Changing it replaces the resource.")
    if spec.secret:
        parts.append("Secret: stored encrypted in the state, never shown.")
    if spec.references:
        extra = "".join(f" with {name}={value!r}" for name, value in spec.requires)
        region = f" in the same region as {spec.same_region}" if spec.same_region else ""
        parts.append(f"Takes the id or the {spec.references} resource itself{extra}{region}.")
    return " ".join(parts)


def _argument(schema: type[SchemaModel], spec: FieldSpec) -> Argument:
    info = schema.model_fields[spec.name]
    if spec.secret:
        text = "CredentialSecretInput"
    else:
        text = _input(type_text(info.annotation, input=True), True)
        if spec.references:
            text = f"Union[{text}, {spec.references}]"
    default = _default_of(info, spec)
    doc = argument_doc(spec, default, bounds_text(info))
    if spec.name in IMPLIED_BY:
        doc = doc.replace("Required.", f"Required unless {IMPLIED_BY[spec.name]} is a typed secret, which implies it.")
    return Argument(spec.name, text, spec.required and spec.name not in IMPLIED_BY, default, doc, spec)


def _output(schema: type[SchemaModel], spec: FieldSpec) -> OutputProperty:
    info = schema.model_fields[spec.name]
    text = "CredentialSecretDict" if spec.secret else type_text(info.annotation, input=False)
    always = spec.computed or spec.required or spec.server_default or _default_of(info, spec) is not None
    if spec.secret or not always:
        text = f"Optional[{text}]"
    return OutputProperty(spec.name, text, spec.description)


@dataclass(frozen=True)
class Option:
    """A keyword option beside the schema's arguments: how to manage the object rather than what it is."""

    name: str
    type: str
    default: str
    doc: str


OPTIONS = (
    Option("adopt", "bool", "False", "Take over the existing object with the same natural key (its name within its "
           "client; for a rule, every field within its parent) instead of creating one."),
    Option("adopt_id", "Optional[str]", "None", "Take over the existing object with this id instead of creating one."),
    Option("profile", "Optional[str]", "None", "Name of a connection profile in `requestrocket:profiles` (another "
           "account or user); changing it replaces the resource. Default: the stack's `requestrocket:apiUrl` and "
           "token."),
)
ROTATE_ON_ADOPT = Option(
    "rotate_on_adopt", "bool", "False", "With adopt/adopt_id and a credential_secret: `pulumi up` rotates the adopted "
    "credential's secret to the declared one (without it, adoption keeps the live secret). The preview warns.",
)

ACTIVATE_AFTER_RULES = Option(
    "activate_after_rules", "bool", "True", "No open window: a new or replacing proxy is created inactive and turned "
    "on (unless proxy_active is false) only after every rule of the program exists. False serves at once.",
)


def options_of(api: ResourceApi) -> list[Option]:
    """The options a resource takes: every resource the common ones; one with a secret also rotate_on_adopt;
    one with an on/off switch (a proxy's `proxy_active`) also activate_after_rules."""
    return [
        *OPTIONS,
        *([ROTATE_ON_ADOPT] if any(a.spec.secret for a in api.arguments) else []),
        *([ACTIVATE_AFTER_RULES] if api.kind.active_field else []),
    ]


@functools.cache
def resource_api(kind: Kind, schema: type[SchemaModel]) -> ResourceApi:
    """The public API of a kind, from its schema (`rr_pulumi.schema.schema_of(kind)`, which the caller loads: this
    module loads no schema by name, so that no module of the schema layer reaches the one that does)."""
    specs = derive_fields(schema)
    arguments = [_argument(schema, s) for s in specs.values() if not s.computed]
    arguments.sort(key=lambda a: not a.required)  # required first, each group in schema order
    outputs = [_output(schema, s) for s in specs.values()]
    # `get` only reads: what a change would do does not apply.
    lookup = [dataclasses.replace(a, doc=a.doc.replace(" Changing it replaces the resource.", ""))
              for a in arguments if a.spec.path]
    return ResourceApi(kind, arguments, outputs, lookup, schema)


# ------------------------------------------------------------------------------------------------------------------
# Nested value types


@dataclass(frozen=True)
class NestedField:
    name: str
    input_type: str
    output_type: str
    required: bool
    default: Optional[str]
    doc: str


@dataclass(frozen=True)
class NestedType:
    model: type[BaseModel]
    name: str  # the input dataclass (none for output-only types)
    dict_name: str  # the TypedDict
    doc: str
    fields: list[NestedField]
    auth_type: Optional[str]  # for secret values: the credential_auth_type they imply
    output_only: bool


def nested_type(model: type[BaseModel]) -> NestedType:
    out = []
    for name, info in model.model_fields.items():
        required = info.is_required()
        default = None if required or info.default is None else repr(info.default)
        if info.default_factory is not None:
            default = repr(info.default_factory())  # type: ignore[call-arg]
        out.append(
            NestedField(
                name,
                _input(type_text(info.annotation, input=True), True),
                type_text(info.annotation, input=False),
                required,
                default,
                info.description or "",
            )
        )
    out.sort(key=lambda f: not f.required)
    return NestedType(
        model,
        public_name(model),
        dict_name(model),
        (model.__doc__ or "").strip(),
        out,
        _SECRET_MODELS.get(model),
        output_only=model is ClientMember,
    )


def nested_types() -> list[NestedType]:
    return [nested_type(m) for m in nested_models()]
