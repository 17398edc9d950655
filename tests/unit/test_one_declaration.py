"""One declaration per kind: the facts about a kind live on its schema once, and everything else derives them.

A kind is declared by its schema class (`kind_facts` and its fields, in `rr_pulumi/schema/<kind>.py`); the
generator writes what follows into `wire_table.py`, and `rr_pulumi.schema.kinds` reads that. These tests fail when a
copy appears elsewhere in the library: a hand-written list of the kinds, a kind's plural used as a literal, a branch
on a kind's name, a second list of the regions, HTTP methods or auth types, or proxy references that disagree
between the places that expose them. They also keep `rr_pulumi.schema` free of import cycles, lazy imports included.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, ClassVar, Iterator, Optional, get_args

import pytest

from rr_pulumi.schema import schema_of
from rr_pulumi.schema import kinds, wire
from rr_pulumi.schema.common import HttpMethod
from rr_pulumi.schema.credential import ALLOWED_AUTH_TYPES, AuthType
from rr_pulumi.schema.derive import kind_rows, kind_schemas
from rr_pulumi.schema.model import derive_fields

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "rr_pulumi"
GENERATED = {PACKAGE / "resources.py", PACKAGE / "schema" / "wire_table.py"}
# The declarations themselves: each kind's schema module, and the module declaring the shared value types.
DECLARATIONS = {Path(s.__module__.replace(".", "/") + ".py") for s in kind_schemas()} | {
    Path("rr_pulumi/schema/common.py")
}

KIND_NAMES = {k.name for k in kinds.KINDS}
PLURALS = {k.plural for k in kinds.KINDS}
METHODS = set(get_args(HttpMethod))
AUTH_TYPES = set(get_args(AuthType))
REGIONS = set(wire.DEFAULT_REGIONS)
REFERENCE_ARGUMENTS = {r.argument for k in kinds.KINDS for r in k.references}
PARENT_ARGUMENTS = {a for k in kinds.KINDS for a in k.parent_arguments}


# Where a kind's plural may stand as a literal, and why. Nothing else may: derive it (`kinds.PROXY.plural`).
PLURALS_ALLOWED = {
    "rr_pulumi/tools/explain.py": "`rr-pulumi rules ...` is a CLI command, not a collection",
    "rr_pulumi/emulator/": "the emulator plays the server: its routes and envelopes spell the contract's paths, and "
    "tests/emulator check them against the contract (the emulator helper derives what it can from the schema)",
}
REGIONS_DECLARED_IN = "rr_pulumi/schema/wire.py"  # the pydantic-free layer, so the client's settings read it too


def allowed(path: Path, what: str) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    if what.startswith("the plural"):
        return any(relative.startswith(place) for place in PLURALS_ALLOWED)
    if "DEFAULT_REGIONS" in what or "default regions" in what:
        return relative == REGIONS_DECLARED_IN
    return False


def library_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p not in GENERATED
                  and p.relative_to(ROOT) not in DECLARATIONS)  # fmt: skip


def strings(node: ast.AST) -> list[str]:
    """The string constants of a literal collection (a dict's keys), or of a `Literal[...]` subscript."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = node.elts
    elif isinstance(node, ast.Dict):
        items = [k for k in node.keys if k is not None]
    else:
        return []
    return [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]


def copies_in(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, what) for each copy of a kind fact in a module's syntax tree."""
    for node in ast.walk(tree):
        found = set(strings(node))
        if len(found & (KIND_NAMES | PLURALS)) >= 2:
            yield node.lineno, f"a list of kinds {sorted(found & (KIND_NAMES | PLURALS))}"
        for facts, what in ((REFERENCE_ARGUMENTS, "references"), (PARENT_ARGUMENTS, "rule parents")):
            if len(found & facts) >= 2:
                yield node.lineno, f"a list of a kind's {what} {sorted(found & facts)}"
        if found >= METHODS:  # a subset (the methods of a route, those with a body) is a fact of its own
            yield node.lineno, "a list of the HTTP methods"
        if found & AUTH_TYPES and (found >= AUTH_TYPES or found in map(set, ALLOWED_AUTH_TYPES.values())):
            yield node.lineno, f"a list of the auth types {sorted(found & AUTH_TYPES)}"
        if len(found & REGIONS) >= 2:
            yield node.lineno, f"a list of the default regions {sorted(found & REGIONS)}"
        if isinstance(node, ast.Constant) and node.value in PLURALS:
            yield node.lineno, f"the plural {node.value!r} of a kind"
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            named = [o.value for o in operands if isinstance(o, ast.Constant) and o.value in KIND_NAMES]
            if named:
                yield node.lineno, f"a branch on the kind name {named[0]!r}"
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "DEFAULT_REGIONS" for t in targets) and strings(node.value):
                yield node.lineno, "a second DEFAULT_REGIONS"


def test_no_module_copies_a_kind_fact():
    found = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in library_files()
        for line, what in copies_in(ast.parse(path.read_text(), str(path)))
        if not allowed(path, what)
    ]
    assert not found, "declare it on the schema and derive it (rr_pulumi.schema.kinds):\n" + "\n".join(found)


def test_the_default_regions_are_declared_once():
    declared = ROOT / REGIONS_DECLARED_IN
    assert [what for _, what in copies_in(ast.parse(declared.read_text())) if "DEFAULT_REGIONS" in what] == [
        "a second DEFAULT_REGIONS"]  # the first, here


@pytest.mark.parametrize(
    "copy",
    [
        'KINDS = ("Client", "Credential", "Target", "Proxy", "Rule")',
        'for plural in ["credentials", "targets"]: pass',
        'segment = "proxies"',
        'if kind.name == "Proxy": pass',
        'HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")',
        'CALLER_AUTH_TYPES = ("apiKey", "bearer", "jwt", "basicAuth", "jwtVerify")',
        'DEFAULT_REGIONS = ("us-east-1", "eu-west-1")',
        'SHAPERS = {"Credential": 1, "Rule": 2}',
        'PROXY_REFERENCES = ("proxy_credential_id", "target_id", "target_credential_id")',
        'PARENTS = {"credential_id": 1, "target_id": 2, "proxy_id": 3}',
    ],
)
def test_the_scan_finds_a_copy(copy):
    assert list(copies_in(ast.parse(copy)))


def test_the_scan_lets_derived_facts_pass():
    derived = "\n".join([
        "CALLER_AUTH_TYPES = ALLOWED_AUTH_TYPES['proxy']",
        "names = [k.name for k in kinds.KINDS]",
        "if kind is kinds.PROXY: pass",
        "if kind.active_field: pass",
    ])  # fmt: skip
    assert not list(copies_in(ast.parse(derived)))


def test_the_registry_is_what_the_schemas_declare():
    assert [kinds.Kind.from_row(row) for row in kind_rows()] == list(kinds.KINDS)
    assert [s.__name__ for s in kind_schemas()] == [k.schema_name for k in kinds.KINDS]
    for kind in kinds.KINDS:
        facts = schema_of(kind).kind_facts
        assert (kind.plural, kind.word, kind.name_field) == (facts.plural, facts.word, facts.name_field)


def test_each_kind_follows_the_kinds_it_references():
    seen: set[str] = set()
    for kind in kinds.KINDS:
        referenced = {s.references for s in derive_fields(schema_of(kind)).values() if s.references} - {kind.name}
        assert referenced <= seen, (kind.name, referenced - seen)
        seen.add(kind.name)


def test_proxy_references_agree_wherever_they_are_exposed():
    from rr_pulumi.emulator import schema as emulator_schema
    from rr_pulumi.schema.public import resource_api

    declared = {
        name: (spec.references, dict(spec.requires).get("credential_type"))
        for name, spec in derive_fields(schema_of(kinds.PROXY)).items()
        if spec.references and not spec.path
    }
    assert set(declared) == {"proxy_credential_id", "target_id", "target_credential_id"}
    assert {r.argument: (r.kind, r.credential_type) for r in kinds.PROXY.references} == declared
    table = {n: (s.references, dict(s.requires).get("credential_type")) for n, s in wire.fields("ProxySchema").items()
             if s.references and not s.path}  # fmt: skip
    assert table == declared
    wire_names = {n: s.wire for n, s in wire.fields("ProxySchema").items()}
    assert emulator_schema.PROXY_REFERENCES == {
        wire_names[n]: (kinds.named(k).word, ctype) for n, (k, ctype) in declared.items()
    }
    arguments = {a.name: a for a in resource_api(kinds.PROXY, schema_of(kinds.PROXY)).arguments}
    for name, (kind, ctype) in declared.items():
        assert arguments[name].type.endswith(f", {kind}]"), arguments[name].type  # takes the resource too
        assert (f"credential_type={ctype!r}" in arguments[name].doc) == bool(ctype)


def test_the_shared_value_lists_are_the_schemas():
    from rr_pulumi import components
    from rr_pulumi.api import config

    assert components.HTTP_METHODS == get_args(HttpMethod)
    assert components.CALLER_AUTH_TYPES == ALLOWED_AUTH_TYPES["proxy"]
    assert config.DEFAULT_REGIONS is wire.DEFAULT_REGIONS


# ---------------------------------------------------------------------------------------------------------------
# No import cycles in the schema layer, counting imports inside functions and under TYPE_CHECKING


DYNAMIC_IMPORTS = {"importlib.import_module", "import_module", "__import__"}


def dynamic_targets(argument: ast.expr, modules: set[str]) -> Optional[set[str]]:
    """What a dynamic import may load: the module a literal names; for `f"rr_pulumi.schema.{name}"`, every module
    of the package written before the braces (it may be any of them); None when the source does not say."""
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return {argument.value}
    if isinstance(argument, ast.JoinedStr) and argument.values and isinstance(argument.values[0], ast.Constant):
        prefix = str(argument.values[0].value)
        if prefix.endswith(".") and prefix.startswith("rr_pulumi."):
            return {m for m in modules if m.startswith(prefix)}
    return None


def imports_of(path: Path, module: str, modules: set[str] = frozenset()) -> set[str]:
    """Every rr_pulumi module a module imports, wherever the import statement is (a dynamic import included: see
    `dynamic_targets`, whose None makes this a ValueError naming the line, since the graph could not see it)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in DYNAMIC_IMPORTS:
            targets = dynamic_targets(node.args[0], modules) if node.args else None
            if targets is None:
                where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                raise ValueError(f"{where}:{node.lineno}: a dynamic import whose module the "
                                 "source does not name (write the package out: f\"rr_pulumi.schema.{name}\")")
            found.update(targets)
    return {name for name in found if name.startswith("rr_pulumi")}


def schema_modules() -> dict[str, Path]:
    """`rr_pulumi.schema.wire` -> its file, for every module of the schema layer."""
    folder = PACKAGE / "schema"
    return {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
            for p in folder.rglob("*.py")}  # fmt: skip


def module_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    return {name: imports_of(path, name, set(modules)) & set(modules) - {name} for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return found


def test_the_schema_layer_has_no_import_cycle_and_imports_nothing_above_it():
    modules = schema_modules()
    graph = module_graph(modules)
    assert "rr_pulumi.schema.kinds" in graph["rr_pulumi.schema.wire"]  # the graph sees the imports
    assert not cycles(graph), cycles(graph)
    for name, path in modules.items():
        outside = {m for m in imports_of(path, name, set(modules)) if not m.startswith("rr_pulumi.schema")}
        assert not outside, (name, outside)


def test_the_cycle_finder_finds_a_lazy_cycle():
    assert cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b", "a"]]
    assert not cycles({"a": {"b"}, "b": set()})


def test_a_dynamic_import_is_an_edge_to_every_module_it_may_load(tmp_path):
    """`Kind.schema`'s `import_module(self.schema_module)` in kinds.py was the kinds -> schema -> model -> wire ->
    kinds cycle again: a dynamic import counts as an import of every module it may load, and one whose module the
    source does not name fails the graph."""
    modules = set(schema_modules())
    loader = tmp_path / "kinds.py"
    loader.write_text("import importlib\ndef load(name):\n    return importlib.import_module(f'rr_pulumi.schema.{name}')\n")
    assert imports_of(loader, "rr_pulumi.schema.kinds", modules) == modules - {"rr_pulumi.schema"}
    graph = {**module_graph(schema_modules()), "rr_pulumi.schema.kinds": modules - {"rr_pulumi.schema.kinds"}}
    assert any({"rr_pulumi.schema.kinds", "rr_pulumi.schema.wire"} <= set(cycle) for cycle in cycles(graph))
    for hidden in ("importlib.import_module(self.schema_module)", "__import__(name)",
                   "import_module(PACKAGE + name)", "importlib.import_module(f'{PACKAGE}.{name}')"):
        loader.write_text(f"import importlib\nfrom importlib import import_module\ndef load(self, name):\n    {hidden}\n")
        with pytest.raises(ValueError, match="kinds.py:4: a dynamic import whose module the source does not name"):
            imports_of(loader, "rr_pulumi.schema.kinds", modules)


def test_a_reference_to_an_undeclared_kind_or_a_reference_cycle_is_refused():

    from rr_pulumi.schema.derive import _in_dependency_order
    from rr_pulumi.schema.model import KindFacts, SchemaModel, prop

    class WidgetSchema(SchemaModel):
        kind_facts: ClassVar[KindFacts] = KindFacts(plural="widgets", word="widget")
        gadget_id: Optional[str] = prop("widgetGadgetId", references="Gadget")

    with pytest.raises(ValueError, match="reference kinds no schema declares: Gadget"):
        _in_dependency_order({"Widget": WidgetSchema})

    class GadgetSchema(SchemaModel):
        kind_facts: ClassVar[KindFacts] = KindFacts(plural="gadgets", word="gadget")
        widget_id: Optional[str] = prop("gadgetWidgetId", references="Widget")

    with pytest.raises(ValueError, match="in a cycle"):
        _in_dependency_order({"Widget": WidgetSchema, "Gadget": GadgetSchema})


def test_a_name_field_must_be_a_field_of_the_schema():

    from rr_pulumi.schema.model import KindFacts, SchemaModel, prop

    class WidgetSchema(SchemaModel):
        kind_facts: ClassVar[KindFacts] = KindFacts(plural="widgets", word="widget", name_field="widget_nme")
        widget_name: Optional[str] = prop("widgetName")

    with pytest.raises(ValueError, match="widget_nme"):
        kind_rows([WidgetSchema])
    ok = KindFacts(plural="widgets", word="widget", name_field="widget_name")
    [row] = kind_rows([type("WidgetSchema", (WidgetSchema,), {"kind_facts": ok})])
    assert (row["name"], row["name_wire"], row["owned_by_client"], row["references"]) == (
        "Widget", "widgetName", False, ())


# ---------------------------------------------------------------------------------------------------------------
# Roles are declared, and a shape the library cannot handle is refused with the schema's name


def _kind(class_name: str, plural: str, word: str, **fields: Any) -> type:
    """A made-up kind schema: `fields` maps a field name to its `prop(...)`; `kind_facts` may be given in it."""
    from rr_pulumi.schema.model import KindFacts, SchemaModel

    facts = fields.pop("kind_facts", None) or KindFacts(plural=plural, word=word)
    namespace = {"__annotations__": {n: Optional[Any] for n in fields}, "kind_facts": facts, **fields,
                 "__module__": __name__}  # fmt: skip
    namespace["__annotations__"]["kind_facts"] = ClassVar[Any]
    return type(class_name, (SchemaModel,), namespace)


def _path(kind: str) -> Any:
    from rr_pulumi.schema.model import prop

    return prop(None, path=True, references=kind)


def test_a_kind_hanging_off_another_without_declaring_it_is_refused():
    """A sixth kind with a path field naming a proxy would otherwise make itself the proxy's rule parent (and
    wire.PARENTS, and every rule path, would follow)."""
    from rr_pulumi.schema.common import client_id_prop

    hook = _kind("HookSchema", "hooks", "hook", client_id=client_id_prop("hook"), parent_proxy_id=_path("Proxy"))
    with pytest.raises(ValueError, match="HookSchema: path field parent_proxy_id does not name the root kind Client"):
        kind_rows([*kind_schemas(), hook])


def test_a_switch_field_is_no_rollout_unless_declared():
    """A `<word>_active` field no longer makes a kind staged behind a ProxyActivation: only `active_field` does."""
    from rr_pulumi.schema.common import client_id_prop
    from rr_pulumi.schema.model import prop

    switch = _kind("SwitchSchema", "switches", "switch", client_id=client_id_prop("switch"),
                   switch_active=prop("switchActive", True))  # fmt: skip
    rows = {row["name"]: row for row in kind_rows([*kind_schemas(), switch])}
    assert rows["Switch"]["active_field"] is None
    assert [name for name, row in rows.items() if row["active_field"]] == [kinds.PROXY.name]
    assert [name for name, row in rows.items() if row["parent_arguments"]] == [kinds.RULE.name]


@pytest.mark.parametrize(
    "shape, message",
    [
        ("second root", "2 kind schemas have no path field"),
        ("second rule kind", "all declare hangs_off_parents: one kind may"),
        ("two fields name one parent", "RuleSchema: proxy_id and other_proxy_id both name the parent Proxy"),
        ("active field of no rule parent", "SwitchSchema.kind_facts.active_field: .* no rule hangs off Switch"),
        ("active field not a field", "SwitchSchema.kind_facts.active_field 'switch_on' is not one of its fields"),
        ("two active fields", "active_field is declared by .*SwitchSchema: one kind may"),
        ("rule naming no kind", "RuleSchema: path field hook_id must name a kind listed under Client"),
    ],
)
def test_shapes_the_consumers_cannot_handle_are_refused(shape, message):
    from rr_pulumi.schema.common import client_id_prop
    from rr_pulumi.schema.model import KindFacts, prop
    from rr_pulumi.schema.rule import RuleSchema

    schemas = list(kind_schemas())
    client = client_id_prop("switch")
    if shape == "second root":
        schemas.append(_kind("RealmSchema", "realms", "realm"))
    elif shape == "second rule kind":
        schemas.append(_kind("HookSchema", "hooks", "hook", client_id=client, proxy_id=_path("Proxy"),
                             kind_facts=KindFacts(plural="hooks", word="hook", hangs_off_parents=True)))
    elif shape in ("two fields name one parent", "rule naming no kind"):
        extra = {"other_proxy_id": _path("Proxy")} if shape.startswith("two") else {"hook_id": prop(None, path=True)}
        rule = type("RuleSchema", (RuleSchema,), {"__annotations__": {n: Optional[str] for n in extra}, **extra,
                                                  "__module__": __name__})  # fmt: skip
        schemas = [rule if s is RuleSchema else s for s in schemas]
    else:
        field = {"active field not a field": "switch_on"}.get(shape, "switch_active")
        facts = KindFacts(plural="switches", word="switch", active_field=field)
        schemas.append(_kind("SwitchSchema", "switches", "switch", client_id=client, kind_facts=facts,
                             switch_active=prop("switchActive", True)))
        if shape == "two active fields":  # rules may hang off it: only the second staged kind is wrong
            rule = type("RuleSchema", (RuleSchema,), {"__annotations__": {"switch_id": Optional[str]},
                                                      "switch_id": _path("Switch"), "__module__": __name__})
            schemas = [rule if s is RuleSchema else s for s in schemas]
    with pytest.raises(ValueError, match=message):
        kind_rows(schemas)


@pytest.mark.parametrize(
    "class_name, plural, word, message",
    [
        ("Widget", "widgets", "widget", "Widget declares kind_facts: name it <Kind>Schema"),
        ("ProxySchema", "widgets", "widget", "ProxySchema and ProxySchema declare the same kind name 'Proxy'"),
        ("WidgetSchema", "proxies", "widget", "ProxySchema and WidgetSchema declare the same kind plural 'proxies'"),
        ("WidgetSchema", "widgets", "proxy", "ProxySchema and WidgetSchema declare the same kind word 'proxy'"),
    ],
)
def test_a_kind_without_a_name_of_its_own_is_refused(class_name, plural, word, message):
    from rr_pulumi.schema.common import client_id_prop

    widget = _kind(class_name, plural, word, client_id=client_id_prop("widget"))
    with pytest.raises(ValueError, match=message):
        kind_rows([*kind_schemas(), widget])
