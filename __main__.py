"""The demo organisation: one client whose callers reach an upstream API through a rate-limited proxy.

Stack configuration (the demo script sets all of it):
    requestrocket:apiUrl     the Core API (the local emulator in the demo)
    requestrocket:token      your user token            (pulumi config set --secret requestrocket:token u-...)
    proxyApiKey              the key callers present     (pulumi config set --secret proxyApiKey ...)
    upstreamToken            the upstream API's token    (pulumi config set --secret upstreamToken ...)
"""

import pulumi

from rr_pulumi import ApiKeySecret, BearerSecret, Client, Credential, Proxy, Rule, Target

config = pulumi.Config()
region = config.get("region") or "us-east-1"

org = Client("acme", client_name="Acme Payments")

callers = Credential(
    "callers",
    client_id=org.id,
    credential_name="acme-callers",
    credential_type="proxy",
    credential_region=region,
    credential_secret=ApiKeySecret(api_key=config.require_secret("proxyApiKey"), header_name="X-API-Key"),
)

upstream_auth = Credential(
    "upstream-auth",
    client_id=org.id,
    credential_name="billing-api-token",
    credential_type="target",
    credential_region=region,
    credential_secret=BearerSecret(token=config.require_secret("upstreamToken"), prefix="Bearer "),
)

billing_api = Target(
    "billing-api",
    client_id=org.id,
    target_name="billing-api",
    target_base_url="https://billing.example.com",
    target_test_path="/v1/health",
    target_region=region,
)

gateway = Proxy(
    "billing-gateway",
    client_id=org.id,
    proxy_name="billing-gateway",
    proxy_region=region,
    proxy_credential_id=callers.id,
    target_id=billing_api.id,
    target_credential_id=upstream_auth.id,
    proxy_default_rule_effect="deny",
    proxy_max_requests_per_minute=120,
    proxy_max_requests_per_day=10000,
)

no_deletes = Rule(
    "no-deletes",
    client_id=org.id,
    proxy_id=gateway.id,
    effect="deny",
    priority=900,
    methods=["DELETE"],
    notes="Callers may never delete billing records.",
)

read_invoices = Rule(
    "read-invoices",
    client_id=org.id,
    proxy_id=gateway.id,
    effect="allow",
    priority=100,
    methods=["GET"],
    path_pattern="^/v1/invoices(/.*)?$",
    notes="Read-only access to invoices.",
)

pulumi.export("client_id", org.id)
pulumi.export("proxy_id", gateway.id)
pulumi.export("proxy_url", gateway.url)
pulumi.export("proxy_credential_id", callers.id)
pulumi.export("target_credential_id", upstream_auth.id)
pulumi.export("target_id", billing_api.id)
pulumi.export("rule_ids", [no_deletes.id, read_invoices.id])
