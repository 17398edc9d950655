"""Validation at preview (the error names the argument, the API sees no write), configuration errors, secrets
never shown, and the root program converging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BASE = """
import pulumi
from rr_pulumi import ApiKeySecret, BasicAuthSecret, Client, Credential, Proxy, Rule, Target
org = Client("org", client_name="checks-org")
"""

# (case, resource code added to BASE, text the error must contain)
INVALID = [
    ("client name length", 'Client("long", client_name="x" * 101)', "client_name"),
    ("credential auth type for type",
     'Credential("c", client_id=org.id, credential_name="c", credential_type="proxy", credential_region="us-east-1",'
     ' credential_auth_type="oauth2", credential_secret={"grant_type": "client_credentials"})',
     "allowed: apiKey, bearer, jwt, basicAuth, jwtVerify"),
    ("credential secret shape",
     'Credential("c", client_id=org.id, credential_name="c", credential_type="proxy", credential_region="us-east-1",'
     ' credential_secret=BasicAuthSecret(username="u", password=""))',
     "credential_secret.password: must not be empty"),
    ("region form",
     'Target("t", client_id=org.id, target_name="t", target_base_url="https://x.example", target_region="mars")',
     "target_region"),
    ("url form",
     'Target("t", client_id=org.id, target_name="t", target_base_url="not a url", target_region="us-east-1")',
     "must be an absolute http:// or https:// URL"),
    ("proxy limit bound",
     'Proxy("p", client_id=org.id, proxy_name="p", proxy_region="us-east-1", proxy_credential_id="a",'
     ' target_id="b", target_credential_id="c", proxy_max_requests_per_minute=5000)',
     "must be between 1 and 1000"),
    ("enum", 'Target("t", client_id=org.id, target_name="t", target_base_url="https://x.example",'
     ' target_region="us-east-1", target_default_rule_effect="maybe")', "must be one of: allow, deny"),
    ("rule priority bound", 'Rule("r", client_id=org.id, proxy_id="p", effect="deny", priority=1001)',
     "must be between 0 and 1000"),
    ("rule regex compiles", 'Rule("r", client_id=org.id, proxy_id="p", effect="deny", priority=1, path_pattern="^/a(")',
     "must be a regular expression that compiles"),
    ("rule method enum", 'Rule("r", client_id=org.id, proxy_id="p", effect="deny", priority=1, methods=["FETCH"])',
     "methods"),
]


@pytest.mark.parametrize("case, code, expected", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_input_fails_at_preview_naming_the_argument(rr_stack, emulator, case, code, expected):
    stack = rr_stack(BASE + code + "\n")
    before = emulator.stats()["statuses"].get("201", 0)
    result = stack.preview(check=False)
    assert result.code != 0 and expected in result.output, result.output[-3000:]
    result = stack.up(check=False)
    assert result.code != 0 and expected in result.output
    # Nothing invalid was sent: the only writes are the valid client (created by up before the failing check).
    assert emulator.stats()["statuses"].get("201", 0) - before <= 1
    stack.destroy(check=False)


def test_rule_needs_exactly_one_parent(rr_stack):
    stack = rr_stack(BASE + 'Rule("r", client_id=org.id, proxy_id="p", target_id="t", effect="deny", priority=1)\n')
    result = stack.preview(check=False)
    assert result.code != 0 and "needs exactly one parent" in result.output


def test_missing_token_is_one_clear_error(make_stack, emulator):
    stack = make_stack(BASE)
    stack.set_config("requestrocket:apiUrl", emulator.url)
    result = stack.run("preview", "--stack", stack.stack, check=False, extra_env={"REQUESTROCKET_TOKEN": ""})
    assert result.code != 0
    assert "pulumi config set --secret requestrocket:token" in result.output and "REQUESTROCKET_TOKEN" in result.output


def test_bad_token_is_one_clear_error_and_no_write(make_stack, emulator):
    stack = make_stack(BASE)
    stack.set_config("requestrocket:apiUrl", emulator.url)
    stack.set_config("requestrocket:token", "u-not-a-real-token", secret=True)
    result = stack.up(check=False)
    assert result.code != 0 and "rejected the token" in result.output
    assert "u-not-a-real-token" not in result.output


def test_token_from_environment(make_stack, emulator):
    stack = make_stack(BASE + 'pulumi.export("id", org.id)\n')
    env = {"REQUESTROCKET_API_URL": emulator.url, "REQUESTROCKET_TOKEN": emulator.token("e2e")}
    stack.run("up", "--yes", "--skip-preview", extra_env=env)
    exported = json.dumps(stack.export())
    assert emulator.token("e2e") not in exported
    stack.run("destroy", "--yes", "--skip-preview", extra_env=env)


SECRETS_PROGRAM = """
import pulumi
from rr_pulumi import ApiKeySecret, BasicAuthSecret, Client, Credential
c = pulumi.Config()
org = Client("org", client_name="secrets-org")
key = Credential("key", client_id=org.id, credential_name="key", credential_type="proxy",
                 credential_region="us-east-1", credential_secret=ApiKeySecret(api_key=c.require_secret("apiKey")))
basic = Credential("basic", client_id=org.id, credential_name="basic", credential_type="target",
                   credential_region="us-east-1",
                   credential_secret=BasicAuthSecret(username="svc", password=c.require_secret("password")))
pulumi.export("key_secret", key.credential_secret)
"""


def test_secrets_never_appear(rr_stack, emulator):
    stack = rr_stack(SECRETS_PROGRAM)
    secrets = ["SEKRIT-api-key-1111", "SEKRIT-pass-2222", "SEKRIT-api-key-3333", emulator.token("e2e")]
    stack.set_config("apiKey", secrets[0], secret=True)
    stack.set_config("password", secrets[1], secret=True)
    outputs = [stack.preview("--diff").output, stack.up().output]
    stack.set_config("apiKey", secrets[2], secret=True)  # rotation
    outputs += [stack.preview("--diff").output, stack.up("--diff").output, stack.refresh().output]
    outputs.append(stack.preview("--expect-no-changes").output)
    outputs.append(json.dumps(stack.export()))
    outputs.append(json.dumps(stack.outputs()))
    outputs.append(stack.destroy().output)
    logs = stack.project_dir.parent / "state"
    for path in logs.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".log", ".txt", ""):
            outputs.append(path.read_text(errors="ignore"))
    text = "\n".join(outputs)
    for secret in secrets:
        assert secret not in text


def test_root_program_converges(make_stack, emulator, api, tmp_path):
    stack = make_stack((ROOT / "__main__.py").read_text(), name="rr-demo")
    stack.set_config("requestrocket:apiUrl", emulator.url)
    stack.set_config("requestrocket:token", emulator.token("e2e"), secret=True)
    stack.set_config("proxyApiKey", "demo-key-abcdef", secret=True)
    stack.set_config("upstreamToken", "demo-token-abcdef", secret=True)
    stack.up()
    outs = stack.outputs()
    assert outs["proxy_url"].endswith(f"/api/{outs['proxy_id']}")
    rules = api.get(api.base + f"/clients/{outs['client_id']}/proxies/{outs['proxy_id']}/rules").json()["rules"]
    assert sorted((r["effect"], tuple(r["methods"])) for r in rules) == [("allow", ("GET",)), ("deny", ("DELETE",))]
    stack.preview("--expect-no-changes")
    stack.up("--expect-no-changes")
    stack.refresh()
    stack.preview("--expect-no-changes")
    stack.destroy()
    assert api.get(api.base + f"/clients/{outs['client_id']}").status_code == 404
