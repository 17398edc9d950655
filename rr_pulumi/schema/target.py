"""Target (the upstream API a proxy forwards to): `/api/clients/{clientId}/targets/{targetId}`."""

from __future__ import annotations

from typing import ClassVar, Optional

from rr_pulumi.schema.model import KindFacts, SchemaModel, prop
from rr_pulumi.schema.common import HttpUrl, Region, RuleEffect, UrlPath, client_id_prop, name_prop, timestamp_prop


class TargetSchema(SchemaModel):
    """A target: the upstream API that proxies forward to. Changing its region replaces it."""

    kind_facts: ClassVar[KindFacts] = KindFacts(plural="targets", word="target", name_field="target_name")

    client_id: Optional[str] = client_id_prop("target")
    target_name: Optional[str] = name_prop("targetName", "target")
    target_base_url: Optional[HttpUrl] = prop(
        "targetBaseURL", required=True, description="Absolute http(s) URL of the upstream API."
    )
    target_test_path: Optional[UrlPath] = prop(
        "targetTestPath", max_length=2048, description="Path used to test the target, starting with '/'."
    )
    target_region: Optional[Region] = prop(
        "targetRegion", required=True, immutable=True, description="AWS region code where the target lives."
    )
    target_default_rule_effect: Optional[RuleEffect] = prop(
        "targetDefaultRuleEffect",
        "allow",
        description="Effect when no rule of the target matches: allow or deny.",
    )
    target_created_at: Optional[str] = timestamp_prop("targetCreatedAt", "target was created")
    target_updated_at: Optional[str] = timestamp_prop("targetUpdatedAt", "target was last updated")
