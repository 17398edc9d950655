"""Taking over an organisation built directly through the API: adoption by natural key, and `rr-pulumi export`
followed by `pulumi up` of the exported program. Neither creates an object, adoption without `rotate_on_adopt`
never sends a secret (the export round trip makes 0 API writes), and the next preview is empty."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from rr_pulumi.engine.stack import LocalStack
from rr_pulumi.schema.kinds import CLIENT_CHILDREN
from rr_pulumi.tools.scaffold import requirements_txt

KINDS = tuple(kind.plural for kind in CLIENT_CHILDREN)
WRITES = ("POST", "PUT", "PATCH", "DELETE")
RR_PULUMI = Path(sys.executable).parent / "rr-pulumi"
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


def writes(emulator) -> int:
    """Contract requests that may change something (the emulator's stats count every request it receives)."""
    return sum(n for methods in emulator.stats()["routes"].values() for m, n in methods.items() if m in WRITES)


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


def test_adopt_an_organisation_built_through_the_api(rr_stack, api, emulator):
    org = build_org(api, "adopt-org")
    before = snapshot(api, org["client_id"])
    stack = rr_stack(ADOPTING_PROGRAM)
    stack.set_config("clientName", "adopt-org")
    stack.set_config("apiKey", CALLERS_SECRET["apiKey"], secret=True)
    stack.set_config("upstreamToken", UPSTREAM_SECRET["token"], secret=True)

    written = writes(emulator)
    stack.up()
    assert stack.outputs()["client_id"] == org["client_id"]
    # The declared values match and the declared secrets are recorded, not sent (no rotate_on_adopt): no write.
    assert snapshot(api, org["client_id"]) == before and writes(emulator) == written
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


def export(emulator, token: str, out: Path, *which: str) -> subprocess.CompletedProcess:
    """`rr-pulumi export` as a user runs it: the token in the environment."""
    return subprocess.run([str(RR_PULUMI), "export", *which, "--out", str(out), "--api-url", emulator.url],
                          env={**os.environ, "REQUESTROCKET_TOKEN": token}, capture_output=True, text=True,
                          timeout=120)


def exported_stack(folder: Path, state: Path, emulator, token: str) -> LocalStack:
    """The exported project with a stack, configured by its own set-secrets.sh (nothing filled in)."""
    (folder / "venv").symlink_to(sys.prefix)  # stands in for `pulumi install` into the project's relative venv
    stack = LocalStack(folder, stack="test", backend_dir=state).init()
    done = subprocess.run(["sh", "set-secrets.sh"], cwd=folder, env={**stack.env, "REQUESTROCKET_TOKEN": token},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return stack


def test_export_round_trip_makes_no_write(api, emulator, tmp_path):
    org = build_org(api, f"export-org-{uuid.uuid4().hex[:8]}")
    before = snapshot(api, org["client_id"])
    out = tmp_path / "exported"
    result = export(emulator, emulator.token("e2e"), out, "--client-id", org["client_id"])
    assert result.returncode == 0, result.stderr
    program = (out / "__main__.py").read_text()
    assert program.count("adopt_id='") == 8 and "proxy_credential_id=callers.id" in program
    assert "proxy_id=billing_gateway.id" in program and "target_id=billing_api.id" in program
    assert "credential_secret=config.get_secret_object('callersSecret')" in program
    assert "    virtualenv: venv\n" in (out / "Pulumi.yaml").read_text()
    installed = subprocess.run([sys.executable, "-c", "import rr_pulumi.tools.scaffold as s; print(s.requirement())"],
                               cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    assert (out / "requirements.txt").read_text() == requirements_txt(installed)  # as `rr-pulumi new` writes it
    commands = (out / "set-secrets.sh").read_text()
    assert "# set_secret callersSecret" in commands and "# set_secret upstreamAuthSecret" in commands

    stack = exported_stack(out, tmp_path / "export-state", emulator, emulator.token("e2e"))
    written = writes(emulator)
    stack.up()
    assert writes(emulator) == written, "the round trip wrote to the API"
    assert snapshot(api, org["client_id"]) == before  # secrets untouched: no credentialUpdatedAt moved
    stack.preview("--expect-no-changes")
    drift = subprocess.run([str(RR_PULUMI), "drift", "--stack", "test"], cwd=out, env=stack.env, capture_output=True,
                           text=True, timeout=300)
    assert drift.returncode == 0 and "No drift" in drift.stdout, drift.stdout + drift.stderr
    stack.destroy()


def test_placeholders_are_refused_by_set_secrets_and_at_preview(api, emulator, tmp_path):
    org = build_org(api, f"placeholder-org-{uuid.uuid4().hex[:8]}")
    out = tmp_path / "exported"
    assert export(emulator, emulator.token("e2e"), out, "--client-id", org["client_id"]).returncode == 0
    stack = exported_stack(out, tmp_path / "state", emulator, emulator.token("e2e"))
    config = stack.run("config", "--json", "--stack", "test").stdout

    # Uncommented but not filled in: the script refuses before it sets anything.
    script = out / "set-secrets.sh"
    script.write_text(script.read_text().replace("# set_secret callersSecret", "set_secret callersSecret"))
    done = subprocess.run(["sh", "set-secrets.sh"], cwd=out, env={**stack.env, "REQUESTROCKET_TOKEN": "u-x"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "fill in every <placeholder> first; nothing was set" in done.stderr and "callersSecret" in done.stderr
    assert stack.run("config", "--json", "--stack", "test").stdout == config

    # Set by hand anyway: the provider refuses it at preview, naming the argument, before any API write.
    stack.set_config("callersSecret", json.dumps({"apiKey": "<apiKey>"}), secret=True)
    written = writes(emulator)
    result = stack.preview(check=False)
    assert result.code != 0 and "credential_secret" in result.output, result.output
    assert writes(emulator) == written


def test_export_all_writes_one_project_per_client(emulator, tmp_path):
    user = f"exporter-{uuid.uuid4().hex[:8]}"
    token = emulator.create_user(user)
    import requests

    with requests.Session() as session:
        session.headers["Authorization"] = token
        session.base = emulator.url + "/api"  # type: ignore[attr-defined]
        first = build_org(session, "Acme Payments")
        second = build_org(session, "Acme Billing")
    out = tmp_path / "all"
    result = export(emulator, token, out, "--all")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["acme-billing", "acme-payments"]
    for folder, org in (("acme-payments", first), ("acme-billing", second)):
        assert f"adopt_id='{org['client_id']}'" in (out / folder / "__main__.py").read_text()
        assert (out / folder / "Pulumi.yaml").read_text().startswith(f"name: {folder}\n")
    stack = exported_stack(out / "acme-billing", tmp_path / "state", emulator, token)
    stack.up()
    stack.preview("--expect-no-changes")
    assert stack.outputs()["client_id"] == second["client_id"]
    stack.destroy()


def test_export_with_a_connection_profile(rr_stack, emulator, tmp_path):
    """--profile reads the account from a stack's profile; the program declares it and adopts with 0 writes."""
    token = emulator.create_user(f"profiled-{uuid.uuid4().hex[:8]}")
    import requests

    with requests.Session() as session:
        session.headers["Authorization"] = token
        session.base = emulator.url + "/api"  # type: ignore[attr-defined]
        org = build_org(session, "Acme Profiled")
    platform = rr_stack("import pulumi\n", name="platform")  # a stack whose config holds the profile
    platform.run("config", "set", "--path", "requestrocket:profiles.acme.apiUrl", emulator.url)
    platform.run("config", "set", "--path", "--secret", "requestrocket:profiles.acme.token", token)
    out = tmp_path / "acme"
    env = {k: v for k, v in platform.env.items() if k != "REQUESTROCKET_TOKEN"}
    result = subprocess.run([str(RR_PULUMI), "export", "--all", "--profile", "acme", "--stack", platform.stack,
                             "--out", str(out)], cwd=platform.project_dir, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    program = (out / "acme-profiled" / "__main__.py").read_text()
    assert program.count("    profile='acme',\n") == program.count("adopt_id='") == 8
    assert "requestrocket:profiles.acme.token" in (out / "acme-profiled" / "set-secrets.sh").read_text()

    stack = exported_stack(out / "acme-profiled", tmp_path / "state", emulator, token)
    written = writes(emulator)
    stack.up()
    assert writes(emulator) == written and stack.outputs()["client_id"] == org["client_id"]
    stack.preview("--expect-no-changes")
    stack.destroy()
