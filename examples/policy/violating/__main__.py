"""A stack that breaks every guardrail once, to see each policy fire:

    pulumi preview --policy-pack "$(python -m rr_pulumi.policy)" --policy-pack-config ../policy-config.json

Nothing here is created by a preview; the provider only checks the inputs (and that the API token works).
"""

import pulumi

from rr_pulumi import ApiKeySecret, Client, Credential, NoneSecret, Proxy, Rule, Target

org = Client("org", client_name="policy-example")

# Regions known only to the engine (as from a StackReference): the program's own preview check compares the literal
# regions of a proxy and its parts, so these reach the policy pack instead.
callers_region = pulumi.Output.from_input("us-east-1")
api_region = pulumi.Output.from_input("ap-south-1")

callers = Credential(
    "callers",
    client_id=org.id,
    credential_name="payments-callers",
    credential_type="proxy",
    credential_region=callers_region,  # proxy-parts-share-region: the proxy is in eu-west-1
    credential_secret=ApiKeySecret(api_key=pulumi.Config().get_secret("callerKey") or "example-key-123"),
)
upstream = Credential(
    "upstream",
    client_id=org.id,
    credential_name="payments-upstream",
    credential_type="target",
    credential_region="eu-west-1",
    credential_secret=NoneSecret(),  # credential-auth-required: calls the upstream unauthenticated
)
api = Target(
    "api",
    client_id=org.id,
    target_name="payments-api",
    target_base_url="http://payments.example.com",  # target-https
    target_region=api_region,  # allowed-regions (and not the proxy's region either)
)
gateway = Proxy(
    "gateway",
    client_id=org.id,
    proxy_name="Payments_Gateway",  # resource-naming: not kebab-case
    proxy_region="eu-west-1",
    proxy_credential_id=callers.id,
    target_id=api.id,
    target_credential_id=upstream.id,
    proxy_default_rule_effect="allow",  # proxy-deny-rule: allow by default, and no deny rule below
    proxy_max_requests_per_minute=900,  # proxy-rate-limits: above the configured 600; no per-day limit
)
Rule(
    "open",
    client_id=org.id,
    proxy_id=gateway.id,
    effect="allow",  # rule-allows-everything: every method, every path, no checks
    priority=10,
)
