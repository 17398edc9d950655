"""`rr-pulumi`: the command line of rr-pulumi.

    rr-pulumi drift   [--cwd DIR] [--stack NAME] [--json] [--fail-on-unmanaged]
                                                            drift report; exit 0 no drift, 1 drift, 2 could not check
    rr-pulumi export  (--client-id ID | --all) [--out DIR] [--requirement SPEC] [--force]
                                                            write a Pulumi program that adopts existing clients
    rr-pulumi recover [--stack NAME] [--dry-run]            repair a stack after `pulumi` was killed mid-`up`
    rr-pulumi rules explain|diff|lint ...                   how rules judge a request; which requests a change
                                                            flips (exit 0 none, 1 some, 2 could not check); lint
    rr-pulumi inventory [--cwd DIR] [--stack ORG/PROJECT/STACK ...] [--json]
                                                            every object of the account and the stack(s) managing it;
                                                            exit 0 clean, 1 unmanaged or doubly claimed, 2 error
    rr-pulumi docs    [NAME]                                print a page of the documentation (offline)
    rr-pulumi --version

For `drift` and `recover` the API URL and token come from the stack configuration, as for the provider, then from
REQUESTROCKET_API_URL / REQUESTROCKET_TOKEN (`drift --api-url/--token` override them). For `export` they come from
--api-url/--token, else the environment, else a connection profile of a stack (`--profile NAME`). For `inventory`
they come from --api-url/--token, else the environment, else the selected stack of the project in --cwd.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence

from rr_pulumi.api import config as rr_config
from rr_pulumi.api.errors import RequestRocketError


def version() -> str:
    from importlib import metadata

    try:
        return metadata.version("rr-pulumi")
    except metadata.PackageNotFoundError:
        return "unknown"


def _drift(args: argparse.Namespace) -> int:
    from rr_pulumi.tools import drift

    try:
        report = drift.check(Path(args.cwd), args.stack, args.api_url, args.token, args.fail_on_unmanaged)
    except Exception as exc:  # noqa: BLE001 - a scheduled job needs exit 2 and one line, whatever went wrong
        reason = drift.one_line(exc)
        stack = getattr(exc, "stack", None) or args.stack  # the selected stack's name, once pulumi has told it
        if args.json:
            print(drift.render_error(reason, stack, as_json=True), end="")
        print(drift.render_error(reason, stack, as_json=False), end="", file=sys.stderr)
        return drift.CANNOT_CHECK
    print(drift.render_json(report) if args.json else drift.render(report), end="")
    return drift.DRIFT if report.differences else drift.NO_DRIFT


def _export_settings(args: argparse.Namespace) -> rr_config.Settings:
    """--api-url/--token, else a stack's connection profile (--profile), else the environment."""
    if args.profile:
        from rr_pulumi.tools.pulumi_cli import Pulumi

        settings = Pulumi(Path(args.cwd), args.stack).connection_settings(args.profile)
    else:
        settings = rr_config.settings_from()
    settings = replace(settings, api_url=(args.api_url or settings.api_url).rstrip("/"),
                       token=args.token or settings.token)
    if not settings.token:
        raise rr_config.ConfigurationError(
            f"No RequestRocket API token is configured. Set the environment variable {rr_config.TOKEN_ENV} "
            "(or pass --token, or --profile NAME to use a stack's connection profile).")
    return settings


def _export(args: argparse.Namespace) -> int:
    from rr_pulumi.tools import export
    from rr_pulumi.tools.scaffold import ScaffoldError, local_requirement_warning, requirement

    try:
        settings = _export_settings(args)
        requirement_line = args.requirement or requirement()
        written = export.export(settings, Path(args.out), client_id=args.client_id, every_client=args.all,
                                profile=args.profile, requirement_line=requirement_line, force=args.force)
    except (RequestRocketError, ScaffoldError) as exc:
        print(f"rr-pulumi export: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    warning = local_requirement_warning(requirement_line)
    if warning:
        print(f"rr-pulumi export: {warning}", file=sys.stderr)
    return 0


def _recover(args: argparse.Namespace) -> int:
    from rr_pulumi.tools import recovery

    return recovery.run(args)


DOCS = Path(__file__).parents[1] / "docs"  # docs/*.md of the repository, shipped in the package (a link in a checkout)
README = "readme"


def doc_pages() -> dict[str, Path]:
    """The documentation pages shipped with rr-pulumi, by name (`emulator` for docs/emulator.md)."""
    return {path.stem: path for path in sorted(DOCS.glob("*.md"))}


def readme_text() -> str:
    """README.md: the checkout's file (an editable install), else the package's description in its metadata."""
    from importlib import metadata

    checkout = Path(__file__).parents[2] / "README.md"
    if checkout.exists() and (checkout.parent / "pyproject.toml").exists():
        return checkout.read_text()
    try:
        return metadata.metadata("rr-pulumi").get_payload() or ""  # type: ignore[attr-defined]
    except metadata.PackageNotFoundError:
        return ""


def _docs(args: argparse.Namespace) -> int:
    pages = doc_pages()
    name = (args.name or "").removeprefix("docs/").removesuffix(".md")
    if not name:
        print("rr-pulumi's documentation, offline: rr-pulumi docs NAME (e.g. rr-pulumi docs emulator | less)")
        print(f"  {README:20s} README.md: install, writing a stack, CI, the emulator, testing rules")
        for page, path in pages.items():
            title = next((line[2:].strip() for line in path.read_text().splitlines() if line.startswith("# ")), "")
            print(f"  {page:20s} docs/{path.name}: {title}")
        return 0
    if name.lower() == README:
        print(readme_text(), end="")
        return 0
    if name not in pages:
        print(f"rr-pulumi docs: no page named {args.name!r}; pages: {', '.join([README, *pages])}", file=sys.stderr)
        return 2
    print(pages[name].read_text(), end="")
    return 0


def parser() -> argparse.ArgumentParser:
    from rr_pulumi.tools.scaffold import add_requirement_argument

    top = argparse.ArgumentParser(prog="rr-pulumi", description="RequestRocket as code: drift check, export and "
                                  "recovery.")  # fmt: skip
    top.add_argument("--version", action="version", version=f"rr-pulumi {version()}")
    commands = top.add_subparsers(dest="command", required=True)

    def api_flags(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--api-url", help=f"Core API base URL (default: the stack config, ${rr_config.API_URL_ENV})")
        sub.add_argument("--token", help=f"user token (default: the stack config, ${rr_config.TOKEN_ENV}; prefer "
                         "those to this flag)")  # fmt: skip

    drift = commands.add_parser("drift", help="compare the account with the code; exit 0 none, 1 drift, 2 error")
    drift.add_argument("--cwd", default=".", help="the Pulumi project folder (default: .)")
    drift.add_argument("--stack", help="the stack (default: the selected one)")
    drift.add_argument("--json", action="store_true", help="print one JSON object: the differences, or the error")
    drift.add_argument("--fail-on-unmanaged", action="store_true",
                       help="count objects under the stack's parents that it does not manage as drift (for an "
                       "account where nothing else writes there; default: listed as information only)")
    api_flags(drift)
    drift.set_defaults(run=_drift)

    export = commands.add_parser("export", help="write a Pulumi program that adopts existing clients")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--client-id", help="the client (organisation) to export")
    which.add_argument("--all", action="store_true", help="every client the token can see, one folder each")
    export.add_argument("--out", default="rr-export", help="output folder (default: rr-export)")
    export.add_argument("--profile", help="read the API URL and token from this connection profile of a stack's "
                        "configuration (see --cwd, --stack); the exported resources declare profile=NAME")
    export.add_argument("--cwd", default=".", help="with --profile: the Pulumi project folder (default: .)")
    export.add_argument("--stack", help="with --profile: the stack (default: the selected one)")
    add_requirement_argument(export)
    export.add_argument("--force", action="store_true", help="write into folders that hold files (the exported "
                        "files are overwritten, other files are left as they are)")
    api_flags(export)
    export.set_defaults(run=_export)

    from rr_pulumi.tools.recovery import add_arguments

    recover = commands.add_parser("recover", help="repair a stack after `pulumi` was killed mid-`up`")
    add_arguments(recover)
    recover.set_defaults(run=_recover)

    from rr_pulumi.tools import inventory

    inventory.add_parser(commands)

    docs = commands.add_parser("docs", help="print a page of rr-pulumi's documentation (offline); no NAME: the list")
    docs.add_argument("name", nargs="?", help="the page: readme, or a docs/ page such as emulator, resources, policy")
    docs.set_defaults(run=_docs)

    from rr_pulumi.tools.scaffold import add_parser as add_new_command

    add_new_command(commands)

    from rr_pulumi.tools import explain as rules_explain, rules_diff

    rules_diff.add_parsers(rules_explain.add_parser(commands))  # `rr-pulumi rules explain|diff|lint`
    return top


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
