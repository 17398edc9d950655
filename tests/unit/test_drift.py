"""Drift decisions from a `pulumi preview --refresh --json` document and from the API's listings."""

import json

from rr_pulumi.tools import drift
from rr_pulumi.tools import pulumi_cli
from rr_pulumi.provider import stack_claims
from rr_pulumi.tools.cli import main
from rr_pulumi.api.errors import ConfigurationError

T = "pulumi-python:dynamic/requestrocket:"


def urn(kind, name):
    return f"urn:pulumi:prod::org::{T}{kind}::{name}"


def state(kind, name, id_, outputs, inputs=None):
    return {"urn": urn(kind, name), "id": id_, "type": T + kind, "outputs": outputs, "inputs": inputs or outputs}


TARGET = {"client_id": "c1", "target_name": "api", "target_base_url": "https://a.example.com",
          "target_region": "us-east-1", "target_default_rule_effect": "allow"}
CRED = {"client_id": "c1", "credential_name": "callers", "credential_type": "proxy", "credential_auth_type": "apiKey",
        "credential_region": "us-east-1", "credential_secret": "[secret]", "credential_updated_at": "T1"}
RULE = {"client_id": "c1", "proxy_id": "p1", "effect": "deny", "priority": 900, "methods": ["DELETE"],
        "header_checks": [{"name_pattern": "^X$", "presence": "present"}]}


def refresh(kind, name, id_, outs):
    return {"op": "refresh", "urn": urn(kind, name), "oldState": state(kind, name, id_, outs),
            "newState": state(kind, name, id_, outs)}


def test_no_steps_but_refresh_and_same_is_no_drift():
    doc = {"steps": [refresh("Target", "api", "t1", TARGET),
                     {"op": "same", "urn": urn("Target", "api"), "oldState": state("Target", "api", "t1", TARGET),
                      "newState": state("Target", "api", "t1", TARGET)}]}
    assert drift.differences_from_preview(doc) == []
    assert drift.render(drift.Report("prod", [])) == "No drift: stack 'prod' matches the RequestRocket account.\n"


def test_field_changed_names_the_property_path_with_live_and_declared_values():
    live = {**RULE, "header_checks": [{"name_pattern": "^Y$", "presence": "present"}]}
    live_target = {**TARGET, "target_default_rule_effect": "deny"}
    doc = {"steps": [
        refresh("Target", "api", "t1", TARGET),
        {"op": "update", "urn": urn("Target", "api"), "oldState": state("Target", "api", "t1", live_target),
         "newState": state("Target", "api", "t1", TARGET)},
        {"op": "replace", "urn": urn("Rule", "r"), "oldState": state("Rule", "r", "r1", live),
         "newState": state("Rule", "r", "r1", RULE)},
        {"op": "create-replacement", "urn": urn("Rule", "r"), "newState": state("Rule", "r", "", RULE)},
    ]}
    diffs = drift.differences_from_preview(doc)
    assert [(d.kind, d.resource, d.paths) for d in diffs] == [
        (drift.FIELD_CHANGED, "Target api", ["target_default_rule_effect"]),
        (drift.FIELD_CHANGED, "Rule r", ["header_checks[0].name_pattern"]),
    ]
    assert diffs[0].detail == ('target_default_rule_effect: live "deny", code "allow" '
                               '(`pulumi up --refresh` updates it in place)')
    assert (diffs[0].urn, diffs[0].id) == (urn("Target", "api"), "t1")
    assert [(c.path, c.live, c.declared) for c in diffs[1].changes] == [("header_checks[0].name_pattern", "^Y$", "^X$")]
    assert "replaces it" in diffs[1].detail


def test_unset_server_defaults_are_not_drift():
    live = {**TARGET, "target_test_path": None}
    assert drift.field_changes("Proxy", {"proxy_max_requests_per_day": 20000}, {}) == []
    assert drift.field_changes("Target", live, TARGET) == []


def test_deleted_out_of_band_versus_not_created_yet():
    doc = {"steps": [
        refresh("Rule", "gone", "r1", RULE),
        {"op": "create", "urn": urn("Rule", "gone"), "newState": state("Rule", "gone", "", RULE)},
        {"op": "create", "urn": urn("Rule", "new"), "newState": state("Rule", "new", "", RULE)},
        {"op": "delete", "urn": urn("Target", "old"), "oldState": state("Target", "old", "t9", TARGET)},
    ]}
    diffs = drift.differences_from_preview(doc)
    assert [(d.kind, d.resource) for d in diffs] == [
        (drift.DELETED, "Rule gone"), (drift.NOT_CREATED, "Rule new"), (drift.NOT_DECLARED, "Target old")]
    assert "rule r1 no longer exists" in diffs[0].detail


def credential_update(live, declared, rotation_before=1, rotation_declared=1):
    """A refreshed preview planning an update of the credential `callers`."""
    inputs = {**CRED, "credential_secret_rotation": rotation_before}
    return {"steps": [
        {"op": "refresh", "urn": urn("Credential", "callers"),
         "oldState": state("Credential", "callers", "k1", CRED, inputs),
         "newState": state("Credential", "callers", "k1", live)},
        {"op": "update", "urn": urn("Credential", "callers"), "oldState": state("Credential", "callers", "k1", live),
         "newState": state("Credential", "callers", "k1", {**declared, "credential_secret_rotation": rotation_declared})},
    ]}


def test_an_update_of_nothing_but_a_secret_the_code_kept_is_a_secret_rotated_out_of_band():
    # The provider's `stale:` marker (a secret output, shown as [secret]) is what plans this update.
    [diff] = drift.differences_from_preview(credential_update({**CRED, "credential_updated_at": "T2"}, CRED))
    assert (diff.kind, diff.resource, diff.paths, diff.id) == (
        drift.SECRET_ROTATED, "Credential callers", ["credential_secret"], "k1")
    assert diff.changes[0].live == diff.changes[0].declared == "[secret]"
    assert "changed outside Pulumi (updated at T2)" in diff.detail


def test_a_visible_stale_marker_is_a_rotation_even_beside_a_field_change():
    live = {**CRED, "credential_name": "renamed", "credential_secret_hash": "stale: credential updated at T2"}
    diffs = drift.differences_from_preview(credential_update(live, CRED))
    assert [d.kind for d in diffs] == [drift.FIELD_CHANGED, drift.SECRET_ROTATED]


def test_a_rename_out_of_band_is_a_field_change_and_no_rotation():
    live = {**CRED, "credential_name": "renamed", "credential_updated_at": "T2"}
    [diff] = drift.differences_from_preview(credential_update(live, CRED))
    assert (diff.kind, diff.paths) == (drift.FIELD_CHANGED, ["credential_name"])
    assert diff.detail.startswith('credential_name: live "renamed", code "callers"')


def test_a_secret_changed_in_the_code_is_a_field_change_without_its_value():
    [diff] = drift.differences_from_preview(credential_update(CRED, CRED, rotation_declared=2))
    assert diff.kind == drift.FIELD_CHANGED and diff.detail.startswith("credential_secret: [secret] changed in the code")


def test_unmanaged_objects_under_managed_parents():
    doc = {"steps": [
        refresh("Client", "org", "c1", {"client_name": "Acme", "client_id": "c1"}),
        refresh("Proxy", "gw", "p1", {"client_id": "c1", "proxy_name": "gw"}),
        refresh("Rule", "r", "r1", RULE),
    ]}
    listings = {
        "/api/clients/c1/proxies": [{"sKey": "p1", "proxyName": "gw"}],
        "/api/clients/c1/targets": [{"sKey": "t7", "targetName": "shadow"}],
        "/api/clients/c1/proxies/p1/rules": [{"sKey": "r1"}, {"sKey": "r2", "effect": "allow", "priority": 5,
                                                              "methods": ["GET"], "pathPattern": "^/x"}],
    }
    managed = drift.managed_from_preview(doc)
    seen_profiles = []
    diffs = drift.unmanaged_objects(managed, lambda path, profile: seen_profiles.append(profile) or
                                    listings.get(path, []))
    assert [(d.kind, d.resource, d.detail) for d in diffs] == [
        (drift.UNMANAGED, "Client org", "target t7 ('shadow') is in client c1 but in no resource of this stack"),
        (drift.UNMANAGED, "Proxy gw",
         "rule r2 (allow priority 5, methods GET, path '^/x') is on proxy p1 but in no resource of this stack"),
    ]
    assert seen_profiles and set(seen_profiles) == {None}
    assert diffs[1].urn == urn("Proxy", "gw") and diffs[1].id == "r2"
    text = drift.render(drift.Report("prod", diffs))
    assert text.startswith("DRIFT in stack 'prod': 2 differences")
    assert "  [unmanaged object added] Proxy gw\n      rule r2" in text
    document = json.loads(drift.render_json(drift.Report("prod", diffs)))
    assert document["differences"][1]["kind"] == drift.UNMANAGED and document["fix"] == "pulumi up --refresh"


def lookup(kind, name, id_, outs):
    """A `Kind.get` as the state and `pulumi preview --refresh --json` show it: a read resource, `external`."""
    step = refresh(kind, name, id_, outs)
    step["oldState"]["external"] = step["newState"]["external"] = True
    return step


def test_lookups_are_not_managed_and_their_children_are_not_listed():
    doc = {"steps": [
        lookup("Client", "org", "c1", {"client_name": "Acme", "client_id": "c1"}),
        lookup("Proxy", "gw", "p1", {"client_id": "c1", "proxy_name": "gw"}),
        refresh("Rule", "mine", "r1", RULE),
        {"op": "read", "urn": urn("Proxy", "gw"), "oldState": lookup("Proxy", "gw", "p1", {})["oldState"],
         "newState": lookup("Proxy", "gw", "p1", {})["newState"]},
    ]}
    assert drift.differences_from_preview(doc) == []
    managed = drift.managed_from_preview(doc)
    assert set(managed.by_kind) == {"Rule"}
    listed = []
    assert drift.unmanaged_objects(managed, lambda path, profile: listed.append(path) or []) == [] and listed == []


def test_managed_ids_of_an_exported_state_leave_out_lookups_and_other_types():
    resources = [
        {"urn": "urn:pulumi:prod::org::pulumi:pulumi:Stack::org-prod", "type": "pulumi:pulumi:Stack"},
        {**state("Client", "org", "c1", {}), "external": True},
        state("Target", "api", "t1", TARGET),
        state("Rule", "r", "r1", RULE),
        {**state("Proxy", "gw", "", {})},  # not created yet (an unfinished `up`)
        {"urn": ACTIVATION_URN, "id": "p1-activation", "type": "pulumi-python:dynamic/rr-rollout:ProxyActivation"},
    ]
    exported = {"version": 3, "deployment": {"resources": resources}}
    assert sorted(stack_claims.managed_ids(exported)) == ["r1", "t1"]
    assert stack_claims.managed_ids(exported["deployment"]) == stack_claims.managed_ids(exported)
    assert stack_claims.managed_ids(exported)["t1"] == state("Target", "api", "t1", TARGET)["urn"]


def test_the_listing_asks_for_temporary_credentials(monkeypatch):
    calls = []

    class Listing:
        def list(self, path, params=None):
            calls.append((path, params))
            return []

    monkeypatch.setattr(pulumi_cli, "api_client", lambda settings: Listing())
    list_items = drift.api_lister(lambda profile: None)
    list_items("/api/clients/c1/credentials", None)
    list_items("/api/clients/c1/targets", None)
    assert calls == [("/api/clients/c1/credentials", {"includeTemporary": "true"}), ("/api/clients/c1/targets", {})]


def test_objects_not_managed_are_information_unless_asked():
    other = drift.Difference(drift.UNMANAGED, "Proxy gw", "rule r2 (deny priority 5) is on proxy p1 but in no "
                             "resource of this stack", urn("Proxy", "gw"), "r2")
    text = drift.render(drift.Report("prod", [], [other]))
    assert text == ("No drift: stack 'prod' matches the RequestRocket account.\n\n"
                    "Not managed by this stack, and not counted as drift: 1 object under its parents that another "
                    "stack, person or job may own (`--fail-on-unmanaged` counts them as drift)\n\n"
                    "  [unmanaged object added] Proxy gw\n"
                    "      rule r2 (deny priority 5) is on proxy p1 but in no resource of this stack\n")
    document = json.loads(drift.render_json(drift.Report("prod", [], [other])))
    assert (document["drift"], document["differences"], [d["id"] for d in document["not_managed"]]) == (
        False, [], ["r2"])


def test_objects_of_a_profile_are_listed_with_that_profile():
    doc = {"steps": [
        {"op": "refresh", "urn": urn("Client", "org"),
         "oldState": state("Client", "org", "c1", {"client_name": "Acme"}, {"client_name": "Acme", "profile": "acme"})},
        {"op": "refresh", "urn": urn("Proxy", "gw"),
         "oldState": state("Proxy", "gw", "p1", {"client_id": "c1"}, {"client_id": "c1", "profile": "acme"})},
    ]}
    calls = []
    drift.unmanaged_objects(drift.managed_from_preview(doc), lambda path, profile: calls.append((path, profile)))
    assert calls and {profile for _, profile in calls} == {"acme"}


def test_a_failure_reason_is_one_line():
    assert drift.one_line(drift.CheckFailed("no stack named 'x' found\nmore")) == "no stack named 'x' found"
    assert drift.one_line(KeyError("k")) == "KeyError: 'k'"
    assert json.loads(drift.render_error("bad token", "prod", as_json=True)) == {
        "stack": "prod", "drift": None, "error": "bad token"}


def test_a_gone_parent_is_skipped():
    managed = drift.managed_from_preview({"steps": [refresh("Proxy", "gw", "p1", {"client_id": "c1"})]})
    assert drift.unmanaged_objects(managed, lambda path, profile: None) == []


def test_a_profile_changed_in_the_code_is_named_and_is_no_rotation():
    doc = credential_update(CRED, {**CRED, "profile": "acme"})
    [diff] = drift.differences_from_preview(doc)
    assert (diff.kind, diff.paths) == (drift.FIELD_CHANGED, ["profile"])
    assert [(c.live, c.declared) for c in diff.changes] == [(None, "acme")]


# -- a proxy's activation (rr_pulumi.rollout), as `pulumi preview --refresh --json` shows it ---------------------

ACTIVATION_URN = ("urn:pulumi:prod::org::pulumi-python:dynamic/requestrocket:Proxy"
                  "$pulumi-python:dynamic/rr-rollout:ProxyActivation::weather-activation")
UNKNOWN_ID = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # how Pulumi's JSON shows a value unknown until `up`


def activation_step(op, live, declared, **reasons):
    old = {"urn": ACTIVATION_URN, "id": f"{live['proxy_id']}-activation", "outputs": live, "inputs": live}
    return {"op": op, "urn": ACTIVATION_URN, "oldState": old, "newState": {"urn": ACTIVATION_URN, "inputs": declared},
            **reasons}


def test_an_unfinished_replacement_of_a_proxy_says_its_activation_did_not_run():
    """After an `up` that created the replacement proxy p2 and failed before its rules (seen through the real CLI)."""
    live, declared = {"client_id": "c1", "proxy_id": "p1", "active": True}, {"client_id": "c1", "proxy_id": "p2",
                                                                             "active": True}
    [diff] = drift.differences_from_preview({"steps": [activation_step("replace", live, declared,
                                                                       replaceReasons=["proxy_id"])]})
    assert (diff.kind, diff.resource, diff.id, diff.paths) == (
        drift.FIELD_CHANGED, "ProxyActivation weather-activation", "p1-activation", ["proxy_id"])
    assert diff.detail == ('proxy_id: live "p1", code "p2": an unfinished `pulumi up` replaced proxy p1 with p2 but '
                           "stopped before this activation, which switches the new proxy on once its rules exist; "
                           "`pulumi up --refresh` finishes it")
    report = drift.render(drift.Report("prod", [diff]))
    assert "  [field changed] ProxyActivation weather-activation (p1-activation)\n" in report
    assert "no property named" not in report and "an replace" not in report


def test_an_activation_follows_a_replacement_the_code_asks_for():
    live = {"client_id": "c1", "proxy_id": "p1", "active": True}
    [diff] = drift.differences_from_preview({"steps": [activation_step(
        "replace", live, {**live, "proxy_id": UNKNOWN_ID, "active": False}, replaceReasons=["proxy_id"])]})
    assert diff.detail == ('proxy_id: live "p1", code [unknown until `pulumi up`]: its proxy is replaced (see the '
                           "proxy's line); `pulumi up --refresh` replaces this activation too, which keeps the new "
                           "proxy off, as declared")


def test_a_proxy_switched_off_in_the_account_is_named_by_its_activation():
    live = {"client_id": "c1", "proxy_id": "p1", "active": False}
    [diff] = drift.differences_from_preview({"steps": [activation_step("update", live, {**live, "active": True})]})
    assert (diff.paths, diff.detail) == (["active"], "active: live false, code true: proxy p1 is switched off in the "
                                                     "account; `pulumi up --refresh` switches it on")


def test_a_step_without_a_named_property_says_what_up_does():
    doc = {"steps": [{"op": "update", "urn": urn("Target", "api"), "oldState": state("Target", "api", "t1", TARGET),
                      "newState": state("Target", "api", "t1", TARGET)}]}
    [diff] = drift.differences_from_preview(doc)
    assert diff.detail == ("`pulumi up --refresh` updates it in place, but the provider names no changed property "
                           "(`pulumi preview --refresh --diff` shows the engine's plan)")


def test_a_deleted_activation_is_named_in_words():
    doc = {"steps": [{"op": "refresh", "urn": ACTIVATION_URN, "oldState": {"id": "p1-activation"}},
                     {"op": "create", "urn": ACTIVATION_URN, "newState": {"inputs": {}}}]}
    [diff] = drift.differences_from_preview(doc)
    assert (diff.resource, diff.detail) == ("ProxyActivation weather-activation", "proxy activation p1-activation no "
                                            "longer exists; `pulumi up --refresh` creates it again")


# -- `rr-pulumi drift --json` when it cannot check --------------------------------------------------------------


class StackWithBrokenConfig:
    """`pulumi` with a selected stack whose configuration cannot be read."""

    def __init__(self, cwd, stack=None, env=None):
        self.stack = stack

    def stack_name(self):
        return "prod"

    def connection_settings(self, profile=None):
        raise ConfigurationError("requestrocket:apiUrl must be an absolute http(s) URL, got 'not-a-url'")


def test_an_error_names_the_selected_stack(monkeypatch, capsys):
    monkeypatch.setattr(pulumi_cli, "Pulumi", StackWithBrokenConfig)
    assert main(["drift", "--json"]) == drift.CANNOT_CHECK
    out, err = capsys.readouterr()
    assert json.loads(out) == {"stack": "prod", "drift": None, "error": "requestrocket:apiUrl must be an absolute "
                                                                         "http(s) URL, got 'not-a-url'"}
    assert err == "COULD NOT CHECK for drift: requestrocket:apiUrl must be an absolute http(s) URL, got 'not-a-url'\n"
