"""The field table the providers read without pydantic agrees with the pydantic schemas it is generated from."""

from __future__ import annotations

import runpy
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rr_pulumi.schema import schema_of
from rr_pulumi.schema import kinds
from rr_pulumi.schema import wire
from rr_pulumi.schema import RuleSchema, validate
from rr_pulumi.schema.derive import table_models
from rr_pulumi.schema.model import derive_fields

ROOT = Path(__file__).resolve().parents[2]


def test_the_field_table_is_current():
    namespace = runpy.run_path(str(ROOT / "scripts" / "generate_resources.py"))
    assert namespace["TABLE"].read_text() == namespace["render_table"](), "run `python scripts/generate_resources.py`"


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.name)
def test_fields_by_name_equal_the_schema_fields(kind):
    assert wire.fields(kind.schema_name) == derive_fields(schema_of(kind))
    assert wire.fields(schema_of(kind)) == derive_fields(schema_of(kind))


def test_the_table_holds_every_nested_model_the_schemas_use():
    models = table_models()
    nested = {f["nested"] for m in models.values() for f in m["fields"] if f["nested"]}
    assert nested and nested <= set(models)
    assert {k.schema_name for k in kinds.KINDS} <= set(models)


def test_wire_mapping_follows_nested_models_both_ways():
    values = {"proxy_id": "p-1", "client_id": "c-1", "effect": "allow", "methods": ["get"],
              "query_checks": [{"name_pattern": "^page$", "value_pattern": "^[0-9]+$"}]}
    body = wire.to_wire("RuleSchema", values)
    assert "proxy_id" not in body and "client_id" not in body  # path fields stay in the URL
    check = body[wire.fields("RuleSchema")["query_checks"].wire][0]
    assert check == {"namePattern": "^page$", "valuePattern": "^[0-9]+$"}
    back = wire.from_wire("RuleSchema", body)
    assert back["query_checks"] == [{"name_pattern": "^page$", "value_pattern": "^[0-9]+$"}]


def test_normalize_agrees_with_validation():
    checked, failures = validate(RuleSchema, {"client_id": "c-1", "proxy_id": "p-1", "effect": "allow", "priority": 10,
                                           "methods": ["post", "GET", "get"]})
    assert not failures
    assert wire.normalize("RuleSchema", {"methods": ["post", "GET", "get"]})["methods"] == checked["methods"]


def test_read_delete_diff_and_an_unchanged_check_never_load_pydantic():
    """A refresh or destroy starts a provider process that only reads, deletes and diffs, and a no-op preview one
    that only checks and diffs unchanged resources: none of them may pay for importing pydantic and the schemas."""
    code = textwrap.dedent(
        """
        import sys
        from rr_pulumi.provider.credential import CredentialProvider
        from rr_pulumi.provider.rule import RuleProvider
        from rr_pulumi.provider.target import TargetProvider
        import rr_pulumi.provider.client, rr_pulumi.provider.proxy, rr_pulumi.provider.activation

        target = TargetProvider()
        item = {"sKey": "t-1", "targetName": "api", "targetBaseURL": "https://x.test", "targetRegion": "us-east-1"}
        outs = target.outputs("t-1", {"client_id": "c-1"}, item)
        assert outs["target_name"] == "api", outs
        assert target.inputs_from(outs)["target_base_url"] == "https://x.test"
        assert target.diff("t-1", outs, {**outs, "target_name": "renamed"}).changes
        assert target.collection({"client_id": "c-1"}) == "/api/clients/c-1/targets"
        rule = RuleProvider()
        assert rule.collection({"client_id": "c-1", "proxy_id": "p-1"}).endswith("/proxies/p-1/rules")
        old = {"credential_updated_at": "T1", "credential_name": "a", "credential_secret_hash": "sha256:x"}
        assert CredentialProvider().after_read(old, {**old, "credential_updated_at": "T2"})
        # check of an unchanged resource (a no-op preview): what was validated last time stands
        from rr_pulumi.provider import connection
        connection.configure({"requestrocket:apiUrl": "http://127.0.0.1:9", "requestrocket:token": "u-x",
                              "requestrocket:skipCredentialsValidation": "true"}.get)  # no API here to check
        recorded = {"client_id": "c-1", "proxy_id": "p-1", "effect": "deny", "priority": 900, "methods": ["GET", "POST"]}
        news = {**recorded, "priority": 900.0, "methods": ["post", "GET"], "__provider": "p"}
        result = rule.check(recorded, news)
        assert not result.failures and result.inputs == recorded, result
        print("pydantic" in sys.modules)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
