"""The main job (`make demo`): start the local Core API emulator, `pulumi up` the root stack, show the result.

State lives in .rr/ (the emulator's SQLite file and the stack's file backend), so a second run finds
everything in place and reports no changes. Set RR_DEMO_PORT to move the emulator off port 8765. The `pulumi` is
the one rr-pulumi's tools choose (an official one in the supported range, else rr-pulumi's engine; see
docs/toolchain.md), and the root Pulumi.yaml's project plugin serves the providers with rr-pulumi's server.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from rr_pulumi.emulator.dataplane import data_plane_url
from rr_pulumi.emulator.process import EmulatorProcess
from rr_pulumi.engine import find_toolchain
from rr_pulumi.engine.stack import LocalStack

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".rr"
STACK = "demo"


def demo_secret(stack: LocalStack, key: str) -> None:
    """Generate a credential secret for the demo once; later runs keep it, so nothing rotates."""
    existing = stack.run("config", "get", key, "--stack", STACK, check=False)
    if existing.code != 0:
        stack.set_config(key, f"demo-{secrets.token_urlsafe(18)}", secret=True)


def main() -> int:
    WORK.mkdir(exist_ok=True)
    chain = find_toolchain()
    print(f"pulumi v{chain.version} from {chain.origin}: {chain.pulumi}", flush=True)
    port = int(os.environ.get("RR_DEMO_PORT", "8765"))
    with EmulatorProcess(db=WORK / "emulator.db", users=("demo:team",), port=port) as emulator:
        print(f"Core API emulator: {emulator.url} (database {WORK / 'emulator.db'})", flush=True)
        stack = LocalStack(ROOT, stack=STACK, backend_dir=WORK / "state").init()
        stack.set_config("requestrocket:apiUrl", emulator.url)
        stack.set_config("requestrocket:token", emulator.token("demo"), secret=True)
        stack.set_config("requestrocket:dataPlaneUrl", data_plane_url(emulator.url))  # proxy_url is callable
        demo_secret(stack, "proxyApiKey")
        demo_secret(stack, "upstreamToken")
        result = stack.up(echo=True, check=False)
        if result.code != 0:
            print("pulumi up failed; see above.", file=sys.stderr)
            return result.code
        print("\nStack outputs (secrets stay hidden):")
        print(json.dumps(stack.outputs(), indent=2))
        stats = emulator.stats()
        print(f"\nCore API calls made by this run: {stats['total']}")
        for route, methods in sorted(stats["routes"].items()):
            print(f"  {route}: {methods}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
