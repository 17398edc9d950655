"""The token is checked only where it matters: a no-op preview makes no API call, a planned change is refused
at preview when the token is rejected."""

from __future__ import annotations

PROGRAM = """
import pulumi
from rr_pulumi import Client, Target
config = pulumi.Config()
org = Client("org", client_name="token-check-org")
Target("api", client_id=org.id, target_name=config.require("targetName"),
       target_base_url="https://api.example.com", target_region="us-east-1")
"""


def test_noop_preview_calls_nothing_and_a_change_with_a_bad_token_stops_at_preview(rr_stack, emulator):
    stack = rr_stack(PROGRAM)
    stack.set_config("targetName", "before")
    stack.up()

    emulator.reset_stats()
    assert stack.preview("--expect-no-changes", check=False).code == 0
    assert emulator.stats()["total"] == 0

    stack.set_config("requestrocket:token", "u-not-a-real-token", secret=True)
    stack.set_config("targetName", "after")
    emulator.reset_stats()
    refused = stack.preview(check=False)
    assert refused.code != 0
    assert "requestrocket:token" in refused.output and "u-not-a-real-token" not in refused.output
    writes = {m for methods in emulator.stats()["routes"].values() for m in methods} - {"GET"}
    assert writes == set()

    stack.set_config("requestrocket:token", emulator.token("e2e"), secret=True)
    stack.destroy()
