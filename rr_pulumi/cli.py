"""`rr-pulumi`: the command line of rr-pulumi.

    rr-pulumi drift  [--cwd DIR] [--stack NAME] [--json]      drift report; exit 0 no drift, 1 drift, 2 could not check
    rr-pulumi export --client-id ID [--out DIR]              write a Pulumi program that adopts an existing client

The API URL and token come from --api-url/--token, else REQUESTROCKET_API_URL / REQUESTROCKET_TOKEN (for `drift`,
the stack configuration comes before the environment, as for the provider).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from . import config as rr_config
from . import explain as rules_explain


def _drift(args: argparse.Namespace) -> int:
    from . import drift

    try:
        diffs = drift.check(Path(args.cwd), args.stack, args.api_url, args.token)
    except drift.CheckFailed as exc:
        print(f"COULD NOT CHECK for drift: {exc}", file=sys.stderr)
        return drift.CANNOT_CHECK
    stack = args.stack or "(selected stack)"
    print(drift.render_json(stack, diffs) if args.json else drift.render(stack, diffs), end="")
    return drift.DRIFT if diffs else drift.NO_DRIFT


def _export(args: argparse.Namespace) -> int:
    from . import export
    from .errors import RequestRocketError

    token = args.token or os.environ.get(rr_config.TOKEN_ENV)
    if not token:
        print(f"error: No RequestRocket API token is configured. Set the environment variable {rr_config.TOKEN_ENV} "
              "(or pass --token).", file=sys.stderr)
        return 2
    api_url = args.api_url or os.environ.get(rr_config.API_URL_ENV) or rr_config.DEFAULT_API_URL
    try:
        written = export.export_client(api_url, token, args.client_id, Path(args.out), virtualenv=args.virtualenv)
    except (RequestRocketError, export.ExportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="rr-pulumi", description="RequestRocket as code: drift check and export.")
    commands = top.add_subparsers(dest="command", required=True)

    def api_flags(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--api-url", help=f"Core API base URL (default ${rr_config.API_URL_ENV})")
        sub.add_argument("--token", help=f"user token (default ${rr_config.TOKEN_ENV}; prefer the variable)")

    drift = commands.add_parser("drift", help="compare the account with the code; exit 0 none, 1 drift, 2 error")
    drift.add_argument("--cwd", default=".", help="the Pulumi project folder (default: .)")
    drift.add_argument("--stack", help="the stack (default: the selected one)")
    drift.add_argument("--json", action="store_true", help="print the differences as JSON")
    api_flags(drift)
    drift.set_defaults(run=_drift)

    export = commands.add_parser("export", help="write a Pulumi program that adopts an existing client")
    export.add_argument("--client-id", required=True, help="the client (organisation) to export")
    export.add_argument("--out", default="rr-export", help="output folder (default: rr-export)")
    export.add_argument("--virtualenv", default=sys.prefix,
                        help="the Python environment the program runs with (default: the one running rr-pulumi)")
    api_flags(export)
    export.set_defaults(run=_export)
    rules_explain.add_parser(commands)  # `rr-pulumi rules explain` (rr_pulumi/explain.py)
    return top


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
