"""Transport rules: prefixes, auth order, error bodies on every failure, body limits, rate limits, pagination."""
import json
import uuid

import pytest
import requests

from emulator_helpers import Api, assert_error

MISSING = "0b5e4f3c-1d2a-4c6b-9e8f-7a6b5c4d3e2f"  # a well-formed id that never exists


def raw(emu, method, path, token=None, **kw):
    headers = kw.pop("headers", {})
    if token:
        headers["Authorization"] = token
    return requests.request(method, emu.url + path, headers=headers, timeout=30, **kw)


@pytest.mark.parametrize("prefix", ["/api", ""])
def test_both_prefixes_serve_every_route(emu, user, prefix):
    api = Api(emu, user.token, prefix)
    cid = api.new_client("prefixed")
    assert api.get(f"/clients/{cid}").status_code == 200
    cred = api.new_credential(cid)
    assert api.get(f"/clients/{cid}/credentials/{cred['sKey']}").json()["credentials"][0]["sKey"] == cred["sKey"]
    rule = api.post(f"/clients/{cid}/credentials/{cred['sKey']}/rules", {"effect": "allow", "priority": 1})
    assert rule.status_code == 201
    # the other prefix sees the same data
    twin = Api(emu, user.token, "" if prefix else "/api")
    assert twin.get(f"/clients/{cid}/credentials/{cred['sKey']}/rules").json()["pagination"]["total"] == 1


@pytest.mark.parametrize("path", ["/api/clients", f"/api/clients/{MISSING}", f"/clients/{MISSING}/proxies",
                                  "/api/nowhere", "/nowhere/at/all", f"/api/clients/{MISSING}/targets/x/rules/y"])
@pytest.mark.parametrize("token", [None, "u-unknown-token", "Bearer u-whatever"])
def test_no_or_unknown_token_is_401_on_every_path(emu, path, token):
    for method in ("GET", "POST", "DELETE", "PATCH"):
        assert_error(raw(emu, method, path, token), 401, "UNAUTHORIZED")


def test_bearer_prefix_is_not_accepted(emu, user):
    assert_error(raw(emu, "GET", "/api/clients", "Bearer " + user.token), 401)


def test_unknown_client_404_then_membership_403(user, other, cid):
    assert_error(user.get(f"/clients/{MISSING}"), 404, "NOT_FOUND")
    assert_error(user.get(f"/clients/{MISSING}/credentials"), 404, "NOT_FOUND")
    assert_error(user.post(f"/clients/{MISSING}/credentials", {"bad": 1}), 404, "NOT_FOUND")
    for method, path in [("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "/credentials"), ("POST", "/targets"),
                         ("GET", f"/proxies/{MISSING}"), ("GET", f"/targets/{MISSING}/rules")]:
        assert_error(other.request(method, f"/clients/{cid}{path}", json={"x": 1}), 403, "FORBIDDEN")


def test_unknown_route_and_wrong_method_with_valid_token(user, cid):
    assert_error(user.get("/nothing-here"), 404, "NOT_FOUND")
    assert_error(user.get(f"/clients/{cid}/meters"), 404, "NOT_FOUND")
    assert_error(user.get("/clients/"), 404, "NOT_FOUND")
    r = assert_error(user.request("PATCH", "/clients"), 405, "METHOD_NOT_ALLOWED")
    assert "GET" in r["message"]
    assert_error(user.request("PATCH", f"/clients/{cid}/credentials/{MISSING}"), 405)
    assert_error(user.get(f"/clients/{cid}/proxies/{MISSING}/rules/{MISSING}"), 405)   # rules have no get-one
    assert_error(user.put(f"/clients/{cid}/proxies/{MISSING}/rules/{MISSING}", {}), 405)   # ... and no update


def test_malformed_json_wrong_types_and_non_objects(user, cid):
    for body in [b"{", b"{'a': 1}", b"NaN", b"\xff\xfe", b'{"clientName": NaN}']:
        assert_error(user.request("POST", "/clients", data=body), 400, "INVALID_JSON")
    assert_error(user.request("POST", "/clients", data=b""), 400, mentions="body")
    for body in [b"[]", b'"x"', b"1", b"null"]:
        assert_error(user.request("POST", "/clients", data=body), 400, "VALIDATION_ERROR", "body")
    assert_error(user.post("/clients", {"clientName": 5}), 400, "VALIDATION_ERROR", "clientName")
    assert_error(user.post(f"/clients/{cid}/targets", {"targetName": "t", "targetBaseURL": "https://x.io",
                                                       "targetRegion": ["us-east-1"]}), 400, mentions="targetRegion")


def test_unknown_top_level_fields_are_named(user, cid):
    body = assert_error(user.post("/clients", {"clientName": "x", "colour": "red", "size": 1}), 400,
                        "VALIDATION_ERROR")
    assert "colour" in body["message"] and "size" in body["message"]
    body = assert_error(user.post(f"/clients/{cid}/targets", {"targetName": "t", "targetBaseURL": "https://x.io",
                                                              "targetRegion": "us-east-1", "sKey": "mine"}), 400)
    assert "sKey" in body["message"]


def test_bodies_over_one_mib_are_413(user, cid):
    big = json.dumps({"clientName": "x", "pad": "a" * (1024 * 1024)}).encode()
    assert_error(user.request("POST", "/clients", data=big), 413, "PAYLOAD_TOO_LARGE")

    def chunks():   # no Content-Length: the limit is enforced while reading
        for _ in range(20):
            yield b" " * 65536

    assert_error(user.request("POST", f"/clients/{cid}/targets", data=chunks()), 413)
    # exactly 1 MiB is fine (and then judged on content)
    body = b'{"clientName": "ok"}'
    exact = body + b" " * (1024 * 1024 - len(body))
    assert user.request("POST", "/clients", data=exact).status_code == 201


def test_errors_never_html_or_traces(user):
    r = user.request("POST", "/clients", data=b"\x00" * 100, headers={"Content-Type": "text/html"})
    assert_error(r, 400)
    assert "Traceback" not in r.text and "<html" not in r.text.lower()


def test_rate_limit_per_token_with_retry_after(emu):
    basic = Api(emu, emu.create_user(f"basic-{uuid.uuid4().hex[:8]}", plan="basic"))
    team = Api(emu, emu.create_user(f"team-{uuid.uuid4().hex[:8]}"))
    statuses = [basic.get("/clients").status_code for _ in range(100)]
    assert statuses == [200] * 100
    r = basic.get("/clients")
    assert_error(r, 429, "RATE_LIMITED")
    assert r.headers["Retry-After"].isdigit() and 0 <= int(r.headers["Retry-After"]) <= 60
    assert_error(basic.get("/nowhere"), 429)                        # limited whatever the route
    assert team.get("/clients").status_code == 200                 # another token is not affected
    assert_error(raw(emu, "GET", "/api/clients", "u-nobody"), 401)  # unknown tokens stay 401


def test_rejected_request_changes_nothing(user, cid):
    before = user.get(f"/clients/{cid}/targets").json()["pagination"]["total"]
    assert_error(user.post(f"/clients/{cid}/targets", {"targetName": "t", "targetBaseURL": "ftp://x",
                                                       "targetRegion": "us-east-1"}), 400, mentions="targetBaseURL")
    assert user.get(f"/clients/{cid}/targets").json()["pagination"]["total"] == before


class TestPagination:
    def test_defaults_and_pages(self, user, cid):
        for i in range(45):
            user.new_target(cid, targetName=f"t{i:02d}")
        r = user.get(f"/clients/{cid}/targets").json()
        assert r["pagination"] == {"page": 1, "limit": 20, "total": 45, "pages": 3}
        assert [t["targetName"] for t in r["targets"]] == [f"t{i:02d}" for i in range(20)]
        seen = []
        for page in (1, 2, 3):
            body = user.get(f"/clients/{cid}/targets", params={"page": page, "limit": 20}).json()
            seen += [t["sKey"] for t in body["targets"]]
        assert len(seen) == len(set(seen)) == 45
        past = user.get(f"/clients/{cid}/targets", params={"page": 9}).json()
        assert past["targets"] == [] and past["pagination"]["total"] == 45
        assert len(user.get(f"/clients/{cid}/targets", params={"limit": 100}).json()["targets"]) == 45

    @pytest.mark.parametrize("params,field", [({"limit": 101}, "limit"), ({"limit": 0}, "limit"),
                                              ({"limit": "x"}, "limit"), ({"page": 0}, "page"),
                                              ({"page": -1}, "page"), ({"page": "1.5"}, "page")])
    def test_bad_values_are_400(self, user, cid, params, field):
        for path in ("/clients", f"/clients/{cid}/credentials", f"/clients/{cid}/targets",
                     f"/clients/{cid}/proxies"):
            assert_error(user.get(path, params=params), 400, "VALIDATION_ERROR", field)

    def test_every_list_is_paginated(self, user, cid):
        target = user.new_target(cid)
        for path in ("/clients", f"/clients/{cid}/credentials", f"/clients/{cid}/targets",
                     f"/clients/{cid}/proxies", f"/clients/{cid}/targets/{target['sKey']}/rules"):
            body = user.get(path).json()
            assert set(body["pagination"]) == {"page", "limit", "total", "pages"}
            assert body["message"] == "Success"

    def test_empty_list_has_zero_pages(self, user, cid):
        assert user.get(f"/clients/{cid}/proxies").json()["pagination"] == {"page": 1, "limit": 20, "total": 0,
                                                                              "pages": 0}


def test_openapi_document_is_served(emu):
    doc = requests.get(emu.url + "/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.")
    assert "/api/clients/{clientId}/proxies/{proxyId}/rules/{ruleId}" in doc["paths"]
    assert "/clients/{clientId}/credentials" in doc["paths"]
    proxy = doc["components"]["schemas"]["ProxyCreate"]
    assert proxy["properties"]["proxyMaxRequestsPerDay"]["maximum"] == 20000
    assert "credentialSecret" not in doc["components"]["schemas"]["Credential"]["properties"]
    assert doc["components"]["schemas"]["Error"]["required"] == ["error", "code", "status"]
