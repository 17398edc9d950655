"""Proxy (a credential-guarded route to a target): `/api/clients/{clientId}/proxies/{proxyId}`."""

from __future__ import annotations

from typing import ClassVar, Optional

from rr_pulumi.schema.model import KindFacts, SchemaModel, prop
from rr_pulumi.schema.common import ID_MAX, Alias, Region, RuleEffect, client_id_prop, name_prop, timestamp_prop

MAX_REQUESTS_PER_MINUTE = 1000
MAX_REQUESTS_PER_DAY = 20000


class ProxySchema(SchemaModel):
    """A proxy: callers present `proxy_credential_id`, requests go to `target_id` with `target_credential_id`.
    `url` is its data-plane URL. Changing its region replaces it."""

    kind_facts: ClassVar[KindFacts] = KindFacts(
        plural="proxies", word="proxy", name_field="proxy_name", active_field="proxy_active"
    )

    client_id: Optional[str] = client_id_prop("proxy")
    proxy_name: Optional[str] = name_prop("proxyName", "proxy")
    proxy_region: Optional[Region] = prop(
        "proxyRegion",
        required=True,
        immutable=True,
        description="AWS region code of the proxy; its credentials and target must be in the same region.",
    )
    proxy_credential_id: Optional[str] = prop(
        "proxyProxyCredentialId",
        required=True,
        min_length=1,
        max_length=ID_MAX,
        references="Credential",
        requires={"credential_type": "proxy"},
        same_region="proxy_region",
        description="Id of the credential (type proxy) that callers present to the proxy.",
    )
    target_id: Optional[str] = prop(
        "proxyTargetId",
        required=True,
        min_length=1,
        max_length=ID_MAX,
        references="Target",
        same_region="proxy_region",
        description="Id of the target the proxy forwards to.",
    )
    target_credential_id: Optional[str] = prop(
        "proxyTargetCredentialId",
        required=True,
        min_length=1,
        max_length=ID_MAX,
        references="Credential",
        requires={"credential_type": "target"},
        same_region="proxy_region",
        description="Id of the credential (type target) the proxy uses towards the target.",
    )
    proxy_active: Optional[bool] = prop("proxyActive", True, description="Inactive proxies process no requests.")
    proxy_default_rule_effect: Optional[RuleEffect] = prop(
        "proxyDefaultRuleEffect", "allow", description="Effect when no rule of the proxy matches: allow or deny."
    )
    proxy_alias: Optional[Alias] = prop(
        "proxyAlias", description="Optional friendly alias: 1-100 characters from A-Z, a-z, 0-9, '-' and '_'."
    )
    proxy_max_requests_per_minute: Optional[int] = prop(
        "proxyMaxRequestsPerMinute",
        ge=1,
        le=MAX_REQUESTS_PER_MINUTE,
        server_default=True,
        description="Rate limit per minute; when unset the server copies the client's default.",
    )
    proxy_max_requests_per_day: Optional[int] = prop(
        "proxyMaxRequestsPerDay",
        ge=1,
        le=MAX_REQUESTS_PER_DAY,
        server_default=True,
        description="Rate limit per day; when unset the server copies the client's default.",
    )
    proxy_created_at: Optional[str] = timestamp_prop("proxyCreatedAt", "proxy was created")
    proxy_updated_at: Optional[str] = timestamp_prop("proxyUpdatedAt", "proxy was last updated")
    url: Optional[str] = prop(None, computed=True, description="Data-plane URL: <data-plane base>/api/{proxyId}.")
