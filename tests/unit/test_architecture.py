"""The layers of docs/architecture.md hold: every import of the package obeys the table there (read from the page
itself, so the picture and the rule cannot drift apart), no modules import each other in a cycle, and file names
do not mislead. Each test lists every violation it finds, not just the first."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

from rr_pulumi._moved import MOVED

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "rr_pulumi"
DOC = ROOT / "docs" / "architecture.md"
# Data shipped in the package, not modules of it: files copied into new projects, and the language host's sources
# (its exec.py is a script the Go host runs). docs/architecture.md says the same.
DATA = ("templates", "engine/gosrc")
# `from rr_pulumi import __version__` loads no module (the root package has run before any submodule, and the
# version comes from the distribution's metadata): allowed everywhere, and no edge of the graph.
VERSION_IMPORT = ("rr_pulumi", "__version__")
# A dynamic import whose name is written in the source is an import like any other, of every module it may load (a
# name computed at run time, as rr_pulumi/_moved.py's, cannot be followed).
DYNAMIC_IMPORTS = {"importlib.import_module", "import_module", "__import__"}
GENERIC_NAMES = {"_base", "utils", "util", "helpers", "misc"}
# File names in two packages that do not mislead, and why (the kinds' own pairs are derived, not listed).
SHARED_NAMES = {
    "__init__": "Python's name for a package",
    "__main__": "Python's name for `python -m`",
    "checks": "plan-time checks a provider runs in `check` (provider/) and the policy pack's checks (policy/): "
              "both check a declaration before anything changes",
    "client": "besides the Client kind's schema/client.py and provider/client.py, api/client.py is the Core API "
              "client; the package name (api) says which",
    "schema": "emulator/schema.py is the wire form of the rr_pulumi.schema package, derived from it "
              "(tests/unit/test_emulator_agrees_with_schema.py)",
}


# -- the import graph -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Import:
    source: str     # the importing module
    target: str     # the imported module (a name imported from a module counts as that module)
    line: int
    type_checking: bool

    def where(self) -> str:
        return f"{MODULES[self.source].relative_to(ROOT)}:{self.line}"


def _module_files() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if any(relative.startswith(prefix + "/") for prefix in DATA):
            continue
        parts = ["rr_pulumi", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _module_files()


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """The nodes under `if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`), by id; an `else:` branch runs."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            for statement in node.body:
                inside.update(id(n) for n in ast.walk(statement))
    return inside


def _imports_of(module: str) -> list[Import]:
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    checking = _type_checking_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the importing module's package
                base = module.split(".")[: len(module.split(".")) - node.level + _is_package(module)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            if (origin, tuple(a.name for a in node.names)) == (VERSION_IMPORT[0], (VERSION_IMPORT[1],)):
                continue
            # `from pkg import sub` imports the module pkg.sub; `from mod import name` depends on mod.
            targets = sorted({f"{origin}.{a.name}" if f"{origin}.{a.name}" in MODULES else origin for a in node.names})
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in DYNAMIC_IMPORTS and node.args:
            targets = _dynamic_targets(node.args[0])
        else:
            continue
        found += [Import(module, target, node.lineno, id(node) in checking)
                  for target in targets if target == "rr_pulumi" or target.startswith("rr_pulumi.")]
    return found


def _dynamic_targets(argument: ast.expr) -> list[str]:
    """What a dynamic import names in its source: the module "rr_pulumi.schema", or for f"rr_pulumi.schema.{name}"
    every module of that package (it may load any of them); nothing when the name is computed."""
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return [argument.value]
    if isinstance(argument, ast.JoinedStr) and argument.values and isinstance(argument.values[0], ast.Constant):
        prefix = str(argument.values[0].value)
        package = prefix.rpartition(".")[0]
        return sorted(m for m in MODULES if m.startswith(package + ".")) if package else []
    return []


IMPORTS = [i for module in MODULES for i in _imports_of(module)]


# -- the table of docs/architecture.md --------------------------------------------------------------------------------

@dataclass
class Layer:
    name: str
    modules: list[str]                                 # `pkg.*` or a module
    layers: list[str] = field(default_factory=list)    # layers it may import
    extra: list[str] = field(default_factory=list)     # single modules of other layers it may import
    anything: bool = False
    why: str = ""

    def holds(self, module: str) -> Optional[int]:
        """How specifically this layer claims `module` (longer is more specific), or None."""
        for spec in self.modules:
            package = spec.removesuffix(".*")
            if module == package or (spec.endswith(".*") and module.startswith(package + ".")):
                return len(package) + (0 if spec.endswith(".*") else 1000)
        return None


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def read_table(text: str) -> list[Layer]:
    """The table under `## Layers`: layer | modules | may import | why."""
    section = text.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert _cells(rows[0])[:3] == ["layer", "modules", "may import"], rows[0]
    layers = []
    for row in rows[2:]:
        name, modules, may, why = _cells(row)
        layer = Layer(name, re.findall(r"`([^`]+)`", modules), why=why)
        for entry in (e.strip() for e in may.split(",")):
            if entry == "anything":
                layer.anything = True
            elif entry.startswith("`"):
                layer.extra.append(entry.strip("`"))
            elif entry not in ("—", "-", ""):
                layer.layers.append(entry)
        layers.append(layer)
    return layers


LAYERS = read_table(DOC.read_text())
BY_NAME = {layer.name: layer for layer in LAYERS}


def layer_of(module: str) -> Optional[Layer]:
    claims = [(layer.holds(module), layer) for layer in LAYERS if layer.holds(module) is not None]
    return max(claims, key=lambda claim: claim[0])[1] if claims else None


def test_the_table_is_well_formed_and_places_every_module():
    problems = []
    for index, layer in enumerate(LAYERS):
        below = {other.name for other in LAYERS[:index]}
        problems += [f"{layer.name}: may import {name!r}, which is no layer listed before it (bottom first)"
                     for name in layer.layers if name not in below]
        for spec in layer.modules:
            if spec.removesuffix(".*") not in MODULES:
                problems.append(f"{layer.name}: lists {spec}, which is no module")
        for module in layer.extra:
            if module not in MODULES:
                problems.append(f"{layer.name}: may import {module}, which is no module")
            elif module not in layer.why:
                problems.append(f"{layer.name}: may import {module} without saying why in the last column")
    problems += [f"{module} ({path.relative_to(ROOT)}) belongs to no layer of docs/architecture.md"
                 for module, path in MODULES.items() if layer_of(module) is None]
    for module in MODULES:
        claims = sorted((layer.holds(module), layer.name) for layer in LAYERS if layer.holds(module) is not None)
        if len(claims) > 1 and claims[-1][0] == claims[-2][0]:
            problems.append(f"{module} is claimed by {claims[-2][1]} and {claims[-1][1]} alike")
    assert not problems, "\n".join(problems)


def test_the_picture_shows_the_layers_of_the_table():
    picture = DOC.read_text().split("```\n", 2)[1]
    shown = {word for line in picture.splitlines() for word in line[:40].split()}
    assert shown == {layer.name for layer in LAYERS}


def test_the_schema_stays_the_bottom_layer():
    """The single source imports nothing else of rr-pulumi, whatever the table grows into."""
    schema = BY_NAME["schema"]
    assert (schema.layers, schema.extra, schema.anything) == ([], [], False)


# -- the rules ------------------------------------------------------------------------------------------------------

def allowed(source: str, target: str) -> bool:
    mine, theirs = layer_of(source), layer_of(target)
    assert mine is not None and theirs is not None
    return mine.anything or theirs is mine or theirs.name in mine.layers or target in mine.extra


def test_every_import_obeys_the_layers():
    """Lazy imports and imports under TYPE_CHECKING included; an old flat path (rr_pulumi/_moved.py) is refused."""
    problems = []
    for i in IMPORTS:
        if i.target not in MODULES:
            problems.append(f"{i.where()}: {i.source} imports {i.target}, which is no module of the package"
                            " (an old flat path? see MOVED in rr_pulumi/_moved.py)")
        elif not allowed(i.source, i.target):
            mine = layer_of(i.source)
            assert mine is not None
            may = ", ".join([*mine.layers, *mine.extra]) or "nothing else"
            problems.append(f"{i.where()}: {i.source} ({mine.name}) imports {i.target} "
                            f"({getattr(layer_of(i.target), 'name', '?')}); {mine.name} may import {may}")
    assert not problems, f"{len(problems)} imports break docs/architecture.md's layers:\n" + "\n".join(problems)


def cycles(imports: list[Import]) -> list[tuple[list[str], set[str]]]:
    """Every strongly connected group of modules (Tarjan): one cycle's path through it, and the whole group."""
    graph: dict[str, set[str]] = {}
    for i in imports:
        if i.source != i.target:
            graph.setdefault(i.source, set()).add(i.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(set(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [(_path_through(sorted(group)[0], group, graph), group) for group in groups]


def _path_through(start: str, group: set[str], graph: dict[str, set[str]]) -> list[str]:
    """The shortest way from `start` back to itself inside its group (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph.get(node, set()) & group):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle through {start}")


def _describe(path: list[str], group: set[str], imports: list[Import]) -> str:
    """The cycle's path, each step with the line that makes it, and the whole group the cycle lies in."""
    lines = {(i.source, i.target): i.where() for i in imports}
    steps = [f"{lines[(a, b)]}: {a} imports {b}" for a, b in zip(path, path[1:], strict=False)]
    return (" -> ".join(path) + "\n    " + "\n    ".join(steps)
            + (f"\n    (one of the cycles among {', '.join(sorted(group))})" if len(group) > len(path) - 1 else ""))


def test_no_modules_import_each_other_in_a_cycle():
    """Imports under TYPE_CHECKING never run, so they are left out; lazy imports are not."""
    running = [i for i in IMPORTS if not i.type_checking and i.target in MODULES]
    found = cycles(running)
    assert not found, f"{len(found)} import cycles:\n" + "\n".join(_describe(*cycle, running) for cycle in found)


def test_the_cycle_finder_reports_the_path_of_a_cycle():
    chain = [Import("rr_pulumi.a", "rr_pulumi.b", 1, False), Import("rr_pulumi.b", "rr_pulumi.c", 2, False),
             Import("rr_pulumi.c", "rr_pulumi.a", 3, False), Import("rr_pulumi.c", "rr_pulumi.d", 4, False)]
    assert cycles(chain) == [(["rr_pulumi.a", "rr_pulumi.b", "rr_pulumi.c", "rr_pulumi.a"],
                              {"rr_pulumi.a", "rr_pulumi.b", "rr_pulumi.c"})]
    assert cycles(chain[:2]) == []


def reach(starts: list[str]) -> set[str]:
    """Every module that importing `starts` can load, lazy imports included (TYPE_CHECKING ones never run)."""
    graph: dict[str, set[str]] = {}
    for i in IMPORTS:
        if not i.type_checking:
            graph.setdefault(i.source, set()).add(i.target)
    seen, todo = set(), list(starts)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += graph.get(module, ())
    return seen


def _under(modules: set[str], *packages: str) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_the_provider_process_never_loads_the_emulator_the_tools_the_engine_or_the_policy_pack():
    loaded = reach([m for m in MODULES if layer_of(m) is BY_NAME["provider"]])
    wrong = _under(loaded, "rr_pulumi.emulator", "rr_pulumi.tools", "rr_pulumi.engine", "rr_pulumi.policy",
                   "rr_pulumi.testing")
    assert not wrong, f"the provider modules can load {', '.join(wrong)}"


def test_the_emulator_never_loads_the_client_it_tests():
    loaded = reach([m for m in MODULES if layer_of(m) is BY_NAME["emulator"]])
    wrong = _under(loaded, "rr_pulumi.api.client", "rr_pulumi.api.transport", "rr_pulumi.api.retry",
                   "rr_pulumi.api.collection_cache", "rr_pulumi.api.ownership", "rr_pulumi.provider",
                   "rr_pulumi.tools", "rr_pulumi.resources")
    assert not wrong, f"the emulator's modules can load {', '.join(wrong)}"


def test_the_policy_pack_reaches_only_the_rule_analysis_of_the_tools():
    """The pack borrows rule_lint and stack_rules (pure functions of the schema): through them it must not load the
    pulumi runner, the engine, the providers or the API client."""
    loaded = reach([m for m in MODULES if layer_of(m) is BY_NAME["policy"]])
    wrong = _under(loaded, "rr_pulumi.tools", "rr_pulumi.engine", "rr_pulumi.provider", "rr_pulumi.api.client",
                   "rr_pulumi.emulator", "rr_pulumi.resources")
    assert sorted(set(wrong) - {"rr_pulumi.tools.rule_lint", "rr_pulumi.tools.stack_rules"}) == []


def test_the_rules_catch_a_bad_import():
    """The checks above are not vacuous: the schema importing the client is refused, and so is a new cycle."""
    bad = Import("rr_pulumi.schema.kinds", "rr_pulumi.api.client", 1, False)
    assert not allowed(bad.source, bad.target)
    assert cycles([bad, Import("rr_pulumi.api.client", "rr_pulumi.schema.kinds", 1, False)])


def test_a_dynamic_import_of_a_package_member_is_an_import_of_each_member():
    """`import_module(f"rr_pulumi.schema.{name}")` may load any module of the package: the graph holds them all."""
    argument = ast.parse('importlib.import_module(f"rr_pulumi.schema.{name}")', mode="eval").body
    assert isinstance(argument, ast.Call)
    targets = _dynamic_targets(argument.args[0])
    assert {"rr_pulumi.schema.kinds", "rr_pulumi.schema.proxy", "rr_pulumi.schema.public"} <= set(targets)
    assert "rr_pulumi.schema" not in targets and all(t.startswith("rr_pulumi.schema.") for t in targets)


# -- names ----------------------------------------------------------------------------------------------------------

def test_file_names_do_not_mislead():
    """No `_base.py`-like grab-bag names; a file name used in two packages means the same thing in both."""
    kinds = {p.stem for p in (PACKAGE / "provider").glob("*.py")} & {p.stem for p in (PACKAGE / "schema").glob("*.py")}
    names: dict[str, list[str]] = {}
    for path in MODULES.values():
        stem = path.parent.name if path.name == "__init__.py" else path.stem
        names.setdefault(stem, []).append(str(path.relative_to(PACKAGE)))
        if path.name == "__init__.py":
            names.setdefault("__init__", []).append(str(path.relative_to(PACKAGE)))
    problems = [f"{paths[0]}: {name}.py says nothing of what it holds" for name, paths in names.items()
                if name in GENERIC_NAMES]
    for name, paths in sorted(names.items()):
        if len(paths) > 1 and name not in SHARED_NAMES and not (name in kinds and len(paths) == 2):
            problems.append(f"{name}: {', '.join(paths)} share a name (rename one, or say in SHARED_NAMES why not)")
    assert not problems, "\n".join(problems)


# -- docs name paths that exist -------------------------------------------------------------------------------------

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _top_level_names(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def resolves(dotted: str, old_paths: bool = False) -> bool:
    """A module of the package, or a name defined at the top of one (`rr_pulumi.engine.find_toolchain`); with
    `old_paths`, also a flat path of rr-pulumi 0.1 that still resolves (rr_pulumi/_moved.py)."""
    if old_paths and dotted in MOVED:
        return True
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        if module in MODULES:
            return cut == len(parts) or parts[cut] in _top_level_names(module)
    return False


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_docs_name_module_paths_that_exist(page):
    text = page.read_text()
    files = [p for p in re.findall(r"\brr_pulumi/[\w./-]*\w", text) if not (ROOT / p).exists()]
    old_paths = page == DOC  # the page that explains where they went names them
    dotted = [d for d in re.findall(r"\brr_pulumi(?:\.[a-z_]\w*)+", text) if not resolves(d, old_paths)]
    assert files + dotted == [], f"{page.name} names paths that do not exist (moved? see rr_pulumi/_moved.py)"
