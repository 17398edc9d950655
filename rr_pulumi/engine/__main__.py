"""`python -m rr_pulumi.engine` (console script `rr-pulumi-engine`).

    ensure        find or build the engine; print its folder
    env BACKEND   print `export` lines for a local file backend in BACKEND
    pulumi ARGS   run the engine's `pulumi` with the project's local backend (.rr/state)
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from rr_pulumi.engine import EngineError, engine_env, ensure_engine

DEFAULT_BACKEND = Path(".rr") / "state"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args else "ensure"
    try:
        if command == "ensure":
            print(ensure_engine())
        elif command == "env":
            env = engine_env(Path(args[0]) if args else DEFAULT_BACKEND)
            for key in ("PATH", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_HOME",
                        "PULUMI_SKIP_UPDATE_CHECK", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
                        "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING"):
                print(f"export {key}={shlex.quote(env[key])}")
        elif command == "pulumi":
            env = engine_env(DEFAULT_BACKEND)
            os.execvpe("pulumi", ["pulumi", *args], env)
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except EngineError as error:
        print(f"rr-pulumi engine: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
