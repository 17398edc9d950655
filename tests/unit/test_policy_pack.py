"""The pack's wiring: what the policy SDK hands over becomes plain views, configuration falls back to defaults,
only rr-pulumi resources are judged, and the pack folder is found and bound to an interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

from rr_pulumi.policy import location
from rr_pulumi.policy.__main__ import main
from rr_pulumi.policy.policies import GUARDRAILS, policies
from rr_pulumi.policy.view import from_validation_args, kind_of, type_token, unwrapped

BY_NAME = {guardrail.name: guardrail for guardrail in GUARDRAILS}
OPTS = PolicyResourceOptions(False, [], None, [], None, [], None)


def urn(kind: str, name: str) -> str:
    return f"urn:pulumi:test::p::{type_token(kind)}::{name}"


def validate_resource(policy_name: str, kind_token: str, props: dict, config: dict | None = None) -> list:
    [policy] = [p for p in policies() if p.name == policy_name]
    assert isinstance(policy, ResourceValidationPolicy)
    reported = []
    args = ResourceValidationArgs(kind_token, unknown_checking_proxy(props), "urn:x", "it", OPTS, None, config)
    policy.validate(args, lambda message, urn=None: reported.append((message, urn)))
    return reported


def validate_stack(policy_name: str, resources: list, config: dict | None = None) -> list:
    [policy] = [p for p in policies() if p.name == policy_name]
    assert isinstance(policy, StackValidationPolicy)
    reported = []
    policy.validate(StackValidationArgs(resources, config), lambda message, urn=None: reported.append((message, urn)))
    return reported


def test_every_policy_has_a_unique_name_a_description_and_defaults_for_its_settings():
    assert len(BY_NAME) == len(GUARDRAILS) == 9
    for guardrail in GUARDRAILS:
        assert guardrail.description.endswith(".")
        assert guardrail.level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)
        for key, spec in guardrail.settings.items():
            assert {"type", "default", "description"} <= set(spec), (guardrail.name, key)


def test_configuration_overrides_defaults_and_ignores_other_keys():
    limits = BY_NAME["proxy-rate-limits"]
    assert limits.config({}) == {"maxRequestsPerMinute": 1000, "maxRequestsPerDay": 20000}
    assert limits.config({"maxRequestsPerDay": 500, "enforcementLevel": "advisory"}) == {
        "maxRequestsPerMinute": 1000,
        "maxRequestsPerDay": 500,
    }


def test_unwrapped_unwraps_the_sdk_proxies_and_keeps_unknowns():
    props = unknown_checking_proxy({"a": UNKNOWN_STRING_VALUE, "b": [1, {"c": UNKNOWN_NUMBER_VALUE}], "d": "x"})
    assert unwrapped(props) == {"a": UNKNOWN_STRING_VALUE, "b": [1, {"c": UNKNOWN_NUMBER_VALUE}], "d": "x"}


def test_kinds_come_from_the_type_token_only():
    assert kind_of("pulumi-python:dynamic/requestrocket:Proxy") == "Proxy"
    assert kind_of("pulumi-python:dynamic/other:Proxy") is None
    assert kind_of("pulumi-python:dynamic/requestrocket:Gateway") is None
    assert kind_of("aws:s3/bucket:Bucket") is None


def test_the_provider_property_is_dropped():
    args = ResourceValidationArgs(type_token("Target"), unknown_checking_proxy({"__provider": "x", "a": 1}),
                                  "urn:x", "api", OPTS, None)
    assert from_validation_args(args).props == {"a": 1}


def test_a_resource_policy_reports_through_the_sdk_with_its_configuration():
    props = {"__provider": "secret", "proxy_max_requests_per_minute": 900.0, "proxy_max_requests_per_day": 100.0}
    assert validate_resource("proxy-rate-limits", type_token("Proxy"), props) == []
    [(message, _)] = validate_resource("proxy-rate-limits", type_token("Proxy"), props, {"maxRequestsPerMinute": 600})
    assert message == "Proxy 'it': proxy_max_requests_per_minute is 900, above the ceiling of 600 per minute"


def test_unknown_values_do_not_raise_inside_the_sdk_proxy():
    props = {"proxy_max_requests_per_minute": UNKNOWN_NUMBER_VALUE, "proxy_max_requests_per_day": 10.0}
    assert validate_resource("proxy-rate-limits", type_token("Proxy"), props) == []


@pytest.mark.parametrize("token", ["pulumi-python:dynamic/other:Target", "random:index/randomString:RandomString"])
def test_other_resources_with_the_same_property_names_are_ignored(token):
    assert validate_resource("target-https", token, {"target_base_url": "http://example.com"}) == []


def test_a_stack_policy_links_resources_by_property_dependencies_and_reports_the_proxy_urn():
    target = PolicyResource(type_token("Target"), {"target_region": "us-east-1"}, urn("Target", "api"), "api",
                            OPTS, None, None, [], {})
    proxy = PolicyResource(type_token("Proxy"), unknown_checking_proxy({"proxy_region": "eu-west-1",
                                                                        "target_id": UNKNOWN_STRING_VALUE}),
                           urn("Proxy", "gw"), "gw", OPTS, None, None, [target], {"target_id": [target]})
    [(message, reported_urn)] = validate_stack("proxy-parts-share-region", [target, proxy])
    assert reported_urn == urn("Proxy", "gw")
    assert "refers to Target 'api' in 'us-east-1'" in message


def test_require_default_deny_is_configuration():
    proxy = PolicyResource(type_token("Proxy"), {"proxy_default_rule_effect": "allow"}, urn("Proxy", "gw"), "gw",
                           OPTS, None, None, [], {})
    rule = PolicyResource(type_token("Rule"), {"effect": "deny", "proxy_id": "p-1"}, urn("Rule", "deny"), "deny",
                          OPTS, None, None, [proxy], {"proxy_id": [proxy]})
    assert validate_stack("proxy-deny-rule", [proxy, rule]) == []
    assert len(validate_stack("proxy-deny-rule", [proxy, rule], {"requireDefaultDeny": True})) == 1


# -- where the pack is ---------------------------------------------------------------------------------------------


def test_the_shipped_pack_has_its_manifest_and_entry_point():
    assert (location.SHIPPED / "PulumiPolicy.yaml").is_file()
    assert "serve()" in (location.SHIPPED / "__main__.py").read_text()


def test_a_bound_pack_runs_with_the_interpreter_that_wrote_it(tmp_path):
    folder = location.bound_pack(sys.executable, root=tmp_path)
    manifest = (folder / "PulumiPolicy.yaml").read_text()
    assert "virtualenv: .python" in manifest and "version: 0.1.0" in manifest
    shim = folder / ".python" / "bin" / "python"
    out = subprocess.run([str(shim), "-c", "import sys, rr_pulumi.policy; print(sys.executable)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == sys.executable
    assert location.bound_pack(sys.executable, root=tmp_path) == folder  # idempotent
    assert location.bound_pack("/other/python", root=tmp_path) != folder


def test_the_command_prints_the_bound_pack_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RR_PULUMI_POLICY_CACHE", str(tmp_path))
    assert main([]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith(str(tmp_path)) and (tmp_path / printed.split("/")[-1] / "__main__.py").is_file()
    assert main(["shipped"]) == 0 and capsys.readouterr().out.strip() == str(location.SHIPPED)
    assert main(["list"]) == 0 and "proxy-deny-rule [mandatory] (stack)" in capsys.readouterr().out
    assert main(["nonsense"]) == 2
