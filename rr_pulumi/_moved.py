"""The module paths of rr-pulumi 0.1's flat layout, still importable: `import rr_pulumi.client` gives the very module
`rr_pulumi.api.client` (one object, so a patch through either name is seen by both).

Kept for programs, scripts and pickles written against the old paths; new code imports the layered paths
(docs/architecture.md). The providers' own class paths never moved: states pickle them by reference.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
from types import CodeType, ModuleType
from typing import Optional, Sequence

MOVED = {
    "rr_pulumi.cache": "rr_pulumi.api.cache",
    "rr_pulumi.client": "rr_pulumi.api.client",
    "rr_pulumi.concurrency": "rr_pulumi.api.concurrency",
    "rr_pulumi.config": "rr_pulumi.api.config",
    "rr_pulumi.errors": "rr_pulumi.api.errors",
    "rr_pulumi.ownership": "rr_pulumi.api.ownership",
    "rr_pulumi.ratelimit": "rr_pulumi.api.ratelimit",
    "rr_pulumi.transport": "rr_pulumi.api.transport",
    "rr_pulumi.kinds": "rr_pulumi.schema.kinds",
    "rr_pulumi.wire": "rr_pulumi.schema.wire",
    "rr_pulumi.wire_table": "rr_pulumi.schema.wire_table",
    "rr_pulumi.plan": "rr_pulumi.schema.plan",
    "rr_pulumi.rule_evaluation": "rr_pulumi.schema.rule_evaluation",
    "rr_pulumi.schema._base": "rr_pulumi.schema.model",
    "rr_pulumi.provider._base": "rr_pulumi.provider.base",
    "rr_pulumi.stack_claims": "rr_pulumi.provider.stack_claims",
    "rr_pulumi.pulumi_runs": "rr_pulumi.provider.pulumi_runs",  # the provider records its CLI; recovery reads it
    **{
        f"rr_pulumi.{name}": f"rr_pulumi.tools.{name}"
        for name in ("cli", "drift", "explain", "export", "inventory", "pulumi_cli", "recovery",
                     "request_files", "rule_lint", "rules_diff", "scaffold", "stack_rules")
    },
}  # fmt: skip


# Duck-typed finder and loader: importlib.abc would cost every process that imports rr_pulumi about 8 ms (it loads
# importlib.resources), and the import system needs only these methods.
class _Alias:
    """Hands the import system the module already loaded under its new name, unchanged."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self.own_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run (the module ran under its new name); only undo the import system's `__spec__` swap."""
        module.__spec__ = self.own_spec

    def get_code(self, fullname: str) -> Optional[CodeType]:
        """The new module's code, for `python -m <old path>` (runpy runs it as `__main__`)."""
        import importlib.util  # only when an old path is used (a process that never does, never loads it)

        spec = importlib.util.find_spec(self.target)
        get_code = getattr(spec.loader, "get_code", None) if spec else None
        return get_code(self.target) if get_code else None


class _MovedFinder:
    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]], target: Optional[ModuleType] = None
    ) -> Optional[importlib.machinery.ModuleSpec]:
        new = MOVED.get(fullname)
        if new is None:
            return None
        import importlib.util

        moved_to = importlib.util.find_spec(new)  # its file, so `python -m <old path>` runs with the right __file__
        return importlib.machinery.ModuleSpec(
            fullname, _Alias(new), origin=moved_to.origin if moved_to else None  # type: ignore[arg-type]  # duck-typed
        )


def install() -> None:
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
