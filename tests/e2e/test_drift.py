"""Drift detection through the real CLI: `pulumi preview --refresh --expect-no-changes` and `rr-pulumi drift`.

One stack walks every case both ways: no drift; a field changed, a credential renamed, a rule deleted, a secret
rotated and objects added under managed parents, each out of band; then `pulumi up --refresh` (or removing the
addition) and no drift again. Every way of not being able to check exits 2 with a one-line reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from e2e_helpers import rr_pulumi

PROGRAM = """
import pulumi
from rr_pulumi import ApiKeySecret, BearerSecret, Client, Credential, Proxy, Rule, Target

c = pulumi.Config()
org = Client("org", client_name="drift-org")
callers = Credential("callers", client_id=org.id, credential_name="callers", credential_type="proxy",
                     credential_region="us-east-1", credential_secret=ApiKeySecret(api_key=c.require_secret("apiKey")))
upstream_auth = Credential("upstream-auth", client_id=org.id, credential_name="upstream-auth",
                           credential_type="target", credential_region="us-east-1",
                           credential_secret=BearerSecret(token="static-upstream-token"))
upstream = Target("upstream", client_id=org.id, target_name="upstream",
                  target_base_url="https://upstream.example.com", target_region="us-east-1")
gateway = Proxy("gateway", client_id=org.id, proxy_name="gateway", proxy_region="us-east-1",
                proxy_credential_id=callers.id, target_id=upstream.id, target_credential_id=upstream_auth.id,
                proxy_max_requests_per_minute=100)
no_deletes = Rule("no-deletes", client_id=org.id, proxy_id=gateway.id, effect="deny", priority=900,
                  methods=["DELETE"])
pulumi.export("client_id", org.id)
pulumi.export("callers_id", callers.id)
pulumi.export("target_id", upstream.id)
pulumi.export("proxy_id", gateway.id)
pulumi.export("rule_id", no_deletes.id)
"""


def drift(stack, *extra: str) -> subprocess.CompletedProcess:
    return rr_pulumi(stack, "drift", "--stack", stack.stack, *extra)


def drift_script(stack, folder: Path) -> tuple[int, str, str]:
    """examples/drift-check/drift-check.sh as the scheduled workflow runs it: (exit code, report, step output)."""
    script = Path(__file__).resolve().parents[2] / "examples" / "drift-check" / "drift-check.sh"
    outputs = folder / "github-output"
    outputs.write_text("")
    env = {**stack.env, "PATH": f"{Path(sys.executable).parent}:{stack.env['PATH']}", "GITHUB_OUTPUT": str(outputs)}
    result = subprocess.run(["sh", str(script), str(stack.project_dir), stack.stack, str(folder / "report.txt")],
                            env=env, capture_output=True, text=True, timeout=300)
    return result.returncode, (folder / "report.txt").read_text(), outputs.read_text().strip()


def engine_sees_drift(stack) -> bool:
    return stack.preview("--refresh", "--expect-no-changes", check=False).code != 0


def assert_no_drift(stack, engine: bool = True) -> None:
    assert not (engine and engine_sees_drift(stack))
    result = drift(stack)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No drift" in result.stdout


@pytest.fixture
def stack(rr_stack):
    stack = rr_stack(PROGRAM)
    stack.set_config("apiKey", "drift-proxy-key-0001", secret=True)
    stack.up()
    yield stack
    stack.destroy(check=False)


def drift_json(stack, *extra: str) -> tuple[int, dict]:
    result = drift(stack, "--json", *extra)
    return result.returncode, json.loads(result.stdout)  # exactly one JSON object, whatever happened


def could_not_check(result: subprocess.CompletedProcess) -> str:
    """The one-line reason of an exit 2 (no traceback, no pages of preview output)."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("COULD NOT CHECK for drift: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0].removeprefix("COULD NOT CHECK for drift: ")


def test_drift_each_case_both_ways(stack, api, tmp_path):
    outs = stack.outputs()
    client = f"/clients/{outs['client_id']}"
    rules = f"{client}/proxies/{outs['proxy_id']}/rules"
    callers = f"{client}/credentials/{outs['callers_id']}"
    assert_no_drift(stack)
    code, report, step_output = drift_script(stack, tmp_path)
    assert (code, step_output) == (0, "result=none") and "No drift" in report
    assert drift_json(stack) == (0, {"stack": "test", "drift": False, "fix": None, "differences": [],
                                     "not_managed": []})

    # A field changed out of band: the engine and the report see it, with its property path and both values.
    api.put(api.base + f"{client}/targets/{outs['target_id']}", json={"targetBaseURL": "https://evil.example.com"})
    assert engine_sees_drift(stack)
    code, report, step_output = drift_script(stack, tmp_path)
    assert (code, step_output) == (1, "result=drift"), report
    assert f"[field changed] Target upstream ({outs['target_id']})" in report
    assert 'target_base_url: live "https://evil.example.com", code "https://upstream.example.com"' in report
    assert "`pulumi up --refresh` makes the account match the code again" in report
    code, document = drift_json(stack)
    assert (code, document["stack"], document["drift"], document["fix"]) == (1, "test", True, "pulumi up --refresh")
    [difference] = document["differences"]
    assert difference["urn"].endswith("requestrocket:Target::upstream") and difference["id"] == outs["target_id"]
    assert difference["changes"] == [{"path": "target_base_url", "live": "https://evil.example.com",
                                      "declared": "https://upstream.example.com"}]
    stack.up()  # a plain `up` compares the code with the recorded state: it does not fix drift
    assert drift(stack).returncode == 1
    stack.up("--refresh")  # the advised fix
    assert_no_drift(stack, engine=False)  # the same preview runs inside; the bare exit is checked at both ends

    # A credential renamed out of band moves its updatedAt: a field change, not a secret rotation.
    api.put(api.base + callers, json={"credentialName": "callers-renamed"}).raise_for_status()
    code, document = drift_json(stack)
    assert code == 1 and [(d["kind"], d["paths"]) for d in document["differences"]] == [
        ("field changed", ["credential_name"])]
    stack.up("--refresh")
    assert_no_drift(stack, engine=False)

    # A managed rule deleted out of band.
    api.delete(api.base + f"{rules}/{outs['rule_id']}").raise_for_status()
    assert engine_sees_drift(stack)
    result = drift(stack)
    assert result.returncode == 1 and "[deleted out of band] Rule no-deletes" in result.stdout, result.stdout
    stack.up("--refresh")

    # A credential's secret rotated out of band (a PUT of a new secret): reported as such, never with a value.
    api.put(api.base + callers, json={"credentialSecret": {"apiKey": "rotated-elsewhere"}}).raise_for_status()
    assert engine_sees_drift(stack)
    result = drift(stack, "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert [(d["kind"], d["resource"], d["id"], d["changes"]) for d in report["differences"]] == [
        ("secret rotated out of band", "Credential callers", outs["callers_id"],
         [{"path": "credential_secret", "live": "[secret]", "declared": "[secret]"}])
    ]
    assert "rotated-elsewhere" not in result.stdout and "drift-proxy-key" not in result.stdout
    stack.up("--refresh")
    assert_no_drift(stack, engine=False)

    # Objects added out of band under managed parents: a rule on the proxy, a target in the client. The engine
    # cannot see objects it does not manage; the drift check lists each managed parent's children. In a shared
    # account they may be another stack's: listed, not drift, unless --fail-on-unmanaged says nothing else writes here.
    extra_rule = api.post(api.base + rules, json={"effect": "allow", "priority": 5, "methods": ["GET"]})
    extra_target = api.post(api.base + f"{client}/targets", json={
        "targetName": "shadow", "targetBaseURL": "https://shadow.example.com", "targetRegion": "us-east-1"})
    extra_rule_id, extra_target_id = extra_rule.json()["rules"][0]["sKey"], extra_target.json()["targets"][0]["sKey"]
    for strict in (False, True):
        result = drift(stack, *["--fail-on-unmanaged"] * strict)
        assert result.returncode == int(strict), result.stdout
        assert f"[unmanaged object added] Proxy gateway\n      rule {extra_rule_id} (allow priority 5, methods GET)" \
            in result.stdout
        assert f"target {extra_target_id} ('shadow')" in result.stdout
        assert ("Not managed by this stack, and not counted as drift: 2 objects" in result.stdout) is not strict
    api.delete(api.base + f"{rules}/{extra_rule_id}").raise_for_status()
    api.delete(api.base + f"{client}/targets/{extra_target_id}").raise_for_status()
    assert_no_drift(stack)


def test_drift_could_not_check_exits_2_with_one_line(stack, emulator, tmp_path):
    # No stack of that name.
    assert could_not_check(drift(stack, "--stack", "nope")) == "no stack named 'nope' found"
    code, document = drift_json(stack, "--stack", "nope")
    assert (code, document) == (2, {"stack": "nope", "drift": None, "error": "no stack named 'nope' found"})

    # No project in the folder.
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    reason = could_not_check(rr_pulumi(stack, "drift", "--cwd", str(elsewhere)))
    assert reason.startswith("no Pulumi.yaml project file found")

    # No engine: no `pulumi` on PATH, nothing cached, no Go to build one: the one line says what to install.
    bare = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "RR_PULUMI_ENGINE_CACHE": str(tmp_path / "no-engine")}
    script = Path(sys.executable).parent / "rr-pulumi"
    result = subprocess.run([str(script), "drift"], cwd=stack.project_dir, env=bare, capture_output=True,
                            text=True, timeout=120)
    reason = could_not_check(result)
    assert reason.startswith("no usable Pulumi: no `pulumi` on PATH (RR_PULUMI_TOOLCHAIN unset); no Go toolchain")
    assert "Install Pulumi >=3.216.0,<4.0.0" in reason
    # An official `pulumi` outside the supported range is named with the reason it was refused.
    old = tmp_path / "old-pulumi"
    old.mkdir()
    (old / "pulumi").write_text("#!/bin/sh\necho v3.100.0\n")
    (old / "pulumi").chmod(0o755)
    result = subprocess.run([str(script), "drift"], cwd=stack.project_dir, env={**bare, "PATH": f"{old}:/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=120)
    assert f"{old}/pulumi is v3.100.0, outside the supported >=3.216.0,<4.0.0" in could_not_check(result)

    # Broken configuration: an API URL that is no URL, and a passphrase that cannot decrypt the stack's secrets.
    stack.set_config("requestrocket:apiUrl", "not-a-url")
    assert could_not_check(drift(stack)) == "requestrocket:apiUrl must be an absolute http(s) URL, got 'not-a-url'"
    selected = rr_pulumi(stack, "drift", "--json")  # no --stack: the error names the stack pulumi selected
    assert (selected.returncode, json.loads(selected.stdout)) == (2, {
        "stack": "test", "drift": None,
        "error": "requestrocket:apiUrl must be an absolute http(s) URL, got 'not-a-url'"})
    wrong = subprocess.run([str(script), "drift", "--stack", stack.stack], cwd=stack.project_dir,
                           env={**stack.env, "PULUMI_CONFIG_PASSPHRASE": "not-the-passphrase"},
                           capture_output=True, text=True, timeout=300)
    assert "passphrase" in could_not_check(wrong)

    # The API is down (nothing listens on port 9): the client gives up after its retries.
    stack.set_config("requestrocket:apiUrl", "http://127.0.0.1:9")
    assert "could not reach the RequestRocket API" in could_not_check(drift(stack))
    code, document = drift_json(stack)
    assert code == 2 and "could not reach the RequestRocket API" in document["error"]

    # A rejected token, in the stack's configuration or given on the command line.
    stack.set_config("requestrocket:apiUrl", emulator.url)
    assert "401" in could_not_check(drift(stack, "--token", "u-not-a-token"))
    stack.set_config("requestrocket:token", "u-wrong-token", secret=True)
    reason = could_not_check(drift(stack))
    assert "401" in reason and "u-wrong-token" not in reason
    stack.set_config("requestrocket:token", emulator.token("e2e"), secret=True)
    assert_no_drift(stack, engine=False)


UNFINISHED = """
import pulumi
from rr_pulumi import ApiKeySecret, BearerSecret, Client, Credential, Proxy, Rule, Target

config = pulumi.Config()
region = config.require("region")
org = Client("org", client_name=config.require("clientName"))
callers = Credential("callers", client_id=org.id, credential_name="callers", credential_type="proxy",
                     credential_region=region, credential_secret=ApiKeySecret(api_key="unfinished-caller-key"))
upstream = Credential("upstream", client_id=org.id, credential_name="upstream", credential_type="target",
                      credential_region=region, credential_secret=BearerSecret(token="unfinished-upstream"))
api = Target("api", client_id=org.id, target_name="api", target_base_url="https://api.example.com",
             target_region=region)
weather = Proxy("weather", client_id=org.id, proxy_name="weather", proxy_region=region,
                proxy_credential_id=callers.id, target_id=api.id, target_credential_id=upstream.id)
failing = []
if config.get_bool("failAfterProxy"):  # fails once the proxy exists, before its rule and its activation
    failing = [Target("ghost", client_id=org.id, target_name="ghost", target_base_url="https://ghost.example.com",
                      target_region=region, adopt_id="no-such-target",
                      opts=pulumi.ResourceOptions(depends_on=[weather]))]
Rule("no-writes", client_id=org.id, proxy_id=weather.id, effect="deny", priority=900, methods=["POST"],
     opts=pulumi.ResourceOptions(depends_on=failing))
"""


def test_an_unfinished_proxy_replacement_is_explained_and_up_refresh_finishes_it(rr_stack, api):
    """An `up` replaces the proxy (new region) and fails before the new proxy's rule: the report says what its
    activation means (the new proxy is not switched on yet), in the proxy activation's short type."""
    stack = rr_stack(UNFINISHED)
    stack.set_config("clientName", f"unfinished-{uuid.uuid4().hex[:8]}")
    stack.set_config("region", "us-east-1")
    try:
        stack.up()
        stack.set_config("region", "eu-west-1")
        stack.set_config("failAfterProxy", "true")
        assert stack.up(check=False).code != 0
        code, report = drift_json(stack)
        assert code == 1
        [activation] = [d for d in report["differences"] if d["resource"] == "ProxyActivation weather-activation"]
        [change] = activation["changes"]
        old, new = change["live"], change["declared"]
        assert (activation["kind"], activation["paths"], activation["id"]) == (
            "field changed", ["proxy_id"], f"{old}-activation")
        assert activation["detail"] == (
            f'proxy_id: live "{old}", code "{new}": an unfinished `pulumi up` replaced proxy {old} with {new} but '
            "stopped before this activation, which switches the new proxy on once its rules exist; "
            "`pulumi up --refresh` finishes it")
        client_id = next(r["id"] for r in stack.resources() if r["type"].endswith("requestrocket:Client"))
        proxies = api.base + f"/clients/{client_id}/proxies"
        assert api.get(f"{proxies}/{new}").json()["proxies"][0]["proxyActive"] is False  # what the line says

        stack.set_config("failAfterProxy", "false")
        stack.up("--refresh")
        assert api.get(f"{proxies}/{new}").json()["proxies"][0]["proxyActive"] is True  # `up --refresh` finished it
        assert api.get(f"{proxies}/{old}").status_code == 404
        assert_no_drift(stack)
    finally:
        stack.destroy(check=False)
