"""What `scripts/generate_resources.py` writes into `rr_pulumi/schema/wire_table.py`, derived from the pydantic
schemas: every field of every schema (and of the models nested in them), and the facts about each kind.

A kind is declared once, by a schema class with `kind_facts` in a module of this package; nothing lists the kinds
by hand. Its other facts follow from its fields:

* `references`: its body fields that hold the id of another kind (`prop(references=...)`), with what that object
  must be (`requires`);
* where it lives: a schema without path fields is a root collection (`/api/clients`); one whose path fields all
  name a root kind is listed under it (`/api/clients/{clientId}/proxies`); a further path field names the parent
  it hangs off (a rule's `proxy_id`): that field is the parent kind's `rule_parent_argument`;
* `region_field` / `active_field`: its `<word>_region` / `<word>_active` field, when it has one.

The kinds are ordered so that each comes after the kinds it references (ties by name): the order of the
generated classes, of the docs and of an exported program, where a proxy must follow its credentials and target.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from pathlib import Path
from typing import Any, Optional, get_args

from pydantic import BaseModel

from rr_pulumi.schema.model import FieldSpec, SchemaModel, derive_fields

PACKAGE = __name__.rpartition(".")[0]
_NOT_SCHEMAS = {__name__.rpartition(".")[2], "wire_table"}  # this module, and what it writes


def kind_schemas() -> list[type[SchemaModel]]:
    """Every schema of a kind (a class declaring `kind_facts` in a module of this package), in dependency order."""
    found: dict[str, type[SchemaModel]] = {}
    for module_info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module_info.name in _NOT_SCHEMAS:
            continue
        module = importlib.import_module(f"{PACKAGE}.{module_info.name}")
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, SchemaModel) and value.__module__ == module.__name__
                    and value.__dict__.get("kind_facts") is not None):
                found[kind_name(value)] = value
    return _in_dependency_order(found)


def kind_name(schema: type[SchemaModel]) -> str:
    """`ProxySchema` -> `Proxy`: the public class, the type token's last part, what `references=` names."""
    return schema.__name__.removesuffix("Schema")


def _in_dependency_order(schemas: dict[str, type[SchemaModel]]) -> list[type[SchemaModel]]:
    needs = {
        name: {s.references for s in derive_fields(schema).values() if s.references and s.references != name}
        for name, schema in schemas.items()
    }
    unknown = {ref for refs in needs.values() for ref in refs} - set(schemas)
    if unknown:
        raise ValueError(f"schema fields reference kinds no schema declares: {', '.join(sorted(unknown))}")
    ordered: list[str] = []
    while len(ordered) < len(schemas):
        ready = sorted(n for n in schemas if n not in ordered and needs[n] <= set(ordered))
        if not ready:
            raise ValueError(f"kinds reference each other in a cycle: {sorted(set(schemas) - set(ordered))}")
        ordered.append(ready[0])
    return [schemas[n] for n in ordered]


def kind_rows(schemas: Optional[list[type[SchemaModel]]] = None) -> list[dict[str, Any]]:
    """The facts about each kind, as plain data (`rr_pulumi.schema.kinds.Kind`'s fields)."""
    schemas = kind_schemas() if schemas is None else schemas
    specs = {kind_name(s): derive_fields(s) for s in schemas}
    roots = {name for name, fields in specs.items() if not any(f.path for f in fields.values())}
    parents: dict[str, str] = {}  # parent kind -> the argument of a nested kind (a rule) that names it
    nested: dict[str, tuple[str, ...]] = {}
    for name, fields in specs.items():
        beyond_root = [f for f in fields.values() if f.path and f.references not in roots]
        nested[name] = tuple(f.name for f in beyond_root)
        parents.update({str(f.references): f.name for f in beyond_root})
    rows = []
    for schema in schemas:
        facts, name = schema.kind_facts, kind_name(schema)
        assert facts is not None
        fields = specs[name]
        if facts.name_field is not None and facts.name_field not in fields:
            raise ValueError(f"{schema.__name__}.kind_facts.name_field {facts.name_field!r} is not one of its fields")
        rows.append({
            "name": name,
            "plural": facts.plural,
            "word": facts.word,
            "name_field": facts.name_field,
            "name_wire": fields[facts.name_field].wire if facts.name_field else None,
            "region_field": _own_field(fields, facts.word, "region"),
            "active_field": _own_field(fields, facts.word, "active"),
            "rule_parent_argument": parents.get(name),
            "parent_arguments": nested[name],
            "owned_by_client": name not in roots and not nested[name],
            "references": tuple(
                (f.name, f.references, f.requires) for f in fields.values() if f.references and not f.path
            ),
            "schema_module": schema.__module__,
        })  # fmt: skip
    return rows


def _own_field(fields: dict[str, FieldSpec], word: str, what: str) -> Optional[str]:
    name = f"{word}_{what}"
    return name if name in fields else None


def _model_of(annotation: Any) -> Optional[type[BaseModel]]:
    """The pydantic model inside Optional[M] / list[M] / M, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def table_models(schemas: Optional[list[type[SchemaModel]]] = None) -> dict[str, dict[str, Any]]:
    """Every schema and every model nested in one, as the plain data `wire_table.py` holds."""
    out: dict[str, dict[str, Any]] = {}
    pending: list[type[BaseModel]] = list(kind_schemas() if schemas is None else schemas)
    while pending:
        model = pending.pop(0)
        if model.__name__ in out:
            continue
        rows = []
        for name, spec in derive_fields(model).items():
            nested = _model_of(model.model_fields[name].annotation)
            if nested is not None:
                pending.append(nested)
            rows.append({**dataclasses.asdict(spec), "nested": nested.__name__ if nested else None})
        out[model.__name__] = {"extra_allow": model.model_config.get("extra") == "allow", "fields": rows}
    return out


def render_table() -> str:
    """The source of `rr_pulumi/schema/wire_table.py`: the kinds' facts, then one row per field in `COLUMNS` order."""
    schemas = kind_schemas()
    columns = (*(f.name for f in dataclasses.fields(FieldSpec)), "nested")
    lines = [
        "# Generated by scripts/generate_resources.py from rr_pulumi/schema/: do not edit by hand.",
        '"""The facts about each kind and the field table of every schema as plain data, for `rr_pulumi.schema.kinds`',
        'and `rr_pulumi.schema.wire` (no pydantic needed to read it)."""',
        "",
        "from typing import Any",
        "",
        "KINDS: tuple[dict[str, Any], ...] = (",
    ]
    lines += [f"    {row!r}," for row in kind_rows(schemas)]
    lines += [")", "", f"COLUMNS = {columns!r}", "", "MODELS: dict[str, dict[str, Any]] = {"]
    for name, model in table_models(schemas).items():
        lines += [f"    {name!r}: {{", f"        'extra_allow': {model['extra_allow']!r},", "        'fields': ["]
        lines += [f"            {tuple(row[c] for c in columns)!r}," for row in model["fields"]]
        lines += ["        ],", "    },"]
    return "\n".join([*lines, "}", ""])
