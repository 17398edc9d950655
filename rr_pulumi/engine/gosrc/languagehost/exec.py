# Runs a Pulumi Python program for rr-pulumi's language host: configures the SDK, then runs the program
# in a stack. Exit code 32 tells the host the error has already been reported to the engine.
#
# Errors: a pulumi.RunError or an rr-pulumi error (rr_pulumi.api.errors.RequestRocketError) is reported as its one
# line; any other exception as a traceback of the program's own frames (this runner, asyncio, runpy and the
# Pulumi runtime's frames left out). RR_PULUMI_TRACEBACK=1 reports every error with its full traceback.
import argparse
import asyncio
import logging
import os
import runpy
import signal
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor

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
# As Pulumi's own runner does: the SDK sends every resource registration from the loop's default executor, so its
# size bounds how many registrations wait on the engine at once (asyncio's own default is cores + 4, 6 on 2 cores,
# whatever the engine's --parallel).
executor = ThreadPoolExecutor(max_workers=max(int(args.parallel or 0), 1) * 4)
loop.set_default_executor(executor)


def wants_tracebacks():
    return os.environ.get("RR_PULUMI_TRACEBACK", "").strip().lower() in ("1", "true", "yes", "on")


def is_one_line_error(error):
    """A RunError, or an error rr-pulumi raised on purpose (its module is loaded if the program raised one)."""
    # rr-pulumi 0.1 named the module rr_pulumi.errors: a project may pin it while the engine is this one
    rr_errors = sys.modules.get("rr_pulumi.api.errors") or sys.modules.get("rr_pulumi.errors")
    return isinstance(error, pulumi.RunError) or (
        rr_errors is not None and isinstance(error, rr_errors.RequestRocketError))


RUNNER_FILES = ("<string>", "<frozen runpy>", os.path.dirname(asyncio.__file__) + os.sep,
                os.path.dirname(pulumi.runtime.__file__) + os.sep)


def program_traceback(error):
    """The traceback of the program's own frames: what the runner added tells the user nothing."""
    report = traceback.TracebackException.from_exception(error)
    frames = [f for f in report.stack if not f.filename.startswith(RUNNER_FILES)]
    report.stack = traceback.StackSummary.from_list(frames)
    return "".join(report.format()).rstrip()


def report(error):
    if wants_tracebacks():
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip()
    elif is_one_line_error(error):
        text = " ".join(str(error).split("\n"))
    else:
        text = program_traceback(error)
    pulumi.log.error(text)


def run_program():
    runpy.run_path(args.program, run_name="__main__")


code = 0
try:
    loop.run_until_complete(pulumi.runtime.run_in_stack(run_program))
except Exception as error:  # reported to the engine, which prints it under the stack
    report(error)
    code = BAIL
finally:
    executor.shutdown(wait=True)
    loop.close()
    sys.stdout.flush()
    sys.stderr.flush()
sys.exit(code)
