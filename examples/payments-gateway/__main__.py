"""Payments gateway: partners may only read invoices, internal services with the `invoices:write` scope in their JWT
may also write, and nobody deletes. Both proxies deny by default and forward to the same payments API."""

import pulumi

from rr_pulumi import ApiKeySecret, BearerSecret, Client, JwtVerifySecret
from rr_pulumi.components import Claim, Route, SecureProxy

config = pulumi.Config()
region = config.get("region") or "eu-west-1"
payments_api = config.get("upstreamUrl") or "https://payments.internal.example"

org = Client("payments-org", client_name="payments")

shared = dict(
    client_id=org.id,
    region=region,
    target_base_url=payments_api,
    upstream_secret=BearerSecret(token=config.require_secret("upstreamToken")),
    deny_routes=[Route("DELETE", "/**", name="no-deletes")],  # also explicit, so the answer names the rule
)

partners = SecureProxy(
    "partners",
    caller_secret=ApiKeySecret(api_key=config.require_secret("partnerKey")),
    routes=[Route("GET", "/invoices"), Route("GET", "/invoices/{id}")],
    max_requests_per_minute=60,
    max_requests_per_day=5000,
    **shared,
)

internal = SecureProxy(
    "internal",
    caller_secret=JwtVerifySecret(shared_secret=config.require_secret("internalJwtSecret"),
                                  issuer="https://auth.payments.example", audience="payments-api"),
    routes=[
        Route("GET", "/invoices/**"),
        Route(["POST", "PUT", "PATCH"], "/invoices/**", name="writers",
              claim=Claim("scope", pattern=r"(^| )invoices:write( |$)")),
    ],
    max_requests_per_minute=600,
    max_requests_per_day=20000,
    **shared,
)

pulumi.export("partners_url", partners.url)
pulumi.export("internal_url", internal.url)
