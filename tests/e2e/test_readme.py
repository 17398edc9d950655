"""The README's example program runs as written: `pulumi up` against the emulator, then an empty preview."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_program() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README.md has no python example"
    return blocks[0]


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
