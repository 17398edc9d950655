"""How a pull-request preview and a drift check meet a wrong token or an unreachable API: exit code, seconds, lines.

    python benchmarks/connection_check.py [N]

A stack of N resources (default 12: N/4 clients with three targets each) is deployed on a local emulator, then,
with nothing changed in the program:

- `pulumi preview` and `pulumi preview --refresh` with a wrong token (`requestrocket:token` set to one the API
  rejects);
- the same with the API down (the emulator stopped: its port refuses connections);
- `rr-pulumi drift` with the API down;
- `pulumi preview` with the wrong token and `requestrocket:skipCredentialsValidation` true (the check is off).

Printed per case: the exit code, seconds, the distinct error texts (Pulumi prints each under its resource and again
under Diagnostics; a refresh prints one per resource it was reading), and the lines that say "error".
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from conftest import write_project  # noqa: E402

from rr_pulumi.emulator.process import EmulatorProcess  # noqa: E402
from rr_pulumi.engine.stack import LocalStack  # noqa: E402

PROGRAM = """
import pulumi
from rr_pulumi import Client, Target
for i in range({clients}):
    org = Client(f"org{{i}}", client_name=f"connection-check-{{i}}")
    for j in range(3):
        Target(f"api{{i}}-{{j}}", client_id=org.id, target_name=f"api-{{j}}", target_base_url="https://api.example.com",
               target_region="us-east-1")
"""


def figures(result, seconds: float) -> str:
    if "--show" in sys.argv:
        print(result.output)
    lines = [line for line in result.output.splitlines() if "error" in line.lower()]
    texts = {m.group(1).strip().removeprefix("Preview failed: ") for m in re.finditer(r"error: (.*)", result.output)}
    distinct = len(texts - {"preview failed"})
    return f"exit {result.code}, {seconds:5.1f} s, {distinct} distinct error(s), {len(lines):2d} lines saying error"


def timed(stack: LocalStack, *args: str):
    start = time.monotonic()
    result = stack.run(*args, "--stack", stack.stack, check=False)
    return result, time.monotonic() - start


def main() -> None:
    count = int(next((a for a in sys.argv[1:] if a.isdigit()), 12))
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess(users=("bench:team",), rate_limit=100_000) as emu:
        folder = write_project(Path(tmp) / "project", PROGRAM.format(clients=max(1, count // 4)))
        stack = LocalStack(folder, stack="bench", backend_dir=Path(tmp) / "state").init()
        stack.set_config("requestrocket:apiUrl", emu.url)
        stack.set_config("requestrocket:token", emu.token("bench"), secret=True)
        stack.up()
        rows = []
        stack.set_config("requestrocket:token", "u-wrong-token", secret=True)
        for args in (("preview",), ("preview", "--refresh")):
            rows.append((f"wrong token: pulumi {' '.join(args)}", figures(*timed(stack, *args))))
        stack.set_config("requestrocket:skipCredentialsValidation", "true")
        rows.append(("wrong token, check skipped: pulumi preview", figures(*timed(stack, "preview"))))
        stack.run("config", "rm", "--stack", stack.stack, "requestrocket:skipCredentialsValidation")
        stack.set_config("requestrocket:token", emu.token("bench"), secret=True)
        emu.stop()  # the API is down: nothing listens on its port any more
        for args in (("preview",), ("preview", "--refresh")):
            rows.append((f"API down: pulumi {' '.join(args)}", figures(*timed(stack, *args))))
        start = time.monotonic()
        done = subprocess.run([str(Path(sys.executable).parent / "rr-pulumi"), "drift", "--stack", stack.stack],
                              cwd=folder, env=stack.env, capture_output=True, text=True)
        drift = type("R", (), {"code": done.returncode, "output": done.stdout + done.stderr})
        rows.append(("API down: rr-pulumi drift", figures(drift, time.monotonic() - start)))
        for name, text in rows:
            print(f"{name:45s} {text}")
        emu.start()  # on the same port and database
        stack.destroy()


if __name__ == "__main__":
    main()
