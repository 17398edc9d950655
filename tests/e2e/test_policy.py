"""The guardrails policy pack through the real CLI: `pulumi preview --policy-pack <folder>` of real rr-pulumi
programs against the emulator. A preview only checks inputs, so nothing is created; ids stay unknown, which is
what the policies meet in a pull request."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rr_pulumi.policy.location import SHIPPED
from rr_pulumi.policy.policies import GUARDRAILS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "policy"
POLICIES = [guardrail.name for guardrail in GUARDRAILS]
VIOLATION = re.compile(r"- \[(advisory|mandatory)\]\s+(\S+)\s+\(pulumi-python:dynamic/requestrocket:\w+: ([^)]+)\)")

COMPLIANT = """
import pulumi
from rr_pulumi import ApiKeySecret, BearerSecret, Client, Credential, Proxy, Rule, Target

org = Client("org", client_name="Policy Test Org")
callers = Credential("callers", client_id=org.id, credential_name="callers", credential_type="proxy",
                     credential_region="eu-west-1", credential_secret=ApiKeySecret(api_key="caller-key-123"))
upstream = Credential("upstream", client_id=org.id, credential_name="upstream", credential_type="target",
                      credential_region="eu-west-1", credential_secret=BearerSecret(token="upstream-token-123"))
api = Target("api", client_id=org.id, target_name="orders-api", target_base_url="https://orders.example.com",
             target_region="eu-west-1")
local = Target("local", client_id=org.id, target_name="local-mock", target_base_url="http://127.0.0.1:9999",
               target_region="eu-west-1")
gateway = Proxy("gateway", client_id=org.id, proxy_name="orders-gateway", proxy_region="eu-west-1",
                proxy_credential_id=callers.id, target_id=api.id, target_credential_id=upstream.id,
                proxy_default_rule_effect="allow", proxy_max_requests_per_minute=120,
                proxy_max_requests_per_day=5000)
Rule("no-deletes", client_id=org.id, proxy_id=gateway.id, effect="deny", priority=900, methods=["DELETE"])
Rule("no-admin", client_id=org.id, proxy_id=gateway.id, effect="deny", priority=800, path_pattern="^/admin")
"""

# The violating example: each policy, its default level and the resource it names.
EXPECTED = {
    ("mandatory", "proxy-rate-limits", "gateway"),
    ("mandatory", "target-https", "api"),
    ("mandatory", "allowed-regions", "api"),
    ("mandatory", "proxy-parts-share-region", "gateway"),
    ("mandatory", "proxy-deny-rule", "gateway"),
    ("mandatory", "credential-auth-required", "upstream"),
    ("advisory", "resource-naming", "gateway"),
    ("advisory", "rule-allows-everything", "open"),
    ("advisory", "rule-lint", "open"),  # an allow on a proxy that allows by default changes no decision
}


def violations(output: str) -> set[tuple[str, str, str]]:
    """(level, policy, resource name) of every violation the CLI printed."""
    return set(VIOLATION.findall(output))


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> str:
    """The pack folder, found the way the README tells users to: `python -m rr_pulumi.policy`."""
    env = {**os.environ, "RR_PULUMI_POLICY_CACHE": str(tmp_path_factory.mktemp("policy-cache"))}
    out = subprocess.run([sys.executable, "-m", "rr_pulumi.policy"], capture_output=True, text=True, check=True,
                         env=env)
    return out.stdout.strip()


@pytest.fixture
def config_file(tmp_path):
    """Factory: write a policy pack configuration and return its path."""
    counter = iter(range(100))

    def write(config: dict) -> str:
        path = tmp_path / f"policy-config-{next(counter)}.json"
        path.write_text(json.dumps(config))
        return str(path)

    return write


def preview(stack, pack: str, config: str | None = None, **env):
    args = ["--policy-pack", pack, *(["--policy-pack-config", config] if config else [])]
    return stack.run("preview", "--stack", stack.stack, *args, check=False, extra_env=env or None)


def assert_clean(result) -> None:
    assert result.code == 0, result.output[-4000:]
    assert violations(result.stdout) == set(), result.stdout
    assert "✅ rr-guardrails@v0.1.0" in result.stdout, result.stdout


def test_a_compliant_stack_passes_every_policy(rr_stack, pack, config_file):
    stack = rr_stack(COMPLIANT)
    assert_clean(preview(stack, pack))
    assert_clean(preview(stack, pack, str(EXAMPLE / "policy-config.json")))
    # The pack inside the package runs with PULUMI_PYTHON_CMD (or python3 on PATH) instead.
    assert_clean(preview(stack, str(SHIPPED), PULUMI_PYTHON_CMD=sys.executable))

    strict = config_file({
        "proxy-rate-limits": {"maxRequestsPerMinute": 100},
        "allowed-regions": {"allowedRegions": ["eu-central-1"]},
        "target-https": {"allowedHttpHosts": []},
        "proxy-deny-rule": {"requireDefaultDeny": True},
        "resource-naming": {"enforcementLevel": "mandatory", "pattern": "^orders-[a-z]+$"},
    })
    result = preview(stack, pack, strict)
    assert result.code != 0
    assert violations(result.stdout) == {
        ("mandatory", "proxy-rate-limits", "gateway"),
        ("mandatory", "allowed-regions", "callers"),
        ("mandatory", "allowed-regions", "upstream"),
        ("mandatory", "allowed-regions", "api"),
        ("mandatory", "allowed-regions", "local"),
        ("mandatory", "allowed-regions", "gateway"),
        ("mandatory", "target-https", "local"),
        ("mandatory", "proxy-deny-rule", "gateway"),
        ("mandatory", "resource-naming", "callers"),
        ("mandatory", "resource-naming", "upstream"),
        ("mandatory", "resource-naming", "local"),
    }
    assert "proxy_max_requests_per_minute is 120, above the ceiling of 100 per minute" in result.stdout


def violating_stack(rr_stack):
    """The violating example, with the provider's region list widened as docs/policy.md says: the policy's
    stricter `allowedRegions`, not the provider's check, is what must catch its `ap-south-1`."""
    stack = rr_stack((EXAMPLE / "violating" / "__main__.py").read_text())
    stack.set_config("requestrocket:regions", "us-east-1,us-west-2,eu-west-1,eu-central-1,ap-southeast-2,ap-south-1")
    return stack


def test_the_violating_example_fires_every_policy(rr_stack, pack):
    stack = violating_stack(rr_stack)
    result = preview(stack, pack, str(EXAMPLE / "policy-config.json"))
    assert result.code != 0
    assert violations(result.stdout) == EXPECTED
    assert {policy for _, policy, _ in violations(result.stdout)} == set(POLICIES)
    for message in (
        "Proxy 'gateway': proxy_max_requests_per_minute is 900, above the ceiling of 600 per minute",
        "Proxy 'gateway': proxy_max_requests_per_day is not set; set it to at most 10000 per day",
        "Proxy 'gateway': proxy_region is 'eu-west-1' but its proxy_credential_id refers to Credential 'callers' "
        "in 'us-east-1'",
        "Proxy 'gateway': proxy_region is 'eu-west-1' but its target_id refers to Target 'api' in 'ap-south-1'",
    ):
        assert message in result.stdout
    # A mandatory violation stops the preview before any resource would be created.
    assert "error: preview failed" in result.output


def test_configuration_sets_each_policy_level(rr_stack, pack, config_file):
    stack = violating_stack(rr_stack)

    advisory = preview(stack, pack, config_file({"all": "advisory"}))
    assert advisory.code == 0, advisory.output[-4000:]
    assert violations(advisory.stdout) == {("advisory", policy, name) for _, policy, name in EXPECTED}

    assert_clean(preview(stack, pack, config_file({"all": "disabled"})))

    only_naming = {name: "disabled" for name in POLICIES} | {"resource-naming": "mandatory"}
    result = preview(stack, pack, config_file(only_naming))
    assert result.code != 0
    assert violations(result.stdout) == {("mandatory", "resource-naming", "gateway")}


def test_the_root_stack_passes(rr_stack, pack):
    program = ROOT / "__main__.py"
    if not program.is_file():
        pytest.skip("the root program (__main__.py) is not there yet")
    stack = rr_stack(program.read_text())
    stack.set_config("proxyApiKey", "root-stack-key-123", secret=True)
    stack.set_config("upstreamToken", "root-stack-token-123", secret=True)
    assert_clean(preview(stack, pack))
    assert_clean(preview(stack, pack, str(EXAMPLE / "policy-config.json")))
