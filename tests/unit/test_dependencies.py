"""Dependencies are declared as they are imported: each third-party package a module of rr_pulumi imports is in
pyproject.toml, in the part of rr-pulumi that module belongs to (the core, or the extra that installs its feature),
and a core install imports nothing from an extra until a feature of that extra is used."""
from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10: pytest's own TOML reader
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "rr_pulumi"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

# Which part of rr-pulumi a module belongs to, by its folder; everything else is the core.
PART_OF_FOLDER = {"emulator": "emulator", "testing": "emulator", "policy": "policy"}
# Not rr-pulumi's own Python: the user's project scaffolding, and the language host's program runner (Go embeds it
# and runs it in the user's virtualenv).
NOT_OURS = ("templates", "engine/gosrc")
# Imports a module may make without declaring them: the host that loads it already has them.
PROVIDED = {"rr_pulumi/testing/plugin.py": {"pytest"}}  # a pytest11 plugin is only ever loaded by pytest
# Declared for what they do at run time, never imported by name.
RUN_TIME_ONLY = {"httptools", "uvloop"}  # uvicorn picks them up when installed (docs/emulator.md#performance)


def normalized(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def declared(requirements: list[str]) -> set[str]:
    """The distributions a list of requirements names (rr-pulumi's own extras excluded)."""
    names = {normalized(re.match(r"[A-Za-z0-9._-]+", r)[0]) for r in requirements}
    return names - {"rr-pulumi"}


CORE = declared(PROJECT["dependencies"])
EXTRAS = {extra: declared(requirements) for extra, requirements in PROJECT["optional-dependencies"].items()}
ALLOWED = {"core": CORE, "emulator": CORE | EXTRAS["emulator"], "policy": CORE | EXTRAS["policy"]}


def part_of(path: Path) -> str:
    return PART_OF_FOLDER.get(path.relative_to(PACKAGE).parts[0], "core")


def our_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py")
                  if not any(p.relative_to(PACKAGE).as_posix().startswith(folder) for folder in NOT_OURS))


def required_imports(path: Path) -> set[str]:
    """The top-level third-party modules a file imports, at import time or in a function, except those it imports
    inside a `try:` whose `except ImportError` carries on without them (an optional speed-up or fallback; a handler
    that stops with "install the extra" still needs its extra)."""
    tree = ast.parse(path.read_text())
    optional = {id(node) for t in ast.walk(tree) if isinstance(t, ast.Try)
                if any(_falls_back(h) for h in t.handlers) for stmt in t.body for node in ast.walk(stmt)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names and name != "rr_pulumi"}


def _falls_back(handler: ast.ExceptHandler) -> bool:
    """Whether an except clause catches a missing module and carries on (no raise, no exit, no error code)."""
    caught = handler.type
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    if not any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names):
        return False
    for node in ast.walk(handler):
        if isinstance(node, ast.Raise) or (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                                           and node.func.attr == "exit"):
            return False
        if isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            return False
    return True


def distributions_of(module: str) -> set[str]:
    """The installed distributions that provide a top-level module (`yaml` → PyYAML)."""
    return {normalized(d) for d in importlib.metadata.packages_distributions().get(module, [])}


def test_every_third_party_import_is_declared_by_the_part_of_rr_pulumi_that_imports_it():
    undeclared = []
    for path in our_modules():
        relative = path.relative_to(ROOT).as_posix()
        for module in sorted(required_imports(path) - PROVIDED.get(relative, set())):
            providers = distributions_of(module)
            assert providers, f"{relative} imports {module}, which no installed distribution provides"
            if not providers & ALLOWED[part_of(path)]:
                undeclared.append(f"{relative} ({part_of(path)}) imports {module} ({', '.join(sorted(providers))})")
    assert not undeclared, "declare these in pyproject.toml, in the part named:\n" + "\n".join(undeclared)


@pytest.mark.parametrize("part", ["core", "emulator", "policy"])
def test_every_declared_dependency_is_imported_by_its_part(part):
    declared_here = CORE if part == "core" else EXTRAS[part]
    imported = {d for path in our_modules() if part_of(path) == part for module in required_imports(path)
                for d in distributions_of(module)}
    if part == "emulator":  # pyjwt[crypto] needs cryptography, which the emulator also imports itself
        imported |= {"cryptography"}
    assert declared_here - imported - RUN_TIME_ONLY == set(), f"declared for {part} but imported by none of it"


def test_the_stubs_mypy_needs_come_with_the_test_extra():
    assert {"mypy", "ruff", "types-pyyaml", "types-requests"} <= EXTRAS["test"]


# What a core-only install lacks: the packages only the extras declare.
EXTRA_ONLY = sorted({module for extra in ("emulator", "policy") for module in
                     (m for m, ds in importlib.metadata.packages_distributions().items()
                      if {normalized(d) for d in ds} & (EXTRAS[extra] - CORE))})

IMPORT_GUARD = """
import builtins, importlib, sys
blocked = set(sys.argv[1].split(","))
real_import = builtins.__import__

def guarded(name, globals=None, locals=None, fromlist=(), level=0):
    importer = (globals or {}).get("__name__") or ""
    if level == 0 and name.split(".")[0] in blocked and importer.startswith("rr_pulumi"):
        raise ImportError(f"{importer} imports {name}, which only an extra installs")
    return real_import(name, globals, locals, fromlist, level)

builtins.__import__ = guarded
for module in sys.argv[2:]:
    importlib.import_module(module)
print("imported", len(sys.argv) - 2)
"""


def test_a_core_install_imports_every_core_module_and_the_pytest_plugin_without_any_extra(tmp_path):
    core = [".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            for p in our_modules() if part_of(p) == "core"]
    # pytest loads the plugin (and so its package) in every project that has rr-pulumi installed
    modules = [*core, "rr_pulumi.testing", "rr_pulumi.testing.plugin"]
    assert {"requests", "yaml", "fastapi", "jwt", "pulumi_policy"} <= set(EXTRA_ONLY)
    done = subprocess.run([sys.executable, "-c", IMPORT_GUARD, ",".join(EXTRA_ONLY), *modules], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == f"imported {len(modules)}"
