"""`python -m rr_pulumi.policy` (console script `rr-pulumi-policy`): the guardrails policy pack.

    path       (default) print a pack folder bound to this interpreter, for `pulumi preview --policy-pack`
    shipped    print the pack folder inside the package (runs with $PULUMI_PYTHON_CMD or python3 on PATH)
    list       print each policy: name, default enforcement level, description and configuration
"""

from __future__ import annotations

import json
import sys

from .location import SHIPPED, bound_pack
from .policies import GUARDRAILS


def describe() -> str:
    lines = []
    for guardrail in GUARDRAILS:
        lines.append(f"{guardrail.name} [{guardrail.level.value}]{' (stack)' if guardrail.across_stack else ''}")
        lines.append(f"    {guardrail.description}")
        for key, spec in guardrail.settings.items():
            lines.append(f"    {key} = {json.dumps(spec['default'])}: {spec['description']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else "path"
    if command == "path":
        print(bound_pack())
    elif command == "shipped":
        print(SHIPPED)
    elif command == "list":
        print(describe())
    elif command in ("-h", "--help"):
        print(__doc__)
    elif command == "--version":
        from rr_pulumi import __version__

        print(f"rr-pulumi-policy {__version__}")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
