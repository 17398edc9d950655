"""Rules on credentials, targets and proxies: list, create, delete only; field validation."""
import pytest

from emulator_helpers import ISO_MS, assert_error, is_uuid4
from rr_pulumi.schema import kinds

PARENT_PLURALS = [k.plural for k in kinds.RULE_PARENTS]

FULL = {
    "effect": "deny", "priority": 900, "methods": ["DELETE", "PUT"], "pathPattern": "^/api/users/",
    "pathPresence": "present",
    "headerChecks": [{"namePattern": "^x-tenant$", "valuePattern": "^acme$", "presence": "present"}],
    "queryChecks": [{"namePattern": "debug", "presence": "absent"}],
    "bodyChecks": [{"jsonPath": "$.model", "valuePattern": "gpt-4.*", "presence": "present"}],
    "tokenChecks": [{"claim": "sub", "valuePattern": "^svc-", "presence": "present"}],
    "regexFlags": "i", "notes": "block deletes",
}


@pytest.fixture(params=PARENT_PLURALS)
def parent(request, user, cid):
    if request.param == "credentials":
        pid = user.new_credential(cid)["sKey"]
    elif request.param == "targets":
        pid = user.new_target(cid)["sKey"]
    else:
        pid = user.new_proxy(cid)["sKey"]
    return f"/clients/{cid}/{request.param}/{pid}", pid, request.param


def test_create_list_delete(user, cid, parent):
    path, pid, kind = parent
    r = user.post(f"{path}/rules", FULL)
    assert r.status_code == 201, r.text
    (rule,) = r.json()["rules"]
    assert is_uuid4(rule["sKey"]) and rule["pKey"] == cid == rule["clientId"] and rule["parentId"] == pid
    assert rule["ruleParentType"] == kinds.by_plural(kind).word
    assert {k: rule[k] for k in FULL} == FULL
    assert ISO_MS.match(rule["ruleCreatedAt"])
    minimal = user.post(f"{path}/rules", {"effect": "allow", "priority": 0}).json()["rules"][0]
    assert minimal["methods"] == [] and minimal["headerChecks"] == [] and minimal["pathPattern"] is None
    listed = user.get(f"{path}/rules").json()
    assert [x["sKey"] for x in listed["rules"]] == [rule["sKey"], minimal["sKey"]]
    assert listed["pagination"]["total"] == 2
    assert user.delete(f"{path}/rules/{rule['sKey']}").json() == {"message": "Success"}
    assert_error(user.delete(f"{path}/rules/{rule['sKey']}"), 404)
    assert [x["sKey"] for x in user.get(f"{path}/rules").json()["rules"]] == [minimal["sKey"]]


def test_rules_of_one_parent_are_not_reachable_from_another(user, cid):
    a, b = user.new_target(cid)["sKey"], user.new_target(cid)["sKey"]
    rule = user.post(f"/clients/{cid}/targets/{a}/rules", {"effect": "allow", "priority": 1}).json()["rules"][0]
    assert_error(user.delete(f"/clients/{cid}/targets/{b}/rules/{rule['sKey']}"), 404)
    assert_error(user.delete(f"/clients/{cid}/proxies/{a}/rules/{rule['sKey']}"), 404)   # wrong parent kind
    assert user.get(f"/clients/{cid}/targets/{b}/rules").json()["rules"] == []


@pytest.mark.parametrize("change,mentions", [
    ({"effect": "block"}, "effect"), ({"effect": None}, "effect"), ({"priority": None}, "priority"),
    ({"priority": -1}, "priority"), ({"priority": 1001}, "priority"), ({"priority": 1.5}, "priority"),
    ({"methods": ["get"]}, "methods[0]"), ({"methods": ["GET", "FETCH"]}, "methods[1]"),
    ({"methods": "GET"}, "methods"), ({"methods": ["GET", "GET"]}, "methods"), ({"methods": ""}, "methods"),
    ({"headerChecks": {}}, "headerChecks"),
    ({"pathPattern": "(unclosed"}, "pathPattern"), ({"pathPresence": "must_exist"}, "pathPresence"),
    ({"headerChecks": [{"namePattern": "[", "presence": "present"}]}, "headerChecks[0].namePattern"),
    ({"headerChecks": [{"namePattern": "a"}]}, "headerChecks[0].presence"),
    ({"queryChecks": [{"namePattern": "a", "presence": "present", "valuePattern": "*"}]},
     "queryChecks[0].valuePattern"),
    ({"queryChecks": [{"namePattern": "a", "presence": "present", "extra": 1}]}, "queryChecks[0]"),
    ({"bodyChecks": [{"jsonPath": "model", "presence": "present"}]}, "bodyChecks[0].jsonPath"),
    ({"tokenChecks": [{"claim": "", "presence": "present"}]}, "tokenChecks[0].claim"),
    ({"tokenChecks": {"claim": "sub"}}, "tokenChecks"),
    ({"regexFlags": "g"}, "regexFlags"), ({"regexFlags": "ii"}, "regexFlags"),
    ({"notes": 5}, "notes"), ({"path": {"pattern": "x"}}, "path"),
])
def test_validation(user, cid, change, mentions):
    target = user.new_target(cid)["sKey"]
    body = {"effect": "allow", "priority": 10, **change}
    err = assert_error(user.post(f"/clients/{cid}/targets/{target}/rules", body), 400, "VALIDATION_ERROR", mentions)
    if "effect" in change and change["effect"]:
        assert "allow" in err["message"] and "deny" in err["message"]
    assert user.get(f"/clients/{cid}/targets/{target}/rules").json()["rules"] == []


def test_regex_flags_apply_when_compiling(user, cid):
    target = user.new_target(cid)["sKey"]
    verbose = {"effect": "allow", "priority": 1, "pathPattern": "^/a  # comment", "regexFlags": "x"}
    assert user.post(f"/clients/{cid}/targets/{target}/rules", verbose).status_code == 201
    assert user.post(f"/clients/{cid}/targets/{target}/rules",
                     {"effect": "allow", "priority": 1, "regexFlags": ""}).status_code == 201


def test_unknown_parent_is_404(user, cid):
    missing = "0b5e4f3c-1d2a-4c6b-9e8f-7a6b5c4d3e2f"
    for kind in PARENT_PLURALS:
        assert_error(user.get(f"/clients/{cid}/{kind}/{missing}/rules"), 404)
        assert_error(user.post(f"/clients/{cid}/{kind}/{missing}/rules", {"effect": "allow", "priority": 1}), 404)
