"""One declaration per kind: the facts about a kind live on its schema once, and everything else derives them.

A kind is declared by its schema class (`kind_facts` and its fields, in `rr_pulumi/schema/<kind>.py`); the
generator writes what follows into `wire_table.py`, and `rr_pulumi.schema.kinds` reads that. The roles the library
gives its own behaviour to (the rule, the rollout's switch) are declared, and a shape it cannot handle is refused.

The copy scan reads each library module's syntax and fails on the shapes its self-test lists: a literal list of
kinds (names, plurals, or three or more words), a branch on a kind's name or word (comparison, membership, `match`),
a table keyed by a kind name, a plural as a path segment of any string (f-string parts included), two or more HTTP
methods or auth types, a second list of the regions. It is a syntax scan, not a proof: a copy spelled some other way
(built from parts, read from a file) passes. The proxy references are compared wherever they are exposed.

The schema layer has no import cycle, imports inside functions and under TYPE_CHECKING included; a dynamic import
counts as an import of every module of the package it names, and one whose module the source does not name fails.
"""


from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any, ClassVar, Iterator, Optional, get_args

import pytest

from rr_pulumi.schema import schema_of
from rr_pulumi.schema import kinds, wire
from rr_pulumi.schema.common import HttpMethod
from rr_pulumi.schema.credential import ALLOWED_AUTH_TYPES, AuthType, CredentialType
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
WORDS = {k.word for k in kinds.KINDS}
CREDENTIAL_TYPES = set(get_args(CredentialType))  # "proxy", "target": also two kinds' words
PLURALS = {k.plural for k in kinds.KINDS}
METHODS = set(get_args(HttpMethod))
AUTH_TYPES = set(get_args(AuthType))
REGIONS = set(wire.DEFAULT_REGIONS)
REFERENCE_ARGUMENTS = {r.argument for k in kinds.KINDS for r in k.references}
PARENT_ARGUMENTS = {a for k in kinds.KINDS for a in k.parent_arguments}


# Where a copy may stand, and why: the emulator plays the server, so its routes and envelopes spell the contract's
# paths and methods (tests/emulator check them against the contract). Nothing else may: derive it
# (`kinds.PROXY.plural`, `rr_pulumi.api.client.collection(...)`).
ALLOWED = {
    ("rr_pulumi/tools/explain.py", "the plural"): "`rr-pulumi rules ...` is a CLI command, not a collection",
    ("rr_pulumi/emulator/", "the plural"): "the emulator's routes and envelopes spell the contract's paths",
    ("rr_pulumi/emulator/app.py", "a list of HTTP methods"): "the methods each route of the contract answers",
    ("rr_pulumi/emulator/upstream.py", "a list of HTTP methods"): "the emulator's own HTTP exchange with a "
    "target: the methods that carry a body (HTTP's fact, not the schema's)",
    ("rr_pulumi/emulator/schema.py", "a list of the auth types"): "the emulator's data plane: the secrets it never "
    "sends as a header (left to the emulator's owner to derive from the secret shapes)",
}
REGIONS_DECLARED_IN = "rr_pulumi/schema/wire.py"  # the pydantic-free layer, so the client's settings read it too
# Shipped data, not modules: files copied into a new project (a user's program spells its rules' methods).
DATA = ("rr_pulumi/templates/", "rr_pulumi/engine/gosrc/")


def allowed(path: Path, what: str) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    if "DEFAULT_REGIONS" in what or "default regions" in what:
        return relative == REGIONS_DECLARED_IN
    return any(relative.startswith(place) and what.startswith(kind) for place, kind in ALLOWED)


def library_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p not in GENERATED and p.relative_to(ROOT) not in DECLARATIONS
                  and not p.relative_to(ROOT).as_posix().startswith(DATA))  # fmt: skip


def strings(node: ast.AST) -> list[str]:
    """The string constants of a literal collection (a dict's keys), or of `"a b c".split()`."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = node.elts
    elif isinstance(node, ast.Dict):
        items = [k for k in node.keys if k is not None]
    elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "split"
          and isinstance(node.func.value, ast.Constant) and isinstance(node.func.value.value, str)):
        return node.func.value.value.split(*(a.value for a in node.args if isinstance(a, ast.Constant)))
    else:
        return []
    return [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]


PLURAL_IN_PATH = re.compile(rf"(^|/)({'|'.join(map(re.escape, sorted(PLURALS)))})(/|$)")


def about_a_kind(node: ast.expr) -> bool:
    """An expression that holds a kind or its word (`kind`, `kind.word`, `self.word`, `resource_kind`): what a
    kind word is compared with in a branch on the kind. A credential type ("proxy", "target") is no such thing."""
    return bool(re.search(r"(^|[._])(kind|word)s?($|[._])", ast.unparse(node).lower()))


def names_a_kind(value: object, subject: ast.expr) -> bool:
    return isinstance(value, str) and (value in KIND_NAMES or (value in WORDS and about_a_kind(subject)))


def copies_in(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, what) for each copy of a kind fact in a module's syntax tree."""
    # Docstrings and other bare strings are prose: a path there explains, it is never requested.
    prose = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    for node in ast.walk(tree):
        found = set(strings(node))
        kindish = found & (KIND_NAMES | PLURALS | WORDS)
        # Most of the collection, and not only words a credential type (or a rule scope) also spells.
        if len(kindish) >= 2 and 2 * len(kindish) >= len(found) and kindish - CREDENTIAL_TYPES:
            yield node.lineno, f"a list of kinds {sorted(kindish)}"
        for facts, what in ((REFERENCE_ARGUMENTS, "references"), (PARENT_ARGUMENTS, "rule parents")):
            if len(found & facts) >= 2:
                yield node.lineno, f"a list of a kind's {what} {sorted(found & facts)}"
        if len(found & METHODS) >= 2:
            yield node.lineno, f"a list of HTTP methods {sorted(found & METHODS)}"
        if len(found & AUTH_TYPES) >= 2 or found & AUTH_TYPES and found in map(set, ALLOWED_AUTH_TYPES.values()):
            yield node.lineno, f"a list of the auth types {sorted(found & AUTH_TYPES)}"
        if len(found & REGIONS) >= 2:
            yield node.lineno, f"a list of the default regions {sorted(found & REGIONS)}"
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and k.value in KIND_NAMES]
            if keys:
                yield node.lineno, f"a table keyed by the kind name {keys[0]!r}"
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            if node.value in PLURALS or PLURAL_IN_PATH.search(node.value):
                yield node.lineno, f"the plural of a kind in {node.value!r}"
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for operand, other in ((a, b) for a in operands for b in operands if a is not b):
                values = strings(operand) if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [
                    getattr(operand, "value", None)]
                named = [v for v in values if names_a_kind(v, other)]
                if named:
                    yield node.lineno, f"a branch on the kind {named[0]!r}"
                    break
        if isinstance(node, ast.match_case):
            subject = next(m.subject for m in ast.walk(tree) if isinstance(m, ast.Match) and node in m.cases)
            named = [p.value.value for p in ast.walk(node.pattern) if isinstance(p, ast.MatchValue)
                     and isinstance(p.value, ast.Constant) and names_a_kind(p.value.value, subject)]
            if named:
                yield node.pattern.lineno, f"a branch on the kind {named[0]!r}"
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
        # branches on a kind, by name or word: comparison, membership, match
        'if kind.word == "proxy": pass',
        'if kind != "rule": pass',
        'if self.word == "credential": pass',
        'if kind.name in ("Proxy",): pass',
        'if "Rule" == name: pass',
        'if kind.word not in ("proxy", "target"): pass',
        'match kind.name:\n    case "Proxy": pass',
        'match kind.word:\n    case "rule" | "client": pass',
        'SHAPERS = {"Credential": f}',
        # a plural in a path, whatever builds it
        'path = f"/api/clients/{cid}/proxies"',
        'ROOT = "/api/clients"',
        'path = "/api/clients/" + cid + "/targets"',
        'path = f"{base}/rules"',
        'path = "/".join(["", "api", "clients", cid])',
        # lists of kind words, subsets of the methods and auth types, and lists written as one string
        'PARTS = ("credential", "target", "proxy")',
        'OWNED = ["client", "rule"]',
        'WITH_BODY = ("POST", "PUT", "PATCH")',
        'JWT_TYPES = ("jwt", "jwtVerify")',
        'METHODS = "GET POST PUT PATCH DELETE HEAD OPTIONS".split()',
        'KINDS = "Credential,Target".split(",")',
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
        "path = collection(client_id, kinds.TARGET.plural)",
        # words a credential type or a rule scope spells too, and prose
        'if values.get("credential_type") == "proxy": pass',
        'if scope in ("proxy", "target"): pass',
        'SCOPES = ("proxy credential", "target credential", "proxy", "target")',
        '"""Listed under `/api/clients/{id}/proxies`."""',
        # a kind word among many other keys (the pulumi CLI's flags), a word in a longer text
        '_FLAGS = {"stack": "s", "client": "", "target": "t", "cwd": "C", "message": "m", "color": ""}',
        'label = "proxy credential"',
        'ONE = ("GET",)',
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
