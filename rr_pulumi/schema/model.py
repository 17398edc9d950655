"""What every resource schema shares: the field markers, validation with readable messages, and wire mapping.

A schema is a pydantic model whose attribute names are the Python argument names and whose aliases are the
wire names of the Core API (section 0 of the contract). Each field carries markers in `json_schema_extra`:

* ``required``  the user must set it (fields are typed Optional so that unknown preview values can be left out);
* ``immutable`` a change replaces the resource;
* ``secret``    the value is write-only on the API and always a Pulumi secret;
* ``computed``  set by the server (or by the provider), never an input;
* ``path``      part of the URL (the owning client, a rule's parent), not of the body;
* ``server_default`` when unset the server chooses the value (unset means "no opinion", never "clear");
* ``references`` the kind (`Client`, `Credential`, ...) whose id the field holds: the public constructor also takes
  the declared resource itself; ``requires`` the values that resource must have (a proxy credential);
  ``same_region`` the field of this schema whose region the referenced object must share.

An optional field without a default and without ``server_default`` is cleared (sent as null) when the user
removes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Mapping, Optional, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rr_pulumi.schema.wire import Failure, FieldSpec, contains_unknown, input_fields

REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")


def prop(
    wire: Optional[str],
    default: Any = None,
    *,
    required: bool = False,
    immutable: bool = False,
    secret: bool = False,
    computed: bool = False,
    path: bool = False,
    server_default: bool = False,
    references: Optional[str] = None,
    requires: Optional[dict[str, str]] = None,
    same_region: Optional[str] = None,
    description: str = "",
    **constraints: Any,
) -> Any:
    """A schema field: its wire name, its markers and its pydantic constraints."""
    markers: dict[str, Any] = {
        "required": required,
        "immutable": immutable,
        "secret": secret,
        "computed": computed,
        "path": path,
        "server_default": server_default,
    }
    if references:
        markers.update(references=references, requires=dict(requires or {}), same_region=same_region)
    if "default_factory" not in constraints:
        constraints["default"] = default
    return Field(alias=wire, description=description, json_schema_extra=markers, **constraints)


@dataclass(frozen=True)
class KindFacts:
    """What a kind's schema says about the kind beyond its fields, declared once on the schema class
    (`kind_facts = KindFacts(...)`). `scripts/generate_resources.py` finds every schema that declares it and writes
    the facts, with those its fields imply (references, region, where it is listed), into `wire_table.py`, from which
    `rr_pulumi.schema.kinds` builds the registry every other module reads."""

    plural: str  # "proxies": the collection's path segment and the list envelope's key
    word: str  # "proxy": the kind in the user's words, and the wire prefix of its fields
    name_field: Optional[str] = None  # "proxy_name": the argument naming the object within its client, if any
    # Roles other modules give a kind its own behaviour for, declared (never inferred from field names or shapes):
    # a rule: its path fields beyond the client name the object it hangs off (one of them set), the program checks
    # that, and a staged proxy waits for it (rr_pulumi/rollout.py).
    hangs_off_parents: bool = False
    # "proxy_active": the switch a staged rollout leaves off until the rules exist (rr_pulumi/rollout.py).
    active_field: Optional[str] = None


class SchemaModel(BaseModel):
    """Base of every schema: Python names in, wire names via aliases, unknown keys ignored. A schema of a kind of
    object (not a nested value) declares `kind_facts`."""

    kind_facts: ClassVar[Optional[KindFacts]] = None

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, loc_by_alias=False, extra="ignore", frozen=False
    )

    @classmethod
    def cross_check(cls, values: dict[str, Any], unknown: frozenset[str] = frozenset()) -> list["Failure"]:
        """Rules that involve several fields; `values` holds the known, valid ones, `unknown` the names not yet
        known."""
        return []

    @classmethod
    def canonicalize(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Canonical form of valid inputs beyond per-field normalisers (e.g. a secret shaped by its auth type)."""
        return values


def _text_or_none(value: Any) -> Optional[str]:
    return None if value is None else str(value)


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in value.items())) if isinstance(value, dict) else ()


def derive_fields(model: type[BaseModel]) -> dict[str, FieldSpec]:
    """The field specs of a model as its pydantic fields declare them (what `rr_pulumi/schema/wire_table.py` records;
    `rr_pulumi.schema.wire.fields` answers from that table)."""
    specs = {}
    for name, info in model.model_fields.items():
        markers = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        specs[name] = FieldSpec(
            name=name,
            wire=info.alias,
            required=bool(markers.get("required")),
            immutable=bool(markers.get("immutable")),
            secret=bool(markers.get("secret")),
            computed=bool(markers.get("computed")),
            path=bool(markers.get("path")),
            server_default=bool(markers.get("server_default")),
            default=None if info.default_factory is not None or info.is_required() else info.default,
            description=info.description or "",
            references=_text_or_none(markers.get("references")),
            requires=_pairs(markers.get("requires")),
            same_region=_text_or_none(markers.get("same_region")),
        )
    return specs


# ---------------------------------------------------------------------------------------------------------------
# Validation


def _argument(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _bounds(model: type[SchemaModel], name: str) -> tuple[Any, Any]:
    info = model.model_fields.get(name)
    low = high = None
    for meta in getattr(info, "metadata", []) or []:
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
    return low, high


def _choices(annotation: Any) -> Optional[tuple[Any, ...]]:
    """The values of a closed set (a Literal, possibly inside Optional or Annotated), if the annotation is one."""
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    return next((found for arg in get_args(annotation) if (found := _choices(arg))), None)


def _required(model: type[SchemaModel], name: str) -> str:
    """Why a missing argument fails: "is required", with the allowed values when it takes a closed set."""
    choices = _choices(model.model_fields[name].annotation) if name in model.model_fields else None
    return f"is required; one of: {', '.join(map(str, choices))}" if choices else "is required"


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # numbers arrive from the engine as floats
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _reason(model: type[SchemaModel], error: Mapping[str, Any], secret: bool) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    got = "" if secret else f" (got {_shown(value)})"
    top = error["loc"][0] if error["loc"] else ""
    if kind == "missing":
        return "is required"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        low, high = _bounds(model, top) if len(error["loc"]) == 1 else (None, None)
        if low is not None and high is not None:
            return f"must be between {low} and {high}{got}"
        bound = next(iter(ctx.values()), "?")
        word = {"greater_than_equal": "at least", "less_than_equal": "at most"}.get(kind, kind.replace("_", " "))
        return f"must be {word} {bound}{got}"
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "must not be empty" if n == 1 else f"must be at least {n} characters long{got}"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long (got {len(str(value))})"
    if kind == "literal_error":
        allowed = ctx.get("expected", "").replace("'", "").replace(" or ", ", ")
        return f"must be one of: {allowed}{got}"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')}{got}"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"]))
    if kind.endswith("_type") or kind.endswith("_parsing"):
        expected = kind.split("_")[0].replace("dict", "an object").replace("list", "a list")
        expected = {"int": "an integer", "string": "a string", "bool": "true or false", "float": "a number"}.get(
            expected, expected
        )
        return f"must be {expected}{got}"
    return error["msg"]


def validate(model: type[SchemaModel], inputs: dict[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
    """Validate user inputs against a schema.

    Returns the canonical inputs (defaults filled in, normalisers applied, unknown values passed through
    untouched) and the failures, each naming the Python argument. Values not known yet (preview) are not judged.
    """
    specs = input_fields(model)
    unknown = {k: v for k, v in inputs.items() if k in specs and contains_unknown(v)}
    known = {k: v for k, v in inputs.items() if k in specs and k not in unknown and v is not None}
    failures = [
        Failure(name, _required(model, name))
        for name, spec in specs.items() if spec.required and name not in known and name not in unknown
    ]
    try:
        instance = model.model_validate(known)
    except ValidationError as exc:
        for error in exc.errors():
            top = error["loc"][0] if error["loc"] else ""
            secret = specs[top].secret if top in specs else False
            failures.append(Failure(_argument(error["loc"]), _reason(model, error, secret)))
        return {**known, **unknown}, failures
    canonical = instance.model_dump(by_alias=False, exclude_none=True)
    canonical = {k: v for k, v in canonical.items() if k in specs}
    if not failures:
        failures.extend(model.cross_check(canonical, frozenset(unknown)))
    if not failures:
        canonical = model.canonicalize(canonical)
    return {**canonical, **unknown}, failures
