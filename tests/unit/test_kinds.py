"""The registry of kinds agrees with the schemas and the public classes it describes."""

from typing import get_args

import pytest

from rr_pulumi.schema import schema_of
from rr_pulumi.schema import kinds
from rr_pulumi.schema import PARENTS, fields
from rr_pulumi.schema.credential import CredentialType


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_each_kind_has_its_schema_and_name_field(kind):
    specs = fields(schema_of(kind))
    if kind.name_field:
        assert specs[kind.name_field].required
        assert kind.name_wire == f"{kind.word}Name"


def test_rule_parents_are_the_rule_schema_parent_arguments():
    rule_fields = fields(schema_of(kinds.RULE))
    assert PARENTS == {"credential_id": "credentials", "target_id": "targets", "proxy_id": "proxies"}
    for kind in kinds.RULE_PARENTS:
        assert rule_fields[kind.rule_parent_argument].path


def test_lookups():
    assert kinds.by_plural("proxies") is kinds.PROXY
    assert kinds.by_type_token("pulumi-python:dynamic/requestrocket:Rule") is kinds.RULE
    assert kinds.by_rule_parent_argument("target_id") is kinds.TARGET
    assert [k.name for k in kinds.CLIENT_CHILDREN] == ["Credential", "Target", "Proxy"]
    assert kinds.by_name("Nope") is None


def test_region_fields_are_schema_fields_of_the_kinds_that_live_in_a_region():
    assert {k.name: k.region_field for k in kinds.KINDS if k.region_field} == {
        "Credential": "credential_region", "Target": "target_region", "Proxy": "proxy_region"}
    for kind in kinds.KINDS:
        if kind.region_field:
            assert fields(schema_of(kind))[kind.region_field].immutable


def test_proxy_references_name_schema_fields_and_existing_kinds():
    proxy_fields = fields(schema_of(kinds.PROXY))
    for ref in kinds.PROXY.references:
        assert proxy_fields[ref.argument].required and kinds.by_name(ref.kind) is not None
        if ref.credential_type:
            assert ref.kind == "Credential" and ref.credential_type in get_args(CredentialType)
    assert [k.references for k in kinds.KINDS if k is not kinds.PROXY] == [()] * 4
