"""Rotating the API token: after `pulumi config set --secret requestrocket:token <new>` and revoking the old token,
`pulumi refresh`, `pulumi preview --refresh`, `rr-pulumi drift` and `pulumi destroy` work at once, with no `up` in between (the engine
still configures the provider with the token recorded in the state; the provider turns to the current config)."""

from __future__ import annotations

import secrets
import uuid

from e2e_helpers import rr_pulumi
from rr_pulumi.engine.stack import LocalStack

PROGRAM = """
import pulumi
from rr_pulumi import Client, Target
org = Client("org", client_name="{org}")
Target("api", client_id=org.id, target_name="api", target_base_url="https://api.example.com",
       target_region="us-east-1")
"""


def test_refresh_uses_the_rotated_token_at_once(make_stack, emulator):
    user = f"rotation-{uuid.uuid4().hex[:8]}"
    old = emulator.create_user(user)
    stack = make_stack(PROGRAM.format(org=user))
    stack.set_config("requestrocket:apiUrl", emulator.url)
    stack.set_config("requestrocket:token", old, secret=True)
    stack.up()

    new = emulator.create_user(user, token="u-" + secrets.token_hex(20))  # the user's second token
    stack.set_config("requestrocket:token", new, secret=True)
    emulator.revoke_token(old)

    refreshed = stack.refresh(check=False)
    assert refreshed.code == 0, refreshed.output
    assert "401" not in refreshed.output
    previewed = stack.preview("--refresh", "--expect-no-changes", check=False)
    assert previewed.code == 0, previewed.output
    drift = rr_pulumi(stack, "drift", "--stack", stack.stack)
    assert drift.returncode == 0, drift.stdout + drift.stderr
    stack.destroy()


def test_a_token_from_the_environment_wins_when_the_recorded_one_is_revoked(make_stack, emulator):
    user = f"rotation-{uuid.uuid4().hex[:8]}"
    old = emulator.create_user(user)
    stack = make_stack(PROGRAM.format(org=user), env={"REQUESTROCKET_TOKEN": old})
    stack.set_config("requestrocket:apiUrl", emulator.url)
    stack.up()

    new = emulator.create_user(user, token="u-" + secrets.token_hex(20))
    emulator.revoke_token(old)
    stack.env["REQUESTROCKET_TOKEN"] = new
    assert stack.refresh(check=False).code == 0
    stack.destroy()


def test_renewal_reads_the_stack_the_cli_runs_not_the_selected_one(make_stack, emulator):
    """Two stacks of one project, dev selected; each way of naming prod (`-sprod`, `--stack=prod`, PULUMI_STACK)
    renews prod's rotated token. Dev's token belongs to another user: renewing with it, the refresh would find
    prod's objects gone and drop them from prod's state."""
    owner = f"rotation-prod-{uuid.uuid4().hex[:8]}"
    token = emulator.create_user(owner)
    prod = make_stack(PROGRAM.format(org=owner))
    prod = LocalStack(prod.project_dir, stack="prod", backend_dir=prod.backend_dir).init()
    prod.set_config("requestrocket:apiUrl", emulator.url)
    prod.set_config("requestrocket:token", token, secret=True)
    prod.up()
    dev = LocalStack(prod.project_dir, stack="dev", backend_dir=prod.backend_dir).init()  # selected from now on
    dev.set_config("requestrocket:apiUrl", emulator.url)
    dev.set_config("requestrocket:token", emulator.create_user(f"rotation-dev-{uuid.uuid4().hex[:8]}"), secret=True)
    tracked = {r["id"] for r in prod.resources()}
    assert len(tracked) == 2

    for args, env in ((("-sprod",), {}), (("--stack=prod",), {}), ((), {"PULUMI_STACK": "prod"})):
        new = emulator.create_user(owner, token="u-" + secrets.token_hex(20))
        prod.set_config("requestrocket:token", new, secret=True)
        emulator.revoke_token(token)
        token = new
        assert dev.run("stack", "--show-name").stdout.strip() == "dev"
        refreshed = prod.run("refresh", "--yes", "--skip-preview", *args, check=False, extra_env=env)
        assert refreshed.code == 0, refreshed.output
        assert "401" not in refreshed.output
        assert {r["id"] for r in prod.resources()} == tracked, f"{args or env}: prod's objects were dropped"
    prod.preview("--expect-no-changes")
    prod.destroy()
