"""Write docs/resources.md from the resource schemas (`python scripts/resource_docs.py`; a unit test checks it)."""

from __future__ import annotations

import sys
from pathlib import Path

from rr_pulumi.schema import ClientSchema, CredentialSchema, ProxySchema, RuleSchema, TargetSchema, describe

DOC = Path(__file__).resolve().parent.parent / "docs" / "resources.md"
RESOURCES = (("Client", ClientSchema), ("Credential", CredentialSchema), ("Target", TargetSchema),
             ("Proxy", ProxySchema), ("Rule", RuleSchema))


def render() -> str:
    parts = ["# rr-pulumi resources\n",
             "Generated from `rr_pulumi/schema/` by `python scripts/resource_docs.py`; do not edit by hand.\n",
             "Type tokens are `pulumi-python:dynamic/requestrocket:<Resource>`. \"replaces on change\" marks an "
             "immutable field: changing it deletes and recreates the object.\n"]
    for name, schema in RESOURCES:
        parts.append(f"## {name}\n\n```\n{describe(schema).rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render())
    print(f"wrote {DOC}", file=sys.stderr)
