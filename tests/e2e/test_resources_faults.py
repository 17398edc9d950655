"""An unreliable API: 5xx, 429s and dropped connections (before and after the write) while `up` and `destroy`
run. Retries and POST adoption must leave exactly one object per resource, and a converged stack."""

from __future__ import annotations

import uuid

PROGRAM = """
import pulumi
from rr_pulumi import ApiKeySecret, BearerSecret, Client, Credential, Proxy, Rule, Target
org = Client("org", client_name="faulty-org")
callers = Credential("callers", client_id=org.id, credential_name="callers", credential_type="proxy",
                     credential_region="us-east-1", credential_secret=ApiKeySecret(api_key="k-faults-1"))
auth = Credential("auth", client_id=org.id, credential_name="auth", credential_type="target",
                  credential_region="us-east-1", credential_secret=BearerSecret(token="t-faults-1"))
target = Target("target", client_id=org.id, target_name="upstream", target_base_url="https://up.example.com",
                target_region="us-east-1")
proxy = Proxy("proxy", client_id=org.id, proxy_name="gateway", proxy_region="us-east-1",
              proxy_credential_id=callers.id, target_id=target.id, target_credential_id=auth.id)
rules = [Rule(f"rule-{i}", client_id=org.id, proxy_id=proxy.id, effect="deny", priority=i, methods=["DELETE"])
         for i in range(3)]
pulumi.export("client_id", org.id)
pulumi.export("proxy_id", proxy.id)
"""

FAULTS = "err500=0.08,err503=0.05,rate429=0.05,drop_before=0.03,drop_after=0.06"


def test_retries_and_adoption_leave_no_duplicates(rr_stack, emulator, api, list_all):
    org_name = f"faulty-org-{uuid.uuid4().hex[:8]}"   # the e2e user is shared: count only this test's client
    stack = rr_stack(PROGRAM.replace('"faulty-org"', f'"{org_name}"'))
    injected_before = sum(emulator.stats()["injected"].values())
    emulator.set_faults(FAULTS, seed=11)
    try:
        stack.up()
        injected = sum(emulator.stats()["injected"].values()) - injected_before
        assert injected > 0, "the fault spec injected nothing: the test would prove nothing"
        outs = stack.outputs()
        base = api.base + f"/clients/{outs['client_id']}"
        emulator.set_faults("")
        clients = [c for c in list_all(api, "/clients", "clients") if c["clientName"] == org_name]
        assert len(clients) == 1
        assert len(api.get(base + "/credentials").json()["credentials"]) == 2
        assert len(api.get(base + "/targets").json()["targets"]) == 1
        assert len(api.get(base + "/proxies").json()["proxies"]) == 1
        assert len(api.get(base + f"/proxies/{outs['proxy_id']}/rules").json()["rules"]) == 3
        stack.preview("--expect-no-changes")
        emulator.set_faults(FAULTS, seed=12)
        stack.destroy()
        emulator.set_faults("")
        assert api.get(base).status_code == 404
    finally:
        emulator.set_faults("")
        stack.destroy(check=False)


def test_long_rate_limit_waits_are_visible_in_the_cli_output(rr_stack, api):
    """A provider's stderr lines are shown by the engine (under the stack's diagnostics): pacing says so."""
    stack = rr_stack('from rr_pulumi import Client, Target\n'
                     'org = Client("org", client_name="paced-org")\n'
                     'Target("t", client_id=org.id, target_name="t", target_base_url="https://x.io", '
                     'target_region="us-east-1")\n')
    # the token check and the client's POST use the minute's budget; the target's POST waits out the window (61 s)
    stack.set_config("requestrocket:rateLimitPerMinute", "2")
    try:
        result = stack.up()
        assert "requestrocket: pacing API requests to 2/min (requestrocket:rateLimitPerMinute); waiting" \
            in result.output
    finally:
        stack.set_config("requestrocket:rateLimitPerMinute", "0")  # no pacing for the clean-up
        stack.destroy(check=False)
