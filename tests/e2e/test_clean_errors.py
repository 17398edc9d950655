"""Clean errors through the real CLI: rr-pulumi's own failures print one line under the resource, with the Python
argument named; checks that need the stack's settings (allowed regions, placeholders) stop at preview with no write;
RR_PULUMI_TRACEBACK=1 brings the tracebacks back."""

from __future__ import annotations

import uuid


def diagnostic(output: str, header: str) -> list[str]:
    """The lines of the Diagnostics block under `header` (e.g. `requestrocket:Target (api)`)."""
    lines = output.split("Diagnostics:", 1)[-1].splitlines()
    start = next(i for i, line in enumerate(lines) if header in line)
    block = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        block.append(line.strip())
    return block


def writes(emulator) -> set[str]:
    return {m for methods in emulator.stats()["routes"].values() for m in methods} - {"GET"}


TARGET = """
import pulumi
from rr_pulumi import Client, Target
org = Client("org", client_name="{org}")
Target("api", client_id=org.id, target_name="api", target_base_url="https://api.example.com",
       target_region="{region}"{extra})
"""


def test_a_failing_adoption_is_one_line(rr_stack):
    stack = rr_stack(TARGET.format(org=f"clean-{uuid.uuid4().hex[:8]}", region="us-east-1", extra=", adopt_id='gone'"))
    failed = stack.up(check=False)
    assert failed.code != 0
    [line] = diagnostic(failed.output, "requestrocket:Target (api)")
    assert line.startswith("error: cannot adopt target 'gone': no such target in client ")
    assert "remove it to create a new one" in line
    assert "Traceback" not in failed.output and 'File "' not in failed.output

    verbose = stack.run("up", "--yes", "--skip-preview", check=False, extra_env={"RR_PULUMI_TRACEBACK": "1"})
    assert "Traceback (most recent call last)" in verbose.output and "AdoptionError" in verbose.output
    stack.destroy()


def test_an_api_rejection_at_up_is_one_line_naming_the_python_argument(rr_stack, emulator):
    # The stack allows a region the API does not: only `up` can find out, and says so in Python names.
    stack = rr_stack(TARGET.format(org=f"clean-{uuid.uuid4().hex[:8]}", region="sa-east-1", extra=""))
    stack.set_config("requestrocket:regions", "us-east-1,sa-east-1")
    failed = stack.up(check=False)
    assert failed.code != 0
    [line] = diagnostic(failed.output, "requestrocket:Target (api)")
    assert line.startswith("error: POST /api/clients/") and "/targets returned 400 VALIDATION_ERROR: " in line
    assert "target_region" in line and "targetRegion" not in line
    assert "Traceback" not in failed.output
    stack.destroy()


def test_a_region_outside_the_allowed_list_fails_at_preview_with_no_write(rr_stack, emulator):
    stack = rr_stack(TARGET.format(org=f"clean-{uuid.uuid4().hex[:8]}", region="eu-west-1", extra=""))
    stack.set_config("requestrocket:regions", "us-east-1,us-west-2")
    emulator.reset_stats()
    refused = stack.preview(check=False)
    assert refused.code != 0
    assert "target_region" in refused.output and "'eu-west-1' is not an allowed region" in refused.output
    assert "allowed: us-east-1, us-west-2" in refused.output
    assert writes(emulator) == set()

    stack.set_config("requestrocket:regions", "eu-west-1")  # the configured list is what counts
    assert stack.preview(check=False).code == 0


def test_a_placeholder_secret_fails_at_preview_naming_the_argument(rr_stack, emulator):
    program = f"""
import pulumi
from rr_pulumi import Client, Credential, ApiKeySecret
org = Client("org", client_name="clean-{uuid.uuid4().hex[:8]}")
Credential("callers", client_id=org.id, credential_name="callers", credential_type="proxy",
           credential_region="us-east-1", credential_secret=ApiKeySecret(api_key="<apiKey>"))
"""
    stack = rr_stack(program)
    emulator.reset_stats()
    refused = stack.preview(check=False)
    assert refused.code != 0
    assert "credential_secret.api_key: is still a placeholder" in refused.output
    assert writes(emulator) == set()


def test_program_errors_leave_out_the_runner(make_stack):
    """exec.py: an rr-pulumi error or RunError is one line; a Python error shows only the program's own frames."""
    stack = make_stack("""
import pulumi
from rr_pulumi.api.errors import ConfigurationError
if pulumi.Config().get("fail") == "rr":
    raise ConfigurationError("requestrocket:apiUrl must be an absolute http(s) URL, got 'x'")
if pulumi.Config().get("fail") == "python":
    1 / 0
""")
    stack.set_config("fail", "rr")
    failed = stack.preview(check=False)
    assert diagnostic(failed.output, "pulumi:Stack") == [
        "error: requestrocket:apiUrl must be an absolute http(s) URL, got 'x'"
    ]
    stack.set_config("fail", "python")
    block = diagnostic(stack.preview(check=False).output, "pulumi:Stack")
    assert block[0] == "error: Traceback (most recent call last):" and block[-1] == "ZeroDivisionError: division by zero"
    assert len(block) <= 5 and not any("asyncio" in line or "runpy" in line for line in block)
