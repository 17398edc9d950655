"""Adoption without side effects: an adopted credential keeps its live secret unless the program says
`rotate_on_adopt=True`; rotation out of band is still noticed at refresh, and a rename is not taken for one."""

from __future__ import annotations

import json
import uuid

PROGRAM = """
import pulumi
from rr_pulumi import ApiKeySecret, Client, Credential
c = pulumi.Config()
org = Client("org", client_name=c.require("clientName"), adopt=True)
kept = Credential("kept", client_id=org.id, credential_name="kept", credential_type="proxy",
                  credential_auth_type="apiKey", credential_region="us-east-1", adopt=True)
recorded = Credential("recorded", client_id=org.id, credential_name="recorded", credential_type="proxy",
                      credential_region="us-east-1", adopt=True,
                      credential_secret=ApiKeySecret(api_key=c.require_secret("declaredKey")),
                      rotate_on_adopt=c.get_bool("rotate") or False)
"""


def post(api, path: str, body: dict) -> dict:
    response = api.post(api.base + path, json=body)
    response.raise_for_status()
    return next(v for v in response.json().values() if isinstance(v, list))[0]


def credential_writes(emulator) -> list[str]:
    return [f"{m} {route}" for route, methods in emulator.stats()["routes"].items() for m in methods
            if m != "GET" and "credentials" in route]


def plain(value):
    """A state value, decrypted by `stack export --show-secrets` (secrets keep a wrapper with `plaintext`)."""
    return json.loads(value["plaintext"]) if isinstance(value, dict) and "plaintext" in value else value


def hashes(stack) -> dict[str, str]:
    state = json.loads(stack.run("stack", "export", "--show-secrets").stdout)
    return {r["urn"].rsplit("::", 1)[-1]: plain(r["outputs"].get("credential_secret_hash", ""))
            for r in state["deployment"]["resources"] if r["type"].endswith(":Credential")}


def build_org(api) -> tuple[str, str]:
    """A client with two apiKey credentials made through the API; returns (name, client id)."""
    name = f"adopt-secrets-{uuid.uuid4().hex[:8]}"
    client_id = post(api, "/clients", {"clientName": name})["clientId"]
    for credential in ("kept", "recorded"):
        post(api, f"/clients/{client_id}/credentials", {
            "credentialName": credential, "credentialType": "proxy", "credentialAuthType": "apiKey",
            "credentialRegion": "us-east-1", "credentialSecret": {"apiKey": f"live-{credential}-key"}})
    return name, client_id


def test_adopted_credentials_keep_their_live_secrets(rr_stack, api, emulator):
    name, client_id = build_org(api)
    stack = rr_stack(PROGRAM)
    stack.set_config("clientName", name)
    stack.set_config("declaredKey", "declared-key-0001", secret=True)

    emulator.reset_stats()
    stack.up()
    assert credential_writes(emulator) == []  # neither secret was pushed
    assert stack.preview("--expect-no-changes", check=False).code == 0

    # Out of band: `kept` gets a new secret (a rotation), `recorded` a new name (not one).
    ids = {c["credentialName"]: c["sKey"] for c in
           api.get(api.base + f"/clients/{client_id}/credentials").json()["credentials"]}
    api.put(api.base + f"/clients/{client_id}/credentials/{ids['kept']}",
            json={"credentialSecret": {"apiKey": "rotated-elsewhere"}}).raise_for_status()
    api.put(api.base + f"/clients/{client_id}/credentials/{ids['recorded']}",
            json={"credentialName": "renamed"}).raise_for_status()
    stack.refresh()
    marks = hashes(stack)
    assert marks["kept"].startswith("stale:") and not marks["recorded"].startswith("stale:")

    stack.destroy()


def test_rotate_on_adopt_pushes_the_declared_secret(rr_stack, api, emulator):
    name, _ = build_org(api)
    stack = rr_stack(PROGRAM)
    stack.set_config("clientName", name)
    stack.set_config("declaredKey", "declared-key-0001", secret=True)
    stack.set_config("rotate", "true")
    emulator.reset_stats()
    stack.up()
    assert [w.split()[0] for w in credential_writes(emulator)] == ["PUT"]  # `recorded` only
    assert stack.preview("--expect-no-changes", check=False).code == 0
    stack.destroy()
