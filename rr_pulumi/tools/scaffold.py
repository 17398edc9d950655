"""`rr-pulumi new [DIR]`: a ready RequestRocket project, offline (what `pulumi new` would do with a template).

It writes Pulumi.yaml (a virtualenv `venv` inside the project, created by `pulumi install`, and the project plugin
rr-provider/ that serves the providers with rr-pulumi's server under any `pulumi`), requirements.txt
(rr-pulumi as it was installed here, or --requirement), a program declaring a small organisation, .gitignore,
Pulumi.<stack>.yaml with the settings and the secrets to set, and two GitHub workflows: a pull-request preview
comment and a scheduled drift check, both installing the official Pulumi CLI with `pulumi/actions`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

from rr_pulumi.api import config as rr_config
from rr_pulumi.engine import PROJECT_PLUGINS_YAML, write_project_plugin
from rr_pulumi.api.errors import ConfigurationError
from rr_pulumi.installation import SOURCE, installed_requirement

TEMPLATES = Path(__file__).parents[1] / "templates"
EMULATOR_URL = "http://127.0.0.1:8787"
EMULATOR_TOKEN = "u-local-dev-token"
EMULATOR_PER_MINUTE = 1000  # the plan of an `rr-emulator --user` without one: Team (rr_pulumi/emulator/backend.py)
VIRTUALENV = "venv"
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")  # Pulumi's rule for project and stack names
FORCE_HINT = ("choose an empty or new folder, or pass --force to write the project's files over it (other files "
              "are left as they are)")


class ScaffoldError(ValueError):
    """`rr-pulumi new` refused: nothing was written."""


def project_name(folder: Path) -> str:
    """A Pulumi project name from a folder name (letters, digits, `-`, `_`, `.`)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.resolve().name).strip("-.")
    return name or "requestrocket"


def requirement(extras: str = "") -> str:
    """rr-pulumi as it was installed here, as a requirements.txt line (`installation.installed_requirement`)."""
    line = installed_requirement(extras)
    if line is None:
        raise ScaffoldError("rr-pulumi is not installed in this Python, so how to install it is unknown: pass "
                            "--requirement SPEC (the requirements.txt line for rr-pulumi)")
    return line


# Plain YAML scalars that read back as the same string in YAML 1.1 and 1.2: a word starting with a letter, without
# the words those versions read as booleans or null. Anything else is double-quoted with every quote, backslash and
# non-printable character escaped (line breaks, NEL, U+2028/2029 and BOM included, which YAML would fold or drop).
_PLAIN_YAML = re.compile(r"[A-Za-z][A-Za-z0-9._/:@+-]*")  # fullmatch: `$` would pass a final newline
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def yaml_scalar(text: str) -> str:
    """`text` as a YAML scalar that reads back as the same string."""
    if _PLAIN_YAML.fullmatch(text) and text.lower() not in _YAML_WORDS and not text.endswith(":"):
        return text
    quoted = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            quoted.append("\\" + char)
        elif char.isprintable():
            quoted.append(char)
        else:
            letter, width = ("x", 2) if code <= 0xFF else ("u", 4) if code <= 0xFFFF else ("U", 8)
            quoted.append(f"\\{letter}{code:0{width}x}")
    return '"' + "".join(quoted) + '"'


def requirements_txt(requirement_line: str) -> str:
    """A project's requirements.txt (`rr-pulumi new` and `rr-pulumi export`)."""
    return ("# rr-pulumi as installed where this project was made (a wheel file or a git URL), or --requirement;\n"
            "# once rr-pulumi is published on PyPI this line becomes: rr-pulumi>=0.1\n"
            f"{requirement_line}\n")


def local_requirement_warning(requirement_line: str) -> Optional[str]:
    """The warning for a requirement that only this machine can install (a `file://` wheel or folder)."""
    found = re.search(r"file://\S+", requirement_line)
    if not found:
        return None
    return (f"warning: requirements.txt installs rr-pulumi from {found.group(0)}, which only this machine has: "
            "`pip install -r requirements.txt` fails in CI (GitHub workflows) and on other machines; pass "
            f"--requirement SPEC to name a source they can reach (e.g. 'rr-pulumi @ {SOURCE}@<tag>')")


def refuse_occupied(folders: list[Path], force: bool) -> None:
    """Refuse, before anything is written, a folder that is a file, or (unless `force`) one that holds files."""
    files = [folder for folder in folders if folder.exists() and not folder.is_dir()]
    if files:
        raise ScaffoldError(f"{files[0]} exists and is not a folder")
    reasons = [reason for reason in map(occupied, folders) if reason]
    if reasons and not force:
        raise ScaffoldError(f"{'; '.join(reasons)}; {FORCE_HINT}")


def occupied(folder: Path) -> Optional[str]:
    """Why `folder` cannot take a project without --force (it holds files), else None."""
    present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    if not present:
        return None
    return f"{folder} is not empty ({', '.join(present[:5])}{', ...' if len(present) > 5 else ''})"


def workflow_files(stack: str) -> dict[str, str]:
    """The GitHub workflows of a new project, by file name: `__STACK__` and `__PULUMI_VERSION__` (the Pulumi CLI
    `pulumi/actions` installs: the version rr-pulumi's engine is, which rr-pulumi is checked with) filled in."""
    from rr_pulumi.engine import engine_version

    return {path.name: path.read_text().replace("__STACK__", yaml_scalar(stack))
            .replace("__PULUMI_VERSION__", engine_version())
            for path in sorted((TEMPLATES / "github" / "workflows").glob("*.yml"))}


def project_files(name: str, stack: str, api_url: str, emulator: bool, requirement_line: str) -> dict[str, str]:
    """Every file of a new project, by path relative to its folder."""
    settings = f"  requestrocket:apiUrl: {yaml_scalar(api_url)}\n"
    if emulator:
        data_plane = rr_config.emulator_data_plane_url(api_url)
        settings += (f"  requestrocket:dataPlaneUrl: {yaml_scalar(data_plane)}"
                     "   # Proxy.url on the emulator's data plane\n")
        settings += (f"  requestrocket:rateLimitPerMinute: {EMULATOR_PER_MINUTE}   # the emulator user's plan (Team); "
                     "set your own plan's limit for the real service\n")
        token_hint = (f"#   pulumi config set --secret requestrocket:token {EMULATOR_TOKEN}   # the emulator's user, "
                      f"started with: rr-emulator --port {urlsplit(api_url).port or 80} --user me={EMULATOR_TOKEN}")
    else:
        token_hint = "#   pulumi config set --secret requestrocket:token u-...   # your RequestRocket user token"
    workflow = workflow_files(stack)
    return {
        "Pulumi.yaml": (f"name: {yaml_scalar(name)}\n"
                        "description: A RequestRocket organisation as code (rr-pulumi)\n"
                        "runtime:\n"
                        "  name: python\n"
                        "  options:\n"
                        f"    virtualenv: {VIRTUALENV}   # created by `pulumi install` from requirements.txt\n"
                        f"{PROJECT_PLUGINS_YAML}"),
        f"Pulumi.{stack}.yaml": (
            f"# Stack {stack}. Plain settings live here; secrets only through `pulumi config set --secret`, which\n"
            "# stores them encrypted with this stack's passphrase or secrets provider:\n"
            f"{token_hint}\n"
            "#   pulumi config set --secret callerKey <the API key callers send to the proxy>\n"
            "#   pulumi config set --secret upstreamToken <the bearer token of the upstream API>\n"
            "# Optional: clientName (default Example Org), region (default eu-west-1),\n"
            "# requestrocket:rateLimitPerMinute (your plan's limit; default 100).\n"
            "config:\n"
            f"{settings}"),
        "requirements.txt": requirements_txt(requirement_line),
        "__main__.py": (TEMPLATES / "project" / "__main__.py").read_text(),
        ".gitignore": f"{VIRTUALENV}/\n__pycache__/\n*.pyc\n",
        ".github/workflows/rr-preview.yml": workflow["rr-preview.yml"],
        ".github/workflows/rr-drift.yml": workflow["rr-drift.yml"],
        ".github/scripts/preview_comment.py": (TEMPLATES / "github" / "scripts" / "preview_comment.py").read_text(),
    }


def create(folder: Path, stack: str = "dev", api_url: str | None = None, emulator: str | None = None,
           force: bool = False, requirement_line: str | None = None) -> list[Path]:
    """Write a new project into `folder`; refuse a non-empty folder unless `force`. Returns the written paths."""
    if not NAME_PATTERN.fullmatch(stack):
        raise ScaffoldError(f"--stack {stack!r}: use letters, digits, '-', '_' or '.'")
    if api_url and emulator:
        raise ScaffoldError("--api-url and --emulator: choose one (--emulator sets the emulator's URL)")
    for flag, url in (("--api-url", api_url), ("--emulator", emulator)):
        if not url:
            continue
        try:
            rr_config.check_url(flag, url)  # the check every later command makes of the URL written here
        except ConfigurationError as exc:
            raise ScaffoldError(str(exc)) from None
    refuse_occupied([folder], force)
    files = project_files(project_name(folder), stack, emulator or api_url or rr_config.DEFAULT_API_URL,
                          emulator is not None, requirement_line or requirement())
    written = []
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    written.append(write_project_plugin(folder))
    return written


def _run(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    try:
        requirement_line = args.requirement or requirement()
        create(folder, stack=args.stack, api_url=args.api_url, emulator=args.emulator, force=args.force,
               requirement_line=requirement_line)
    except ScaffoldError as exc:
        print(f"rr-pulumi new: {exc}", file=sys.stderr)
        return 2
    warning = local_requirement_warning(requirement_line)
    if warning:
        print(f"rr-pulumi new: {warning}", file=sys.stderr)
    venv = folder / VIRTUALENV
    print(f"Created a RequestRocket project in {folder}. Next:\n"
          f"  cd {folder}\n"
          f"  pulumi install                 # creates {venv.name}/ and installs requirements.txt\n"
          f"  pulumi stack init {args.stack}\n"
          f"  (set the secrets listed in Pulumi.{args.stack}.yaml, then) pulumi up")
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `rr-pulumi new` on rr-pulumi's sub-command parser."""
    new = commands.add_parser("new", help="write a ready RequestRocket project (offline `pulumi new`)",
                              description=__doc__.split("\n\n")[1], formatter_class=argparse.RawTextHelpFormatter)
    new.add_argument("dir", nargs="?", default=".", help="the project folder, empty or new (default: .)")
    new.add_argument("--stack", default="dev", help="the first stack's name (default: dev)")
    new.add_argument("--api-url", help=f"the Core API URL (default: {rr_config.DEFAULT_API_URL})")
    new.add_argument("--emulator", nargs="?", const=EMULATOR_URL, metavar="URL",
                     help=f"set up for a local `rr-emulator` (default URL {EMULATOR_URL})")
    add_requirement_argument(new)
    new.add_argument("--force", action="store_true", help="write into a non-empty folder")
    new.set_defaults(run=_run)


def add_requirement_argument(command: argparse.ArgumentParser) -> None:
    """--requirement, for every command that writes a project's requirements.txt."""
    command.add_argument("--requirement", metavar="SPEC",
                         help="the requirements.txt line for rr-pulumi, e.g. 'rr-pulumi @ git+https://...@v0.1.0' "
                              "(default: rr-pulumi as it was installed here: its wheel file or git URL)")
