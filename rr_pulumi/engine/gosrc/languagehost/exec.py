# Runs a Pulumi Python program for rr-pulumi's language host: configures the SDK, then runs the program
# in a stack. Exit code 32 tells the host the error has already been reported to the engine.
import argparse
import asyncio
import logging
import os
import runpy
import signal
import sys
import traceback

BAIL = 32

try:
    import pulumi
    import pulumi.runtime
except ImportError:
    print(traceback.format_exc(), file=sys.stderr)
    print("The Pulumi SDK is not installed in this Python environment; install the project's requirements.",
          file=sys.stderr)
    sys.exit(1)

parser = argparse.ArgumentParser(description="Run a Pulumi Python program")
for flag in ("--monitor", "--engine", "--project", "--stack", "--organization", "--pwd", "--parallel", "--dry-run"):
    parser.add_argument(flag)
parser.add_argument("program")
parser.add_argument("args", nargs="*")
args = parser.parse_args()

pulumi.runtime.set_all_config(pulumi.runtime.get_config_env(), pulumi.runtime.get_config_secret_keys_env())
pulumi.runtime.configure(
    pulumi.runtime.Settings(
        monitor=args.monitor,
        engine=args.engine,
        project=args.project,
        stack=args.stack,
        organization=args.organization or "organization",
        parallel=int(args.parallel or 0),
        dry_run=args.dry_run == "true",
    )
)
sys.argv = [args.program] + args.args
if args.pwd:
    os.chdir(args.pwd)
sys.path.insert(0, args.program if os.path.isdir(args.program) else os.path.dirname(os.path.abspath(args.program)))

# The engine interrupts the program when a preview fails or is cancelled; that is not a program error to report.
signal.signal(signal.SIGINT, lambda *_: os._exit(BAIL))

# Unresolved outputs are expected when a program fails; asyncio's complaints about them are noise.
logging.getLogger("asyncio").setLevel(logging.CRITICAL)
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
code = 0
try:
    loop.run_until_complete(pulumi.runtime.run_in_stack(lambda: runpy.run_path(args.program, run_name="__main__")))
except pulumi.RunError as error:
    pulumi.log.error(str(error))
    code = BAIL
except Exception:
    pulumi.log.error("Program failed with an unhandled exception:\n" + traceback.format_exc())
    code = BAIL
finally:
    loop.close()
    sys.stdout.flush()
    sys.stderr.flush()
sys.exit(code)
