"""The registry of kinds agrees with the schemas and the public classes it describes."""

import pytest

from rr_pulumi import kinds
from rr_pulumi.schema import PARENTS, fields


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_each_kind_has_its_schema_and_name_field(kind):
    specs = fields(kind.schema)
    if kind.name_field:
        assert specs[kind.name_field].required
        assert kind.name_wire == f"{kind.word}Name"


def test_rule_parents_are_the_rule_schema_parent_arguments():
    rule_fields = fields(kinds.RULE.schema)
    assert PARENTS == {"credential_id": "credentials", "target_id": "targets", "proxy_id": "proxies"}
    for kind in kinds.RULE_PARENTS:
        assert rule_fields[kind.rule_parent_argument].path


def test_lookups():
    assert kinds.by_plural("proxies") is kinds.PROXY
    assert kinds.by_type_token("pulumi-python:dynamic/requestrocket:Rule") is kinds.RULE
    assert kinds.by_rule_parent_argument("target_id") is kinds.TARGET
    assert [k.name for k in kinds.CLIENT_CHILDREN] == ["Credential", "Target", "Proxy"]
    assert kinds.by_name("Nope") is None
