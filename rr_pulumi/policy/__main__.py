"""`python -m rr_pulumi.policy` (console script `rr-pulumi-policy`): the guardrails policy pack.

    path       (default) print a pack folder bound to this interpreter, for `pulumi preview --policy-pack`
    shipped    print the pack folder inside the package (runs with $PULUMI_PYTHON_CMD or python3 on PATH)
    list       print each policy: name, default enforcement level, description and configuration
"""

from __future__ import annotations

import json
import sys
from typing import Optional

SDK = "pulumi_policy"  # Pulumi's policy SDK, installed by rr-pulumi's `policy` extra


def sdk_missing() -> Optional[str]:
    """None when the policy SDK imports, else the one line that says how to install it."""
    try:
        import pulumi_policy  # noqa: F401
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != SDK:
            raise
        from rr_pulumi.installation import missing_extra

        return f"rr-pulumi-policy: {missing_extra('the policy pack', 'policy', SDK)}"
    return None


def describe() -> str:
    from rr_pulumi.policy.policies import GUARDRAILS

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
    if command in ("-h", "--help"):
        print(__doc__)
        return 0
    if command == "--version":
        from rr_pulumi import __version__

        print(f"rr-pulumi-policy {__version__}")
        return 0
    if command not in ("path", "shipped", "list"):
        print(__doc__, file=sys.stderr)
        return 2
    missing = sdk_missing()  # every pack folder printed here must be able to run
    if missing:
        print(missing, file=sys.stderr)
        return 2
    from rr_pulumi.policy.location import SHIPPED, bound_pack

    if command == "path":
        print(bound_pack())
    elif command == "shipped":
        print(SHIPPED)
    else:
        print(describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
