"""`rr-pulumi export` of a client whose names were written to break out of the generated files: the program, the
YAML and set-secrets.sh hold them as data, and the first `pulumi preview` runs nothing planted in them."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import uuid
from pathlib import Path

import yaml

from rr_pulumi.engine.stack import LocalStack

RR_PULUMI = Path(sys.executable).parent / "rr-pulumi"
MARK = "INJECTED"


def test_an_exported_client_with_hostile_names_previews_without_running_them(api, emulator, tmp_path):
    tag = uuid.uuid4().hex[:6]
    client_name = f'x""";print("{MARK}");"""{tag}'
    target_name = f"t'''\nprint('{MARK}')\n#\u2028{{x}}\\"
    credential_name = f"c'$(echo {MARK} >&2)`echo {MARK}`\r\n\"\"\"print('{MARK}')"
    created = api.post(api.base + "/clients", json={"clientName": client_name})
    assert created.status_code == 201, created.text
    client_id = created.json()["clients"][0]["clientId"]  # section 0: a named array of the created item
    base = f"{api.base}/clients/{client_id}"
    assert api.post(f"{base}/targets", json={"targetName": target_name, "targetBaseURL": "https://a.example.com",
                                             "targetRegion": "us-east-1"}).status_code == 201
    assert api.post(f"{base}/credentials", json={
        "credentialName": credential_name, "credentialType": "proxy", "credentialAuthType": "apiKey",
        "credentialRegion": "us-east-1", "credentialSecret": {"apiKey": "k-0123456789"}}).status_code == 201

    out = tmp_path / "exported"
    token = emulator.token("e2e")
    done = subprocess.run([str(RR_PULUMI), "export", "--client-id", client_id, "--out", str(out), "--api-url",
                           emulator.url], env={**os.environ, "REQUESTROCKET_TOKEN": token}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    program = (out / "__main__.py").read_text()
    tree = ast.parse(program)
    assert not [n for n in tree.body if isinstance(n, ast.Expr) and not isinstance(n.value, ast.Constant)
                and ast.unparse(n.value.func) != "pulumi.export"], "an expression statement was planted"
    assert yaml.safe_load((out / "Pulumi.yaml").read_text())["name"].endswith(tag)
    assert subprocess.run(["bash", "-n", str(out / "set-secrets.sh")]).returncode == 0

    (out / "venv").symlink_to(sys.prefix)  # stands in for `pulumi install` into the project's relative venv
    stack = LocalStack(out, stack="test", backend_dir=tmp_path / "state").init()
    configured = subprocess.run(["sh", "set-secrets.sh"], cwd=out, env={**stack.env, "REQUESTROCKET_TOKEN": token},
                                capture_output=True, text=True, timeout=120)
    assert configured.returncode == 0 and MARK not in configured.stdout + configured.stderr, configured.stderr
    previewed = stack.preview(check=False)
    assert previewed.code == 0, previewed.output
    assert MARK not in previewed.output
    stack.up()
    stack.preview("--expect-no-changes")
    names = {r["outputs"].get("client_name") or r["outputs"].get("target_name") or r["outputs"].get(
        "credential_name") for r in stack.resources()}
    assert {client_name, target_name, credential_name} <= names  # adopted with the very names the API holds
    stack.destroy()
