"""One token check per command: a pull-request preview (even a no-op one, even `--refresh`, which reads with the
config recorded at the last `up`) fails with one error naming the problem and the setting that skips the check,
when the token is wrong or the API is down; `requestrocket:skipCredentialsValidation` turns the check off; a
planned change is refused at preview with a bad token either way."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from rr_pulumi.emulator.process import EmulatorProcess

PROGRAM = """
import pulumi
from rr_pulumi import Client, Target
config = pulumi.Config()
org = Client("org", client_name="token-check-org")
Target("api", client_id=org.id, target_name=config.require("targetName"),
       target_base_url="https://api.example.com", target_region="us-east-1")
for i in range(3):
    Target(f"more{i}", client_id=org.id, target_name=f"more-{i}", target_base_url="https://api.example.com",
           target_region="us-east-1")
"""
SKIP = "`pulumi config set requestrocket:skipCredentialsValidation true` skips the check"


def errors(output: str) -> set[str]:
    """The distinct error texts of a command's output (Pulumi prints each under its resource and again in the
    Diagnostics section), without the engine's own closing `preview failed`."""
    found = {m.group(1).strip() for m in re.finditer(r"error: (.*)", output)}
    found = {e.removeprefix("Preview failed: ") for e in found if e not in ("preview failed", "update failed")}
    # rr-pulumi's provider server checks at Configure; Pulumi's own (a project without the project plugin) at the
    # first resource's check, which the engine prefixes with the resource: the same one error either way.
    return {re.sub(r"^\S+ resource '[^']*' has a problem: ", "", e) for e in found}


def writes(emulator) -> set[str]:
    return {m for methods in emulator.stats()["routes"].values() for m in methods} - {"GET"}


def test_noop_preview_makes_one_call_and_the_check_can_be_skipped(rr_stack, emulator):
    stack = rr_stack(PROGRAM)
    stack.set_config("targetName", "before")
    stack.up()

    emulator.reset_stats()
    assert stack.preview("--expect-no-changes", check=False).code == 0
    assert emulator.stats()["total"] == 1  # the command's token check, whatever the number of resources

    stack.set_config("requestrocket:skipCredentialsValidation", "true")
    emulator.reset_stats()
    assert stack.preview("--expect-no-changes", check=False).code == 0
    assert emulator.stats()["total"] == 0
    stack.destroy()


def test_a_wrong_token_fails_preview_and_preview_refresh_in_one_error(rr_stack, emulator):
    stack = rr_stack(PROGRAM)
    stack.set_config("targetName", "before")
    stack.up()
    stack.set_config("requestrocket:token", "u-not-a-real-token", secret=True)

    for args in ((), ("--refresh",)):
        emulator.reset_stats()
        refused = stack.preview(*args, check=False)
        assert refused.code != 0, refused.output
        [error] = errors(refused.output)
        assert error.startswith("requestrocket:token: the RequestRocket API rejected the token"), error
        assert SKIP in error and "u-not-a-real-token" not in refused.output
        assert writes(emulator) == set()

    # Skipped: a no-op preview passes (nothing is written, nothing called) ...
    stack.set_config("requestrocket:skipCredentialsValidation", "true")
    emulator.reset_stats()
    assert stack.preview("--expect-no-changes", check=False).code == 0
    assert emulator.stats()["total"] == 0
    # ... but a planned change is still refused at preview.
    stack.set_config("targetName", "after")
    refused = stack.preview(check=False)
    assert refused.code != 0 and "requestrocket:token" in refused.output
    assert writes(emulator) == set()

    stack.run("config", "rm", "--stack", stack.stack, "requestrocket:skipCredentialsValidation")
    stack.set_config("requestrocket:token", emulator.token("e2e"), secret=True)
    stack.set_config("targetName", "before")
    stack.destroy()


@pytest.fixture
def own_emulator():
    """An emulator this test may stop: the API going down."""
    with EmulatorProcess(users=("down:team",), rate_limit=100_000) as emu:
        yield emu


def test_with_the_api_down_preview_and_drift_fail_with_one_error(make_stack, own_emulator):
    stack = make_stack(PROGRAM)
    stack.set_config("requestrocket:apiUrl", own_emulator.url)
    stack.set_config("requestrocket:token", own_emulator.token("down"), secret=True)
    stack.set_config("targetName", "before")
    stack.up()
    own_emulator.stop()  # nothing listens on its port now

    for args in ((), ("--refresh",)):
        failed = stack.preview(*args, check=False)
        assert failed.code != 0, failed.output
        # One distinct error (a refresh prints it under each resource it was reading: the engine hands the
        # provider's one failed Configure to every call waiting for it).
        [error] = errors(failed.output)
        assert error.startswith("requestrocket:apiUrl: cannot use the RequestRocket API: GET /api/clients failed: "
                                "could not reach the RequestRocket API"), error
        assert "gave up after 2 attempts" in error and SKIP in error

    drift = subprocess.run([str(Path(sys.executable).parent / "rr-pulumi"), "drift", "--stack", stack.stack],
                           cwd=stack.project_dir, env=stack.env, capture_output=True, text=True, timeout=300)
    assert drift.returncode == 2, drift.stdout + drift.stderr
    [line] = drift.stderr.strip().splitlines()
    assert line.startswith("COULD NOT CHECK for drift: ") and "could not reach the RequestRocket API" in line

    own_emulator.start()  # the same port and database
    stack.destroy()
