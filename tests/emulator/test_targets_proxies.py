"""Targets and proxies: validation, defaults, immutables, PUT merge, reference checks, 409 and cascades."""
import pytest

from emulator_helpers import ISO_MS, assert_error, is_uuid4


def target_body(**extra):
    return {"targetName": "stripe", "targetBaseURL": "https://api.stripe.com", "targetRegion": "us-east-1", **extra}


class TestTargets:
    def test_create_defaults_and_fields(self, user, cid):
        r = user.post(f"/clients/{cid}/targets", target_body())
        assert r.status_code == 201
        (t,) = r.json()["targets"]
        assert is_uuid4(t["sKey"]) and t["pKey"] == cid == t["parentId"] == t["clientId"] and is_uuid4(t["userId"])
        assert t["targetDefaultRuleEffect"] == "allow" and t["targetTestPath"] is None
        assert ISO_MS.match(t["targetCreatedAt"]) and ISO_MS.match(t["targetUpdatedAt"])
        t2 = user.new_target(cid, targetTestPath="/v1/customers", targetDefaultRuleEffect="deny")
        assert t2["targetTestPath"] == "/v1/customers" and t2["targetDefaultRuleEffect"] == "deny"

    @pytest.mark.parametrize("field,value", [
        ("targetBaseURL", "api.stripe.com"), ("targetBaseURL", "ftp://x.io"), ("targetBaseURL", 3),
        ("targetBaseURL", "https://\u00cf"), ("targetBaseURL", "https://a b"), ("targetBaseURL", "https://x:99999"),
        ("targetRegion", "us-east-9"), ("targetDefaultRuleEffect", "maybe"), ("targetTestPath", "v1"),
        ("targetName", ""), ("targetName", "n" * 101)])
    def test_validation(self, user, cid, field, value):
        err = assert_error(user.post(f"/clients/{cid}/targets", target_body(**{field: value})), 400,
                           "VALIDATION_ERROR", field)
        if field == "targetDefaultRuleEffect":
            assert "allow" in err["message"] and "deny" in err["message"]

    def test_update_merge_immutable_region_and_clearing(self, user, cid):
        t = user.new_target(cid, targetTestPath="/health")
        path = f"/clients/{cid}/targets/{t['sKey']}"
        assert_error(user.put(path, {"targetRegion": "eu-west-1"}), 400, "IMMUTABLE_FIELD", "targetRegion")
        r = user.put(path, {"targetRegion": "us-east-1", "targetName": "renamed"})
        assert r.status_code == 200
        u = r.json()["targets"][0]
        assert u["targetName"] == "renamed" and u["targetBaseURL"] == t["targetBaseURL"]
        assert u["targetTestPath"] == "/health" and u["targetUpdatedAt"] > t["targetUpdatedAt"]
        cleared = user.put(path, {"targetTestPath": None, "targetDefaultRuleEffect": None}).json()["targets"][0]
        assert cleared["targetTestPath"] is None and cleared["targetDefaultRuleEffect"] == "allow"
        assert_error(user.put(path, {"targetBaseURL": None}), 400, mentions="targetBaseURL")


class TestProxies:
    def test_create_with_defaults(self, user, cid):
        body = user.proxy_body(cid)
        r = user.post(f"/clients/{cid}/proxies", body)
        assert r.status_code == 201, r.text
        (p,) = r.json()["proxies"]
        assert is_uuid4(p["sKey"]) and p["pKey"] == cid
        assert p["proxyActive"] is True and p["proxyDefaultRuleEffect"] == "allow" and p["proxyAlias"] is None
        assert p["proxyMaxRequestsPerMinute"] == 1000 and p["proxyMaxRequestsPerDay"] == 20000
        for key in ("proxyProxyCredentialId", "proxyTargetId", "proxyTargetCredentialId"):
            assert p[key] == body[key]
        assert ISO_MS.match(p["proxyCreatedAt"])

    @pytest.mark.parametrize("field,value", [
        ("proxyMaxRequestsPerMinute", 0), ("proxyMaxRequestsPerMinute", 1001), ("proxyMaxRequestsPerMinute", 1.5),
        ("proxyMaxRequestsPerMinute", "10"), ("proxyMaxRequestsPerMinute", True),
        ("proxyMaxRequestsPerDay", 0), ("proxyMaxRequestsPerDay", 20001), ("proxyActive", "yes"),
        ("proxyDefaultRuleEffect", "block"), ("proxyAlias", "has space"), ("proxyAlias", ""),
        ("proxyRegion", "nowhere-1"), ("proxyName", "")])
    def test_validation(self, user, cid, field, value):
        assert_error(user.post(f"/clients/{cid}/proxies", user.proxy_body(cid, **{field: value})), 400,
                     "VALIDATION_ERROR", field)

    def test_limit_bounds_accepted(self, user, cid):
        p = user.new_proxy(cid, proxyMaxRequestsPerMinute=1, proxyMaxRequestsPerDay=20000, proxyAlias="pay-gw_1",
                           proxyActive=False)
        assert (p["proxyMaxRequestsPerMinute"], p["proxyMaxRequestsPerDay"], p["proxyActive"]) == (1, 20000, False)

    def test_reference_checks_name_the_field(self, user, cid):
        good = user.proxy_body(cid)
        wrong_type = user.new_credential(cid, "target")["sKey"]
        proxy_cred = user.new_credential(cid, "proxy")["sKey"]
        elsewhere = user.new_credential(cid, "proxy", region="eu-west-1")["sKey"]
        far_target = user.new_target(cid, region="eu-west-1")["sKey"]
        other_client = user.new_client("other")
        foreign = user.new_credential(other_client, "proxy")["sKey"]
        cases = [
            ("proxyProxyCredentialId", wrong_type, "proxy"),
            ("proxyTargetCredentialId", proxy_cred, "target"),
            ("proxyProxyCredentialId", elsewhere, "us-east-1"),
            ("proxyTargetId", far_target, "us-east-1"),
            ("proxyProxyCredentialId", foreign, "proxyProxyCredentialId"),
            ("proxyTargetId", good["proxyProxyCredentialId"], "proxyTargetId"),   # a credential is not a target
            ("proxyTargetCredentialId", "0b5e4f3c-1d2a-4c6b-9e8f-7a6b5c4d3e2f", "proxyTargetCredentialId"),
        ]
        for field, value, mentions in cases:
            err = assert_error(user.post(f"/clients/{cid}/proxies", {**good, field: value}), 400,
                               "VALIDATION_ERROR", field)
            assert mentions in err["message"]
        assert user.get(f"/clients/{cid}/proxies").json()["pagination"]["total"] == 0

    def test_put_merges_repoints_and_keeps_region(self, user, cid):
        p = user.new_proxy(cid, proxyAlias="gw")
        path = f"/clients/{cid}/proxies/{p['sKey']}"
        r = user.put(path, {"proxyMaxRequestsPerMinute": 60, "proxyMaxRequestsPerDay": 2000})
        assert r.status_code == 200
        u = r.json()["proxies"][0]
        assert (u["proxyMaxRequestsPerMinute"], u["proxyMaxRequestsPerDay"]) == (60, 2000)
        assert u["proxyName"] == p["proxyName"] and u["proxyAlias"] == "gw" and u["proxyUpdatedAt"] > p[
            "proxyUpdatedAt"]
        new_target = user.new_target(cid)["sKey"]
        assert user.put(path, {"proxyTargetId": new_target}).json()["proxies"][0]["proxyTargetId"] == new_target
        assert_error(user.put(path, {"proxyTargetId": user.new_target(cid, region="eu-west-1")["sKey"]}), 400,
                     mentions="proxyTargetId")
        assert_error(user.put(path, {"proxyRegion": "eu-west-1"}), 400, "IMMUTABLE_FIELD", "proxyRegion")
        assert user.put(path, {"proxyRegion": "us-east-1"}).status_code == 200
        reset = user.put(path, {"proxyMaxRequestsPerMinute": None, "proxyAlias": None}).json()["proxies"][0]
        assert reset["proxyMaxRequestsPerMinute"] == 1000 and reset["proxyAlias"] is None
        assert_error(user.put(path, {"proxyTargetId": None}), 400, mentions="proxyTargetId")
        # the old target is no longer referenced and may go
        assert user.delete(f"/clients/{cid}/targets/{p['proxyTargetId']}").status_code == 200

    def test_referenced_credential_and_target_are_in_use(self, user, cid):
        p = user.new_proxy(cid)
        for path in (f"/credentials/{p['proxyProxyCredentialId']}", f"/targets/{p['proxyTargetId']}",
                     f"/credentials/{p['proxyTargetCredentialId']}"):
            err = assert_error(user.delete(f"/clients/{cid}{path}"), 409, "RESOURCE_IN_USE")
            assert p["sKey"] in err["message"]
            assert user.get(f"/clients/{cid}{path}").status_code == 200
        assert user.delete(f"/clients/{cid}/proxies/{p['sKey']}").status_code == 200
        for path in (f"/credentials/{p['proxyProxyCredentialId']}", f"/targets/{p['proxyTargetId']}"):
            assert user.delete(f"/clients/{cid}{path}").status_code == 200

    def test_delete_cascades_rules_and_is_404_after(self, user, cid):
        p = user.new_proxy(cid)
        path = f"/clients/{cid}/proxies/{p['sKey']}"
        rules = [user.post(f"{path}/rules", {"effect": "deny", "priority": i}).json()["rules"][0] for i in range(3)]
        assert user.delete(path).json() == {"message": "Success"}
        assert_error(user.get(path), 404)
        assert_error(user.get(f"{path}/rules"), 404)
        assert_error(user.delete(f"{path}/rules/{rules[0]['sKey']}"), 404)
        assert_error(user.delete(path), 404)
        assert_error(user.put(path, {"proxyName": "x"}), 404)
