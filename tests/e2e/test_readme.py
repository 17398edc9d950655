"""The README's example programs run as written: `pulumi up` against the emulator, then an empty preview."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_program(index: int = 0) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) > index, "README.md has fewer python examples than the tests run"
    return blocks[index]


# What the SecureProxy example takes from the program around it (the first example's client and config).
SECURE_PROXY_PRELUDE = """\
import pulumi
from rr_pulumi import ApiKeySecret, BearerSecret, Client
from rr_pulumi.components import Claim, Route, SecureProxy

config = pulumi.Config()
org = Client("org", client_name="readme-secure-org")
"""


def test_readme_example_converges(rr_stack, api, list_all):
    stack = rr_stack(readme_program())
    stack.set_config("callerKey", "readme-caller-key", secret=True)
    stack.set_config("upstreamToken", "readme-upstream-token", secret=True)

    stack.up()
    url = stack.outputs()["proxy_url"]
    assert re.fullmatch(r"https://eu-west-1\.requestrocket\.com/api/[0-9a-f-]{36}", url)
    assert stack.preview("--expect-no-changes", check=False).code == 0

    stack.destroy()
    assert "Example Org" not in [c["clientName"] for c in list_all(api, "/clients", "clients")]


def test_readme_secure_proxy_example_converges(rr_stack, api, list_all):
    program = readme_program(1)
    assert "SecureProxy(" in program, "the README's second python example is no longer the SecureProxy one"
    stack = rr_stack(SECURE_PROXY_PRELUDE + program)
    stack.set_config("partnerKey", "readme-partner-key", secret=True)
    stack.set_config("upstreamToken", "readme-upstream-token", secret=True)

    stack.up()
    assert re.fullmatch(r"https://eu-west-1\.requestrocket\.com/api/[0-9a-f-]{36}", stack.outputs()["partners_url"])
    assert stack.preview("--expect-no-changes", check=False).code == 0

    stack.destroy()
    assert "readme-secure-org" not in [c["clientName"] for c in list_all(api, "/clients", "clients")]
