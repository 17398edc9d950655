"""The GitOps review text: `pulumi preview --diff` of an update and of a replace, and the PR comment made from it.

Property-level changes must show, secrets must show as `[secret]`, and no secret value may appear anywhere.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

PROGRAM = """
import pulumi
from rr_pulumi import BearerSecret, Client, Credential, Target

c = pulumi.Config()
region = c.get("region") or "us-east-1"
org = Client("org", client_name="gitops-org")
Credential("upstream-auth", client_id=org.id, credential_name="upstream-auth", credential_type="target",
           credential_region=region, credential_secret=BearerSecret(token=c.require_secret("upstreamToken")))
Target("upstream", client_id=org.id, target_name="upstream", target_base_url=c.require("baseUrl"),
       target_region=region)
"""

SECRETS = ("gitops-token-value-0001", "gitops-token-value-0002")


def preview_comment():
    path = Path(__file__).resolve().parents[2] / "examples" / "gitops" / "preview_comment.py"
    spec = importlib.util.spec_from_file_location("preview_comment", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def squeezed(text: str) -> str:
    """The text with runs of spaces made single (Pulumi aligns the colons of a block)."""
    return re.sub(r" +", " ", text)


def assert_no_secret_value(text: str) -> None:
    for value in SECRETS:
        assert value not in text


def test_preview_diff_of_an_update_and_a_replace(rr_stack):
    stack = rr_stack(PROGRAM)
    stack.set_config("baseUrl", "https://v1.example.com")
    stack.set_config("upstreamToken", SECRETS[0], secret=True)
    stack.up()
    render = preview_comment()

    # An update in place: a plain field and a rotated secret.
    stack.set_config("baseUrl", "https://v2.example.com")
    stack.set_config("upstreamToken", SECRETS[1], secret=True)
    update = squeezed(stack.preview("--diff").output)
    assert '~ target_base_url : "https://v1.example.com" => "https://v2.example.com"' in update
    assert "~ pulumi-python:dynamic/requestrocket:Credential: (update)" in update
    assert "credential_secret : [secret]" in update
    assert "~ credential_secret_rotation: 1 => 2" in update  # the visible trace of a secret change
    assert "~ 2 to update" in update
    assert_no_secret_value(update)
    comment = render.comment(update, 0, "test")
    assert comment.startswith(render.MARKER) and "~ 2 to update" in comment and "target_base_url" in comment
    assert_no_secret_value(comment)
    stack.up()

    # A replacement: region is immutable, so both objects are replaced; the secret is still [secret].
    stack.set_config("region", "eu-west-1")
    replace = squeezed(stack.preview("--diff").output)
    assert "+-pulumi-python:dynamic/requestrocket:Target: (replace)" in replace
    assert '~ target_region : "us-east-1" => "eu-west-1"' in replace
    assert "+-pulumi-python:dynamic/requestrocket:Credential: (replace)" in replace
    assert "credential_secret : [secret]" in replace
    assert "+-2 to replace" in replace
    assert_no_secret_value(replace)
    assert_no_secret_value(render.comment(replace, 0, "test"))
    stack.destroy()
