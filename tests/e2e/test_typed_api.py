"""The typed public API through the real CLI: a user's mistakes fail `pulumi preview` with one clean line and no
API write; references take the declared resources; `Proxy.get` reads an object created over HTTP and changes
nothing (and so do Client.get, Credential.get, Target.get and Rule.get)."""

from __future__ import annotations

import pytest

BASE = """
import pulumi
from rr_pulumi import ApiKeySecret, BearerSecret, Client, Credential, Proxy, Rule, Target
org = Client("org", client_name="typed-org")
callers = Credential("callers", client_id=org, credential_name="callers", credential_type="proxy",
                     credential_region="us-east-1", credential_secret=ApiKeySecret(api_key="k-1"))
upstream = Credential("upstream", client_id=org, credential_name="upstream", credential_type="target",
                      credential_region="us-east-1", credential_secret=BearerSecret(token="t-1"))
api = Target("api", client_id=org.id, target_name="api", target_base_url="https://api.example.com",
             target_region="us-east-1")
"""

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def writes(emulator) -> int:
    """Write requests the emulator has served since it started (every route, accepted or not)."""
    routes = emulator.stats()["routes"].values()
    return sum(count for methods in routes for method, count in methods.items() if method in WRITES)


def error_lines(output: str) -> list[str]:
    """The diagnostic lines a user reads (the engine's indented `error:` lines)."""
    return [line.strip() for line in output.splitlines() if line.strip().startswith("error:")]


# (case, code added to BASE, the one line the preview must print)
MISTAKES = [
    ("misspelled argument",
     'Proxy("gw", client_id=org, proxy_nme="gw", proxy_region="us-east-1", proxy_credential_id=callers,'
     ' target_id=api, target_credential_id=upstream)',
     "Proxy 'gw': unknown argument proxy_nme (did you mean proxy_name?); valid arguments: "),
    ("missing argument",
     'Proxy("gw", client_id=org, proxy_region="us-east-1", proxy_credential_id=callers, target_id=api,'
     ' target_credential_id=upstream)',
     "Proxy 'gw': missing required argument proxy_name; valid arguments: "),
    ("swapped credential types",
     'Proxy("gw", client_id=org, proxy_name="gw", proxy_region="us-east-1", proxy_credential_id=upstream,'
     ' target_id=api, target_credential_id=callers.id)',
     "Proxy 'gw': proxy_credential_id is Credential 'upstream' with credential_type='target', but "
     "proxy_credential_id needs credential_type='proxy': pass a Credential declared with credential_type='proxy'; "
     "Proxy 'gw': target_credential_id is Credential 'callers' with credential_type='proxy', but "
     "target_credential_id needs credential_type='target'"),
    ("region mismatch",
     'Proxy("gw", client_id=org, proxy_name="gw", proxy_region="eu-west-1", proxy_credential_id=callers,'
     ' target_id=api, target_credential_id=upstream)',
     "Proxy 'gw': proxy_credential_id is Credential 'callers' in region 'us-east-1', but proxy_region is "
     "'eu-west-1': declare them in the same region"),
    ("wrong kind of reference",
     'Rule("r", client_id=org, target_id=callers, effect="deny", priority=1)',
     "Rule 'r': target_id takes a Target (or its id), but got Credential 'callers': pass a Target"),
    ("wrong type", 'Rule("r", client_id=org, target_id=api, effect="deny", priority="high")',
     ("priority", "must be an integer (got 'high')")),
    # a type checker reports it too (tests/unit/test_typed_api.py); a program run without one still fails preview
    ("value outside a closed set", 'Rule("r", client_id=org, target_id=api, effect="block", priority=1)',
     ("effect", "must be one of: allow, deny (got 'block')")),
]


@pytest.mark.parametrize("case, code, expected", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistakes_fail_preview_in_one_line_without_writes(rr_stack, emulator, case, code, expected):
    stack = rr_stack(BASE + code + "\n")
    before = writes(emulator)
    result = stack.preview(check=False)
    assert result.code != 0
    fragments = (expected,) if isinstance(expected, str) else expected
    errors = error_lines(result.output)
    assert any(all(f in line for f in fragments) for line in errors), result.output[-3000:]
    assert "Traceback" not in result.output and 'File "' not in result.output, result.output[-3000:]
    assert writes(emulator) == before


def test_references_take_the_declared_resources(rr_stack, emulator, api):
    program = BASE + """
gw = Proxy("gw", client_id=org, proxy_name="gw", proxy_region="us-east-1", proxy_credential_id=callers,
           target_id=api, target_credential_id=upstream)
rule = Rule("r", client_id=org, proxy_id=gw, effect="deny", priority=900, methods=["DELETE"])
pulumi.export("rule_created", rule.rule_created_at)
pulumi.export("proxy", gw.id)
pulumi.export("callers", callers.id)
pulumi.export("client", org.id)
pulumi.export("members", org.client_members)
pulumi.export("client_created", org.client_created_at)
"""
    stack = rr_stack(program)
    stack.up()
    outs = stack.outputs()
    proxy = api.get(f"{api.base}/clients/{outs['client']}/proxies/{outs['proxy']}").json()["proxies"][0]
    assert proxy["proxyProxyCredentialId"] == outs["callers"]
    assert outs["members"][0]["roles"] == ["owner", "admin"] and outs["members"][0]["user_id"]
    assert outs["client_created"].endswith("Z") and outs["rule_created"].endswith("Z")
    assert stack.preview("--expect-no-changes", check=False).code == 0
    stack.destroy()


def test_proxy_get_reads_an_object_created_over_http_and_writes_nothing(rr_stack, emulator, api):
    def post(path: str, body: dict) -> dict:
        response = api.post(api.base + path, json=body)
        response.raise_for_status()
        return next(iter(v for k, v in response.json().items() if isinstance(v, list)))[0]

    cid = post("/clients", {"clientName": "lookup-org"})["clientId"]
    def cred(name: str, ctype: str, secret: dict) -> str:
        return post(f"/clients/{cid}/credentials", {
            "credentialName": name, "credentialType": ctype, "credentialAuthType": "apiKey",
            "credentialRegion": "us-east-1", "credentialSecret": secret})["sKey"]

    callers, upstream = cred("c", "proxy", {"apiKey": "k"}), cred("u", "target", {"apiKey": "u"})
    target = post(f"/clients/{cid}/targets", {"targetName": "t", "targetBaseURL": "https://t.example.com",
                                              "targetRegion": "us-east-1"})["sKey"]
    proxy = post(f"/clients/{cid}/proxies", {
        "proxyName": "made-over-http", "proxyRegion": "us-east-1", "proxyProxyCredentialId": callers,
        "proxyTargetId": target, "proxyTargetCredentialId": upstream, "proxyMaxRequestsPerMinute": 42})
    rule = post(f"/clients/{cid}/proxies/{proxy['sKey']}/rules", {"effect": "deny", "priority": 7, "methods": ["PUT"]})
    stack = rr_stack(f"""
import pulumi
from rr_pulumi import Client, Credential, Proxy, Rule, Target
org = Client.get("org", "{cid}")
found = Proxy.get("existing", "{proxy['sKey']}", client_id=org)
pulumi.export("name", found.proxy_name)
pulumi.export("url", found.url)
pulumi.export("rpm", found.proxy_max_requests_per_minute)
pulumi.export("created", found.proxy_created_at)
pulumi.export("target_region", Target.get("t", "{target}", client_id="{cid}").target_region)
pulumi.export("client_name", org.client_name)
pulumi.export("callers_type", Credential.get("c", "{callers}", client_id=org).credential_type)
rule = Rule.get("r", "{rule['sKey']}", client_id=org, proxy_id=found)
pulumi.export("rule", [rule.effect, rule.priority, rule.methods])
""")
    before = writes(emulator)
    stack.up()
    outs = stack.outputs()
    assert outs["name"] == "made-over-http" and outs["rpm"] == 42 and outs["target_region"] == "us-east-1"
    assert outs["url"].endswith(f"/api/{proxy['sKey']}") and outs["created"] == proxy["proxyCreatedAt"]
    assert outs["client_name"] == "lookup-org" and outs["callers_type"] == "proxy"
    assert outs["rule"] == ["deny", 7, ["PUT"]]
    assert stack.preview("--expect-no-changes", check=False).code == 0
    stack.destroy()
    assert writes(emulator) == before  # read, previewed and destroyed: nothing written
    assert api.get(f"{api.base}/clients/{cid}/proxies/{proxy['sKey']}").status_code == 200


def test_preview_warns_which_adopted_credential_up_will_rotate(rr_stack, emulator, api):
    response = api.post(api.base + "/clients", json={"clientName": "rotation-org"})
    cid = response.json()["clients"][0]["clientId"]
    response = api.post(f"{api.base}/clients/{cid}/credentials", json={
        "credentialName": "callers", "credentialType": "proxy", "credentialAuthType": "apiKey",
        "credentialRegion": "us-east-1", "credentialSecret": {"apiKey": "live"}})
    cred_id = response.json()["credentials"][0]["sKey"]
    stack = rr_stack(f"""
from rr_pulumi import ApiKeySecret, Credential
Credential("rotated", client_id="{cid}", credential_name="callers", credential_type="proxy",
           credential_region="us-east-1", credential_secret=ApiKeySecret(api_key="k-9f3e-new"),
           adopt_id="{cred_id}", rotate_on_adopt=True)
""")
    before = writes(emulator)
    result = stack.preview()
    assert ("warning: Credential 'rotated' adopts an existing credential; `pulumi up` will rotate its secret to "
            "the declared one") in result.output, result.output[-3000:]
    assert "k-9f3e" not in result.output  # the secret itself is never shown
    assert writes(emulator) == before
