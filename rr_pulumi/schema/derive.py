"""What `scripts/generate_resources.py` writes into `rr_pulumi/schema/wire_table.py`, derived from the pydantic
schemas: every field of every schema (and of the models nested in them), and the facts about each kind.

A kind is declared once, by a schema class with `kind_facts` in a module of this package; nothing lists the kinds
by hand. The roles other modules give their own behaviour to are declared there, never guessed from field names:
`hangs_off_parents` (the rule) and `active_field` (the switch a staged rollout turns on). The rest follows from its
fields:

* `references`: its body fields that hold the id of another kind (`prop(references=...)`), with what that object
  must be (`requires`);
* where it lives: the one schema without path fields is the root collection (`/api/clients`); every other kind's
  path fields name the root (`/api/clients/{clientId}/proxies`), except the rule's further path fields, each naming
  a parent it hangs off (a rule's `proxy_id`: the parent kind's `rule_parent_argument`). Any other shape is
  refused with the schema's name, since the client, the providers and the rollout handle no other;
* `region_field`: its `<word>_region` field, when it has one.

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

from rr_pulumi.schema.model import FieldSpec, KindFacts, SchemaModel, derive_fields

_NOT_SCHEMAS = {__name__.rpartition(".")[2], "wire_table"}  # this module, and what it writes


def kind_schemas() -> list[type[SchemaModel]]:
    """Every schema of a kind (a class declaring `kind_facts` in a module of this package), in dependency order."""
    found: list[type[SchemaModel]] = []
    for module_info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module_info.name in _NOT_SCHEMAS:
            continue
        module = importlib.import_module(f"rr_pulumi.schema.{module_info.name}")
        found += [value for value in vars(module).values()
                  if isinstance(value, type) and issubclass(value, SchemaModel) and value.__module__ == module.__name__
                  and value.__dict__.get("kind_facts") is not None]  # fmt: skip
    _check_declarations(found)
    return _in_dependency_order({kind_name(s): s for s in found})


def kind_name(schema: type[SchemaModel]) -> str:
    """`ProxySchema` -> `Proxy`: the public class, the type token's last part, what `references=` names."""
    return schema.__name__.removesuffix("Schema")


def _check_declarations(schemas: list[type[SchemaModel]]) -> None:
    """Refuse what would make two kinds one, or a kind without a name: every registry lookup is by these."""
    for schema in schemas:
        if not schema.__name__.endswith("Schema") or schema.__name__ == "Schema":
            raise ValueError(f"{schema.__name__} declares kind_facts: name it <Kind>Schema (the kind is its prefix)")
    for what, of in (("name", kind_name), ("plural", lambda s: _facts(s).plural), ("word", lambda s: _facts(s).word)):
        seen: dict[str, str] = {}
        for schema in schemas:
            value = of(schema)
            if value in seen:
                raise ValueError(f"{seen[value]} and {schema.__name__} declare the same kind {what} {value!r}")
            seen[value] = schema.__name__


def _facts(schema: type[SchemaModel]) -> KindFacts:
    facts = schema.kind_facts
    assert facts is not None, schema.__name__
    return facts


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


def _places(schemas: list[type[SchemaModel]], specs: dict[str, dict[str, FieldSpec]]) -> tuple[str, dict[str, str]]:
    """The root kind every other is listed under, and the rule parents (parent kind -> the rule's argument naming
    it). Only the shapes the rest of the library handles pass: one root (the client); every other kind listed
    under it by path fields naming it alone, except the one kind declaring `hangs_off_parents` (the rule), whose
    further path fields each name a different kind listed under the root."""
    roots = [s.__name__ for s in schemas if not any(f.path for f in specs[kind_name(s)].values())]
    if len(roots) != 1:
        raise ValueError(f"{len(roots)} kind schemas have no path field ({', '.join(roots) or 'none'}): exactly one "
                         "kind is the root every other kind is listed under")
    root = roots[0].removesuffix("Schema")
    rules = [s for s in schemas if _facts(s).hangs_off_parents]
    if len(rules) > 1:
        raise ValueError(f"{', '.join(s.__name__ for s in rules)} all declare hangs_off_parents: one kind may")
    parents: dict[str, str] = {}
    for schema in schemas:
        name = kind_name(schema)
        beyond = [f for f in specs[name].values() if f.path and f.references != root]
        if beyond and not _facts(schema).hangs_off_parents:
            raise ValueError(f"{schema.__name__}: path field {beyond[0].name} does not name the root kind {root}; "
                             "only a kind declaring hangs_off_parents (a rule) hangs off another kind")
        for field in beyond:
            parent = field.references
            if parent is None or parent in (root, name) or parent not in specs:
                raise ValueError(f"{schema.__name__}: path field {field.name} must name a kind listed under {root} "
                                 f"(it names {parent})")
            if parent in parents:
                raise ValueError(f"{schema.__name__}: {parents[parent]} and {field.name} both name the parent "
                                 f"{parent}")
            parents[parent] = field.name
        if _facts(schema).hangs_off_parents and not beyond:
            raise ValueError(f"{schema.__name__} declares hangs_off_parents but no path field names a parent")
    return root, parents


def kind_rows(schemas: Optional[list[type[SchemaModel]]] = None) -> list[dict[str, Any]]:
    """The facts about each kind, as plain data (`rr_pulumi.schema.kinds.Kind`'s fields)."""
    schemas = kind_schemas() if schemas is None else schemas
    _check_declarations(schemas)
    specs = {kind_name(s): derive_fields(s) for s in schemas}
    root, parents = _places(schemas, specs)
    rows = []
    for schema in schemas:
        facts, name = _facts(schema), kind_name(schema)
        fields = specs[name]
        for role in ("name_field", "active_field"):
            declared = getattr(facts, role)
            if declared is not None and declared not in fields:
                raise ValueError(f"{schema.__name__}.kind_facts.{role} {declared!r} is not one of its fields")
        if facts.active_field is not None and name not in parents:
            raise ValueError(f"{schema.__name__}.kind_facts.active_field: a staged rollout waits for the rules of "
                             f"its kind, and no rule hangs off {name}")
        rows.append({
            "name": name,
            "plural": facts.plural,
            "word": facts.word,
            "name_field": facts.name_field,
            "name_wire": fields[facts.name_field].wire if facts.name_field else None,
            "region_field": _own_field(fields, facts.word, "region"),
            "active_field": facts.active_field,
            "rule_parent_argument": parents.get(name),
            "parent_arguments": tuple(parents.values()) if facts.hangs_off_parents else (),
            "owned_by_client": name != root and not facts.hangs_off_parents,
            "references": tuple(
                (f.name, f.references, f.requires) for f in fields.values() if f.references and not f.path
            ),
            "schema_module": schema.__module__,
        })  # fmt: skip
    staged = [s.__name__ for s in schemas if _facts(s).active_field]
    if len(staged) > 1:
        raise ValueError(f"kind_facts.active_field is declared by {', '.join(staged)}: one kind may "
                         "(rr_pulumi/rollout.py stages one kind)")
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
