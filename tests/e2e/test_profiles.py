"""Several accounts in one program: named connection profiles in the stack config, a `profile` argument on each
resource; the tokens never become resource inputs or outputs, and never appear in the state in plain text."""

from __future__ import annotations

import json
import uuid

import requests

PROGRAM = """
import pulumi
from rr_pulumi import Client
first = Client("first", client_name="{name}-first", profile="first")
second = Client("second", client_name="{name}-second", profile="second")
pulumi.export("ids", [first.id, second.id])
"""


def client_names(emulator, token: str) -> set[str]:
    response = requests.get(emulator.url + "/api/clients", headers={"Authorization": token}, params={"limit": 100},
                            timeout=10)
    response.raise_for_status()
    return {c["clientName"] for c in response.json()["clients"]}


def test_one_program_two_accounts(make_stack, emulator):
    name = f"profiles-{uuid.uuid4().hex[:8]}"
    first_token = emulator.create_user(f"{name}-alice")
    second_token = emulator.create_user(f"{name}-bob")
    stack = make_stack(PROGRAM.format(name=name), env={"BOB_RR_TOKEN": second_token})
    stack.run("config", "set", "--path", "--plaintext", "requestrocket:profiles.first.apiUrl", emulator.url)
    stack.run("config", "set", "--path", "--secret", "requestrocket:profiles.first.token", first_token)
    stack.run("config", "set", "--path", "--plaintext", "requestrocket:profiles.second.apiUrl", emulator.url)
    stack.run("config", "set", "--path", "--plaintext", "requestrocket:profiles.second.tokenEnv", "BOB_RR_TOKEN")
    stack.up()

    assert f"{name}-first" in client_names(emulator, first_token)
    assert f"{name}-first" not in client_names(emulator, second_token)
    assert f"{name}-second" in client_names(emulator, second_token)

    state = stack.run("stack", "export").stdout
    assert first_token not in state and second_token not in state
    for resource in json.loads(state)["deployment"]["resources"]:
        if resource["type"].startswith("pulumi-python:dynamic/requestrocket:"):
            assert resource["inputs"]["profile"] in ("first", "second")
            assert not any("token" in key.lower() for key in [*resource["inputs"], *resource.get("outputs", {})])
    assert stack.preview("--expect-no-changes", check=False).code == 0
    assert stack.refresh(check=False).code == 0
    stack.destroy()
    assert f"{name}-first" not in client_names(emulator, first_token)


def test_an_unknown_profile_fails_at_preview_naming_the_known_ones(rr_stack, emulator):
    stack = rr_stack(PROGRAM.format(name="unknown-profile"))
    # The known profile works, so the one failure of the preview is the unknown profile (the engine stops at the
    # first resource that fails its check: with two failing, which one it reports would be a race).
    stack.env["SOME_TOKEN"] = emulator.token("e2e")
    stack.run("config", "set", "--path", "--plaintext", "requestrocket:profiles.first.apiUrl", emulator.url)
    stack.run("config", "set", "--path", "--plaintext", "requestrocket:profiles.first.tokenEnv", "SOME_TOKEN")
    refused = stack.preview(check=False)
    assert refused.code != 0
    assert "unknown connection profile 'second'; known profiles: first" in refused.output
