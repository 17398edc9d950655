"""The program of the frozen stack: the five kinds, written against rr-pulumi's public API only, as a user's is.

tests/e2e/test_old_state.py previews this same program against the state an older rr-pulumi wrote for it, so it must
stay valid code for every later version (`import rr_pulumi as rr` / `from rr_pulumi import ...`, nothing deeper).
"""

import pulumi

import rr_pulumi as rr
from rr_pulumi import ApiKeySecret, BearerSecret

config = pulumi.Config()
REGION = "us-east-1"

org = rr.Client("org", client_name="old-state-org")
callers = rr.Credential("callers", client_id=org.id, credential_name="callers", credential_type="proxy",
                        credential_region=REGION,
                        credential_secret=ApiKeySecret(api_key=config.require_secret("callerKey")))
upstream_auth = rr.Credential("upstream-auth", client_id=org.id, credential_name="upstream-auth",
                              credential_type="target", credential_region=REGION,
                              credential_secret=BearerSecret(token=config.require_secret("upstreamToken")))
upstream = rr.Target("upstream", client_id=org.id, target_name="upstream",
                     target_base_url="https://upstream.example.com", target_region=REGION)
gateway = rr.Proxy("gateway", client_id=org.id, proxy_name="gateway", proxy_region=REGION,
                   proxy_credential_id=callers.id, target_id=upstream.id, target_credential_id=upstream_auth.id,
                   proxy_max_requests_per_minute=100)
no_deletes = rr.Rule("no-deletes", client_id=org.id, proxy_id=gateway.id, effect="deny", priority=900,
                     methods=["DELETE"])

pulumi.export("client_id", org.id)
pulumi.export("callers_id", callers.id)
pulumi.export("upstream_auth_id", upstream_auth.id)
pulumi.export("target_id", upstream.id)
pulumi.export("proxy_id", gateway.id)
pulumi.export("rule_id", no_deletes.id)
