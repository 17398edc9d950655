"""examples/payments-gateway end to end: its own rule tests run as a user runs them (pytest in the example, with
rr-pulumi's plugin), `rr-pulumi rules explain` agrees with the data plane on the same requests, and the policy
pack passes the SecureProxy components without a warning."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from rr_pulumi.engine.stack import LocalStack
from rr_pulumi.schema.kinds import PROXY
from rr_pulumi.testing import api_key, signed_jwt
from rr_pulumi.testing.environment import RulesTestEnvironment, copy_project

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "payments-gateway"
SECRETS = {"partnerKey": "pk-e2e-partner", "upstreamToken": "up-e2e-token",
           "internalJwtSecret": "e2e-internal-jwt-secret-0123456789"}


def test_the_examples_rule_tests_pass(tmp_path):
    env = {**os.environ, "PYTEST_ADDOPTS": ""}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", str(EXAMPLE)],
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\b6 passed\b", result.stdout), result.stdout[-2000:]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    with RulesTestEnvironment(tmp_path_factory.mktemp("gateway")) as env:
        yield env, env.deploy(EXAMPLE, config={"upstreamUrl": env.upstream_url}, secrets=SECRETS)


def _jwt(scope: str) -> str:
    """A caller's JWT, signed when the test runs (a 10-minute expiry outlives one test, not a whole suite)."""
    return signed_jwt({"scope": scope, "iss": "https://auth.payments.example", "aud": "payments-api",
                       "exp": int(time.time()) + 600}, SECRETS["internalJwtSecret"])


CASES = [  # proxy, method, path, caller, claims for explain
    ("partners", "GET", "/invoices", api_key(SECRETS["partnerKey"]), None),
    ("partners", "GET", "/invoices/7", api_key(SECRETS["partnerKey"]), None),
    ("partners", "GET", "/invoices/7/lines", api_key(SECRETS["partnerKey"]), None),
    ("partners", "POST", "/invoices", api_key(SECRETS["partnerKey"]), None),
    ("partners", "DELETE", "/invoices/7", api_key(SECRETS["partnerKey"]), None),
    ("partners", "GET", "/", api_key(SECRETS["partnerKey"]), None),
    ("internal", "PUT", "/invoices/7", ("jwt", "invoices:write"), {"scope": "invoices:write"}),
    ("internal", "PUT", "/invoices/7", ("jwt", "invoices:read"), {"scope": "invoices:read"}),
    ("internal", "PATCH", "/invoices", ("jwt", "a invoices:write b"), {"scope": "a invoices:write b"}),
    ("internal", "DELETE", "/invoices", ("jwt", "invoices:write"), {"scope": "invoices:write"}),
    ("internal", "GET", "/refunds", ("jwt", "invoices:write"), {"scope": "invoices:write"}),
]


@pytest.mark.parametrize("proxy, method, path, caller, claims", CASES)
def test_rules_explain_agrees_with_the_data_plane(deployed, proxy, method, path, caller, claims):
    _, deployment = deployed
    if isinstance(caller, tuple):
        caller = _jwt(caller[1])
    call = deployment.gateway(proxy).call(method, path, as_=caller)
    assert call.status in (200, 403), call.body
    args = ["rules", "explain", "--stack", deployment.stack.stack, "--json", proxy, method, path]
    if claims is not None:
        args += ["--claims", json.dumps(claims)]
    result = subprocess.run([sys.executable, "-m", "rr_pulumi.tools.cli", *args], capture_output=True, text=True,
                            cwd=deployment.stack.project_dir, env=deployment.stack.env, timeout=300)
    assert result.returncode in (0, 1), result.stderr
    explained = json.loads(result.stdout)
    assert explained["allowed"] is call.forwarded
    assert result.returncode == (0 if call.forwarded else 1)
    if not call.forwarded:
        assert explained["ruleId"] == call.json()["ruleId"]
        assert explained["decidingScope"] == call.json()["scope"]
        assert (explained["ruleName"] or f"default:{explained['decidingScope']}") == call.denied_by
    assert [s["effect"] for s in explained["scopes"]] == [s["effect"] for s in call.record["decision"]]


def test_rules_explain_prints_each_scope(deployed):
    _, deployment = deployed
    result = subprocess.run([sys.executable, "-m", "rr_pulumi.tools.cli", "rules", "explain", "--stack",
                             deployment.stack.stack, "partners", "DELETE", "/invoices/1"], capture_output=True,
                            text=True, cwd=deployment.stack.project_dir, env=deployment.stack.env, timeout=300)
    assert result.returncode == 1, result.stderr
    for scope in ("proxy credential", "target credential", "proxy", "target"):
        assert re.search(rf"^  {scope}\s", result.stdout, re.M), result.stdout
    assert "Decision: DENIED by rule partners-no-deletes" in result.stdout
    bad = subprocess.run([sys.executable, "-m", "rr_pulumi.tools.cli", "rules", "explain", "--stack",
                          deployment.stack.stack, "nope", "GET", "/"], capture_output=True, text=True,
                         cwd=deployment.stack.project_dir, env=deployment.stack.env, timeout=300)
    assert bad.returncode == 2 and "no Proxy 'nope'" in bad.stderr and "internal, partners" in bad.stderr


def test_the_policy_pack_passes_secure_proxies_without_a_warning(deployed, tmp_path):
    env, _ = deployed
    pack = subprocess.run([sys.executable, "-m", "rr_pulumi.policy"], capture_output=True, text=True, check=True,
                          env={**os.environ, "RR_PULUMI_POLICY_CACHE": str(tmp_path / "cache")}).stdout.strip()
    stack = LocalStack(copy_project(EXAMPLE, tmp_path / "project"), "policy", tmp_path / "state").init()
    stack.set_config("requestrocket:apiUrl", env.emulator.url)
    stack.set_config("requestrocket:token", env.emulator.token("rules-test"), secret=True)
    for key, value in SECRETS.items():
        stack.set_config(key, value, secret=True)
    result = stack.run("preview", "--stack", "policy", "--policy-pack", pack, check=False)
    assert result.code == 0, result.output[-4000:]
    assert "✅ rr-guardrails@" in result.stdout and not re.search(r"\[(advisory|mandatory)\]", result.stdout), \
        result.stdout


def test_drift_understands_secure_proxy_children(deployed):
    """Last in this module: it changes the account behind the stack's back."""
    env, deployment = deployed
    stack = deployment.stack

    def drift() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "rr_pulumi.tools.cli", "drift", "--stack", stack.stack, "--json"],
                              capture_output=True, text=True, cwd=stack.project_dir, env=stack.env, timeout=600)

    clean = drift()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    rule_id = deployment.ids()["partners-no-deletes"]
    proxy_id = deployment.ids(PROXY)["partners"]
    client_id = deployment.outputs_of(PROXY, "partners")["client_id"]
    api = requests.Session()
    api.headers["Authorization"] = env.emulator.token("rules-test")
    api.delete(f"{env.emulator.url}/api/clients/{client_id}/proxies/{proxy_id}/rules/{rule_id}").raise_for_status()
    found = drift()
    assert found.returncode == 1, found.stdout + found.stderr
    assert "partners-no-deletes" in found.stdout and "Rule" in found.stdout, found.stdout
