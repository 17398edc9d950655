"""`rr-pulumi-engine` (or `python -m rr_pulumi.engine`): the Pulumi toolchain rr-pulumi runs with.

    ensure            find the toolchain (an official `pulumi`, else build our engine); print its folder
    which             say which `pulumi` rr-pulumi runs, its version and why (builds nothing)
    key               print this release's engine cache key (a CI cache key; builds nothing)
    shell             print the line that puts the engine on PATH: eval "$(rr-pulumi-engine shell)"
    vet               `go vet` our language host's Go sources (a quality gate of `make unit`; builds nothing)
    prune [--remove]  list engine folders of other releases in the cache; remove them with --remove
    demo-env [DIR]    demo and tests only: export lines for a throw-away backend in DIR and the demo passphrase
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from rr_pulumi import __version__
from rr_pulumi.engine import (
    EngineError,
    cache_root,
    engine_env,
    engine_folder,
    engine_version,
    ensure_engine,
    find_toolchain,
    path_export,
    remove_folder,
    stale_folders,
    supported_range,
    vet_language_host,
)

DEMO_BACKEND = Path(".rr") / "state"
DEMO_ENV_KEYS = ("PATH", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_HOME", "PULUMI_SKIP_UPDATE_CHECK",
                 "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING")


def _ensure(args: argparse.Namespace) -> int:
    print(ensure_engine())
    return 0


def _which(args: argparse.Namespace) -> int:
    chain = find_toolchain(verbose=False, build=False)
    print(f"{chain.pulumi} v{chain.version} (from {chain.origin}; supported {supported_range()})")
    return 0


def _key(args: argparse.Namespace) -> int:
    print(engine_folder().name)
    return 0


def _shell(args: argparse.Namespace) -> int:
    print(path_export(ensure_engine()))
    return 0


def _prune(args: argparse.Namespace) -> int:
    stale = stale_folders()
    if not stale:
        print(f"no stale engine folders in {cache_root()} (this release uses {engine_folder().name})")
        return 0
    for folder in stale:
        if not args.remove:
            print(folder)
        elif remove_folder(folder):
            print(f"removed {folder}")
        else:
            print(f"skipped {folder}: a build is using it", file=sys.stderr)
    if not args.remove:
        print(f"(this release uses {engine_folder().name}; `rr-pulumi-engine prune --remove` deletes the folders "
              "above, which other installed rr-pulumi releases would then rebuild)", file=sys.stderr)
    return 0


def _vet(args: argparse.Namespace) -> int:
    vet_language_host()
    print("go vet: no findings in the language host")
    return 0


def _demo_env(args: argparse.Namespace) -> int:
    env = engine_env(args.backend)
    for key in DEMO_ENV_KEYS:
        print(f"export {key}={shlex.quote(env[key])}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="rr-pulumi-engine", description="The Pulumi toolchain rr-pulumi runs with: "
                                  f"$RR_PULUMI_TOOLCHAIN or an official `pulumi` {supported_range()} on PATH, else "
                                  f"Pulumi v{engine_version()} built from Go modules and cached.")
    top.add_argument("--version", action="version",
                     version=f"rr-pulumi-engine {__version__} (Pulumi engine v{engine_version()})")
    commands = top.add_subparsers(dest="command")
    commands.add_parser("ensure", help="find the toolchain, building our engine only when no official `pulumi` is "
                        "usable; print its folder (the default)").set_defaults(run=_ensure)
    commands.add_parser("which", help="say which `pulumi` rr-pulumi runs and why (builds nothing)").set_defaults(
        run=_which)
    commands.add_parser("key", help="print this release's engine cache key (for a CI cache; builds nothing)"
                        ).set_defaults(run=_key)
    commands.add_parser("shell", help='print only the PATH export: eval "$(rr-pulumi-engine shell)"').set_defaults(
        run=_shell)
    commands.add_parser("vet", help="`go vet` the language host's Go sources (builds nothing)").set_defaults(run=_vet)
    prune = commands.add_parser("prune", help="list engine folders of other releases; --remove deletes them")
    prune.add_argument("--remove", action="store_true", help="delete the listed folders")
    prune.set_defaults(run=_prune)
    demo = commands.add_parser("demo-env", help="demo and tests only: a throw-away backend and the demo passphrase")
    demo.add_argument("backend", nargs="?", type=Path, default=DEMO_BACKEND, help="state folder (default .rr/state)")
    demo.set_defaults(run=_demo_env)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return getattr(args, "run", _ensure)(args)
    except EngineError as error:
        print(f"rr-pulumi-engine: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
