"""Taking over an organisation built directly through the API: adoption by natural key, and `rr-pulumi export`
followed by `pulumi up` of the exported program. Neither creates an object; the next preview is empty."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rr_pulumi.engine.stack import LocalStack

KINDS = ("credentials", "targets", "proxies")
CALLERS_SECRET = {"apiKey": "adopt-proxy-key-0001", "headerName": "X-API-Key"}
UPSTREAM_SECRET = {"token": "adopt-upstream-token-0001"}


def build_org(api, name: str) -> dict:
    """An organisation made the way a team without rr-pulumi made it: requests to the API."""

    def post(path: str, body: dict) -> dict:
        response = api.post(api.base + path, json=body)
        response.raise_for_status()
        return next(iter(v for k, v in response.json().items() if isinstance(v, list)))[0]

    client_id = post("/clients", {"clientName": name})["clientId"]
    base = f"/clients/{client_id}"
    callers = post(f"{base}/credentials", {
        "credentialName": "callers", "credentialType": "proxy", "credentialAuthType": "apiKey",
        "credentialRegion": "us-east-1", "credentialSecret": CALLERS_SECRET})
    upstream_auth = post(f"{base}/credentials", {
        "credentialName": "upstream auth", "credentialType": "target", "credentialAuthType": "bearer",
        "credentialRegion": "us-east-1", "credentialSecret": UPSTREAM_SECRET})
    target = post(f"{base}/targets", {"targetName": "billing-api", "targetBaseURL": "https://billing.example.com",
                                      "targetTestPath": "/health", "targetRegion": "us-east-1"})
    proxy = post(f"{base}/proxies", {
        "proxyName": "billing-gateway", "proxyRegion": "us-east-1", "proxyProxyCredentialId": callers["sKey"],
        "proxyTargetId": target["sKey"], "proxyTargetCredentialId": upstream_auth["sKey"],
        "proxyMaxRequestsPerMinute": 100})
    rules = f"{base}/proxies/{proxy['sKey']}/rules"
    post(rules, {"effect": "deny", "priority": 900, "methods": ["DELETE"]})
    post(rules, {"effect": "allow", "priority": 10, "methods": ["GET"], "pathPattern": "^/v1/",
                 "headerChecks": [{"namePattern": "^X-Team$", "presence": "present"}]})
    post(f"{base}/targets/{target['sKey']}/rules", {"effect": "deny", "priority": 1, "notes": "no admin",
                                                    "pathPattern": "^/admin"})
    return {"client_id": client_id, "proxy_id": proxy["sKey"], "target_id": target["sKey"]}


def snapshot(api, client_id: str) -> dict:
    """Every object of the client (and the user's client count), by collection and id."""
    def listed(path: str) -> list[dict]:
        response = api.get(api.base + path, params={"limit": 100})
        response.raise_for_status()
        return next(v for k, v in response.json().items() if isinstance(v, list))

    out = {"clients": len(listed("/clients"))}
    for plural in KINDS:
        for item in listed(f"/clients/{client_id}/{plural}"):
            out[f"{plural}/{item['sKey']}"] = item
            for rule in listed(f"/clients/{client_id}/{plural}/{item['sKey']}/rules"):
                out[f"{plural}/{item['sKey']}/rules/{rule['sKey']}"] = rule
    return out


def assert_unchanged(before: dict, after: dict) -> None:
    """No object created or changed: adoption records declared secrets without pushing them (no rotate_on_adopt)."""
    assert after == before


ADOPTING_PROGRAM = """
import pulumi
from rr_pulumi import ApiKeySecret, BearerSecret, Client, Credential, HeaderCheck, Proxy, Rule, Target

c = pulumi.Config()
org = Client("org", client_name=c.require("clientName"), adopt=True)
callers = Credential("callers", client_id=org.id, credential_name="callers", credential_type="proxy",
                     credential_region="us-east-1", adopt=True,
                     credential_secret=ApiKeySecret(api_key=c.require_secret("apiKey"), header_name="X-API-Key"))
upstream_auth = Credential("upstream-auth", client_id=org.id, credential_name="upstream auth",
                           credential_type="target", credential_region="us-east-1", adopt=True,
                           credential_secret=BearerSecret(token=c.require_secret("upstreamToken")))
billing = Target("billing", client_id=org.id, target_name="billing-api", target_base_url="https://billing.example.com",
                 target_test_path="/health", target_region="us-east-1", adopt=True)
gateway = Proxy("gateway", client_id=org.id, proxy_name="billing-gateway", proxy_region="us-east-1",
                proxy_credential_id=callers.id, target_id=billing.id, target_credential_id=upstream_auth.id,
                proxy_max_requests_per_minute=100, adopt=True)
Rule("no-deletes", client_id=org.id, proxy_id=gateway.id, effect="deny", priority=900, methods=["DELETE"],
     adopt=True)
Rule("team-reads", client_id=org.id, proxy_id=gateway.id, effect="allow", priority=10, methods=["get"],
     path_pattern="^/v1/", header_checks=[HeaderCheck(name_pattern="^X-Team$")], adopt=True)
Rule("no-admin", client_id=org.id, target_id=billing.id, effect="deny", priority=1, notes="no admin",
     path_pattern="^/admin", adopt=True)

extra = c.get("extra")
if extra == "missing":
    Target("ghost", client_id=org.id, target_name="ghost", target_base_url="https://ghost.example.com",
           target_region="us-east-1", adopt=True)
if extra == "duplicate":
    Target("billing-again", client_id=org.id, target_name="billing-api",
           target_base_url="https://billing.example.com", target_region="us-east-1", adopt=True)
pulumi.export("client_id", org.id)
"""


def test_adopt_an_organisation_built_through_the_api(rr_stack, api):
    org = build_org(api, "adopt-org")
    before = snapshot(api, org["client_id"])
    stack = rr_stack(ADOPTING_PROGRAM)
    stack.set_config("clientName", "adopt-org")
    stack.set_config("apiKey", CALLERS_SECRET["apiKey"], secret=True)
    stack.set_config("upstreamToken", UPSTREAM_SECRET["token"], secret=True)

    stack.up()
    assert stack.outputs()["client_id"] == org["client_id"]
    assert_unchanged(before, snapshot(api, org["client_id"]))
    stack.preview("--expect-no-changes")
    stack.preview("--refresh", "--expect-no-changes")

    # Adopting what does not exist fails at `up`, naming the object and where it was looked for.
    stack.set_config("extra", "missing")
    result = stack.up(check=False)
    assert result.code != 0
    assert f"cannot adopt target with target_name 'ghost': none exists in client '{org['client_id']}'" in result.output

    # Two resources adopting one object fail when the program runs, before anything reaches the API.
    stack.set_config("extra", "duplicate")
    result = stack.preview(check=False)
    assert result.code != 0
    assert "target 'billing-again' and target 'billing' would both manage the target with natural key" \
        in result.output
    stack.set_config("extra", "none")
    stack.destroy()
    assert api.get(api.base + f"/clients/{org['client_id']}").status_code == 404


def test_export_round_trip(rr_stack, api, emulator, tmp_path):
    org = build_org(api, "export-org")
    before = snapshot(api, org["client_id"])
    out = tmp_path / "exported"
    script = Path(sys.executable).parent / "rr-pulumi"
    result = subprocess.run(
        [str(script), "export", "--client-id", org["client_id"], "--out", str(out), "--api-url", emulator.url],
        env={**os.environ, "REQUESTROCKET_TOKEN": emulator.token("e2e")}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    program = (out / "__main__.py").read_text()
    assert program.count("adopt_id='") == 8 and "proxy_credential_id=callers.id" in program
    assert "proxy_id=billing_gateway.id" in program and "target_id=billing_api.id" in program
    commands = (out / "set-secrets.sh").read_text()
    assert "pulumi config set --secret callersSecret" in commands and "upstreamAuthSecret" in commands

    stack = LocalStack(out, stack="test", backend_dir=tmp_path / "export-state").init()
    stack.set_config("requestrocket:apiUrl", emulator.url)
    stack.set_config("requestrocket:token", emulator.token("e2e"), secret=True)
    stack.set_config("callersSecret", json.dumps(CALLERS_SECRET), secret=True)
    stack.set_config("upstreamAuthSecret", json.dumps(UPSTREAM_SECRET), secret=True)
    stack.up()
    assert_unchanged(before, snapshot(api, org["client_id"]))
    stack.preview("--expect-no-changes")
    drift = subprocess.run([str(script), "drift", "--stack", "test"], cwd=out, env=stack.env, capture_output=True,
                           text=True, timeout=300)
    assert drift.returncode == 0 and "No drift" in drift.stdout, drift.stdout + drift.stderr
    stack.destroy()
