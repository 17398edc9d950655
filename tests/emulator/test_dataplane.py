"""The emulated data plane over real HTTP: proxy credentials of every auth type, the four rule scopes, limits,
forwarding with the target credential injected, request records, and hostile input (never a 5xx)."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator_helpers import Api
from rr_pulumi.emulator.dataplane import data_plane_url
from rr_pulumi.emulator.process import EmulatorProcess
from rr_pulumi.testing.echo import EchoServer

REGION = "us-east-1"
UPSTREAM_SECRET = "upstream-" + uuid.uuid4().hex
CALLER_KEY = "caller-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def emu():
    with EmulatorProcess(users=("demo:team",)) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def echo():
    with EchoServer() as server:
        yield server


@pytest.fixture
def api(emu) -> Api:
    return Api(emu, emu.create_user(f"dp-{uuid.uuid4().hex[:10]}"), "/api")


class Gateway:
    """One proxy built through the Core API, and calls to it through the data plane."""

    def __init__(self, emu: EmulatorProcess, api: Api, echo: EchoServer, proxy_auth: str = "apiKey",
                 proxy_secret: dict | None = None, target_auth: str = "apiKey", target_secret: dict | None = None,
                 **proxy_fields):
        self.emu, self.api, self.echo = emu, api, echo
        self.cid = api.new_client()
        self.pcred = self._credential("proxy", proxy_auth, proxy_secret or {"apiKey": CALLER_KEY})
        self.tcred = self._credential("target", target_auth,
                                      {"apiKey": UPSTREAM_SECRET} if target_secret is None else target_secret)
        r = api.post(f"/clients/{self.cid}/targets", {"targetName": "up", "targetBaseURL": echo.url + "/base",
                                                      "targetRegion": REGION})
        self.target = r.json()["targets"][0]
        r = api.post(f"/clients/{self.cid}/proxies", {
            "proxyName": "gw", "proxyRegion": REGION, "proxyProxyCredentialId": self.pcred["sKey"],
            "proxyTargetId": self.target["sKey"], "proxyTargetCredentialId": self.tcred["sKey"], **proxy_fields})
        assert r.status_code == 201, r.text
        self.proxy = r.json()["proxies"][0]
        self.url = f"{data_plane_url(emu.url)}/api/{self.proxy['sKey']}"
        self.session = requests.Session()

    def _credential(self, ctype: str, auth: str, secret: dict) -> dict:
        r = self.api.post(f"/clients/{self.cid}/credentials", {
            "credentialName": f"{ctype}-{auth}", "credentialType": ctype, "credentialAuthType": auth,
            "credentialRegion": REGION, "credentialSecret": secret})
        assert r.status_code == 201, r.text
        return r.json()["credentials"][0]

    def rule(self, parent: str, **body) -> str:
        plural, parent_id = {"proxy": ("proxies", self.proxy["sKey"]), "target": ("targets", self.target["sKey"]),
                             "proxy credential": ("credentials", self.pcred["sKey"]),
                             "target credential": ("credentials", self.tcred["sKey"])}[parent]
        r = self.api.post(f"/clients/{self.cid}/{plural}/{parent_id}/rules", {"priority": 100, **body})
        assert r.status_code == 201, r.text
        return r.json()["rules"][0]["sKey"]

    def call(self, method: str = "GET", path: str = "/things", auth: str | None = CALLER_KEY, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if auth is not None:
            headers["Authorization"] = auth
        return self.session.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def records(self) -> list[dict]:
        return self.emu.admin("GET", f"/_emulator/dataplane/requests?proxyId={self.proxy['sKey']}").json()["requests"]


def denied(r: requests.Response, rule_id: str | None, scope: str) -> None:
    assert r.status_code == 403, r.text
    body = r.json()
    assert (body["code"], body["ruleId"], body["scope"], body["status"]) == ("RULE_DENIED", rule_id, scope, 403)


def test_the_data_plane_url_is_printed_at_start_and_reported_by_health(emu):
    proc = subprocess.Popen([sys.executable, "-m", "rr_pulumi.emulator", "--db", ":memory:", "--admin-token", "a"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = [proc.stdout.readline().strip() for _ in range(3)]
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert lines[1:] == ["admin a", f"dataplane {lines[0]}/dataplane"]
    assert requests.get(emu.url + "/_emulator/health", timeout=10).json()["dataPlaneUrl"] == data_plane_url(emu.url)


# -- authentication -------------------------------------------------------------------------------------------------

def test_api_key_in_header_or_query_parameter_and_missing_or_wrong_is_401(emu, api, echo):
    gw = Gateway(emu, api, echo)
    assert gw.call().status_code == 200
    assert gw.call(auth=None, params={"Authorization": CALLER_KEY}).status_code == 200
    for auth in (None, "wrong", "Bearer " + CALLER_KEY, CALLER_KEY + "x"):
        r = gw.call(auth=auth)
        assert r.status_code == 401 and r.json()["code"] == "UNAUTHORIZED", (auth, r.text)
        assert CALLER_KEY not in r.text


@pytest.mark.parametrize("auth_type, secret, good, bad", [
    ("bearer", {"token": "tok-1"}, "Bearer tok-1", "Bearer tok-2"),
    ("bearer", {"token": "tok-1", "prefix": "Token "}, "Token tok-1", "Bearer tok-1"),
    ("basicAuth", {"username": "ann", "password": "pw:1"}, "Basic " + base64.b64encode(b"ann:pw:1").decode(),
     "Basic " + base64.b64encode(b"ann:pw:2").decode()),
    ("jwt", {"token": jwt.encode({"sub": "svc"}, "static-jwt-key-0123456789-0123456789", algorithm="HS256")},
     jwt.encode({"sub": "svc"}, "static-jwt-key-0123456789-0123456789", algorithm="HS256"), jwt.encode({"sub": "other"}, "static-jwt-key-0123456789-0123456789", algorithm="HS256")),
])
def test_static_proxy_credentials(emu, api, echo, auth_type, secret, good, bad):
    gw = Gateway(emu, api, echo, proxy_auth=auth_type, proxy_secret=secret)
    assert gw.call(auth=good).status_code == 200
    assert gw.call(auth=None, params={"Authorization": good}).status_code == 200
    assert gw.call(auth=bad).status_code == 401
    assert gw.call(auth=None).status_code == 401
    assert gw.call(auth="Basic !!!not-base64").status_code == 401


def _hs(claims: dict, key: str = "shared-secret-0123456789-0123456789", **header) -> str:
    return jwt.encode(claims, key, algorithm="HS256", headers=header or None)


def test_jwt_verify_with_a_shared_secret_checks_signature_expiry_audience_and_issuer(emu, api, echo):
    gw = Gateway(emu, api, echo, proxy_auth="jwtVerify", proxy_secret={
        "sharedSecret": "shared-secret-0123456789-0123456789", "audience": "payments", "issuer": "https://idp"})
    good = {"sub": "a", "aud": "payments", "iss": "https://idp", "exp": int(time.time()) + 600}
    assert gw.call(auth=_hs(good)).status_code == 200
    assert gw.call(auth="Bearer " + _hs(good)).status_code == 200
    hostile = [
        _hs({**good, "aud": "other"}), _hs({**good, "iss": "https://evil"}), _hs({**good, "exp": 1}),
        _hs(good, key="another-secret-0123456789-0123456789"),
        jwt.encode(good, None, algorithm="none"),          # unsigned
        "not.a.jwt", "a" * 5000, "eyJhbGciOiJIUzI1NiJ9.e30", "..", _hs(good)[:-4],
    ]
    for token in hostile:
        r = gw.call(auth=token)
        assert r.status_code == 401, (token[:40], r.text)


def test_jwt_verify_with_a_jwks(emu, api, echo):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    path = f"/jwks-{uuid.uuid4().hex}.json"
    echo.route("GET", path, {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]})
    gw = Gateway(emu, api, echo, proxy_auth="jwtVerify", proxy_secret={"jwksUri": echo.url + path})
    token = jwt.encode({"sub": "svc", "role": "writer"}, key, algorithm="RS256", headers={"kid": "k1"})
    assert gw.call(auth=token).status_code == 200
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert gw.call(auth=jwt.encode({"sub": "x"}, other, algorithm="RS256", headers={"kid": "k1"})).status_code == 401
    assert gw.call(auth=jwt.encode({"sub": "x"}, other, algorithm="RS256", headers={"kid": "nope"})).status_code == 401
    assert gw.call(auth=_hs({"sub": "x"}, kid="k1")).status_code == 401   # HS256 with a key-based verifier
    unreachable = Gateway(emu, api, echo, proxy_auth="jwtVerify", proxy_secret={"jwksUri": "http://127.0.0.1:9/jwks"})
    r = unreachable.call(auth=token)
    assert r.status_code == 401 and "could not be fetched" in r.json()["message"]


# -- rules ----------------------------------------------------------------------------------------------------------

def test_each_scope_denies_by_its_default_and_deny_wins_within_a_scope(emu, api, echo):
    gw = Gateway(emu, api, echo, proxyDefaultRuleEffect="deny")
    denied(gw.call(), None, "proxy")
    allow = gw.rule("proxy", effect="allow", methods=["GET"])
    assert gw.call().status_code == 200
    deny = gw.rule("proxy", effect="deny", priority=1, pathPattern="^/things/secret")
    denied(gw.call(path="/things/secret"), deny, "proxy")          # deny wins although its priority is lower
    assert gw.call(path="/things/open").status_code == 200
    denied(gw.call("POST"), None, "proxy")                          # no allow for POST: the default
    target_deny = gw.rule("target", effect="deny", methods=["DELETE"])
    gw.rule("proxy", effect="allow", methods=["DELETE"])
    denied(gw.call("DELETE"), target_deny, "target")                # every scope must allow
    cred_deny = gw.rule("proxy credential", effect="deny", queryChecks=[
        {"namePattern": "^debug$", "presence": "present"}])
    denied(gw.call(params={"debug": "1"}), cred_deny, "proxy credential")
    tc_deny = gw.rule("target credential", effect="deny", headerChecks=[
        {"namePattern": "^x-tenant$", "valuePattern": "^blocked$", "presence": "present"}])
    denied(gw.call(headers={"X-Tenant": "blocked"}), tc_deny, "target credential")
    assert gw.call(headers={"X-Tenant": "fine"}).status_code == 200
    assert allow


def test_a_deny_rule_is_named_before_a_default_effect(emu, api, echo):
    gw = Gateway(emu, api, echo, proxyDefaultRuleEffect="deny")
    rule = gw.rule("target", effect="deny", methods=["DELETE"])
    denied(gw.call("DELETE"), rule, "target")


def test_path_presence_header_absence_body_and_regex_flags(emu, api, echo):
    gw = Gateway(emu, api, echo)
    root_only = gw.rule("proxy", effect="deny", pathPresence="absent")
    denied(gw.call(path=""), root_only, "proxy")
    no_admin = gw.rule("proxy", effect="deny", pathPattern="^/ADMIN", regexFlags="i")
    denied(gw.call(path="/admin/users"), no_admin, "proxy")
    need_trace = gw.rule("proxy", effect="deny", methods=["PUT"], headerChecks=[
        {"namePattern": "^X-Trace-Id$", "presence": "absent"}])
    denied(gw.call("PUT"), need_trace, "proxy")
    assert gw.call("PUT", headers={"x-trace-id": "1"}).status_code == 200   # header names are case-blind
    big = gw.rule("proxy", effect="deny", methods=["POST"], bodyChecks=[
        {"jsonPath": "$.payment.amount", "valuePattern": "^[0-9]{5,}$", "presence": "present"}])
    denied(gw.call("POST", json={"payment": {"amount": 125000}}), big, "proxy")
    assert gw.call("POST", json={"payment": {"amount": 12}}).status_code == 200
    r = gw.call("POST", data=b"not json")      # a body check cannot read it: refused, never "no values"
    assert r.status_code == 400 and r.json()["code"] == "BODY_NOT_EVALUABLE"
    assert gw.call("POST").status_code == 200   # an empty body has no values


def test_token_checks_read_verified_claims(emu, api, echo):
    secret = "shared-secret-0123456789-0123456789"
    gw = Gateway(emu, api, echo, proxy_auth="jwtVerify", proxy_secret={"sharedSecret": secret},
                 proxyDefaultRuleEffect="deny")
    gw.rule("proxy", effect="allow", methods=["GET"])
    writers = gw.rule("proxy", effect="allow", methods=["POST"], tokenChecks=[
        {"claim": "roles", "valuePattern": "^payments-writer$", "presence": "present"}])
    assert gw.call("POST", auth=_hs({"roles": ["reader", "payments-writer"]}, secret)).status_code == 200
    denied(gw.call("POST", auth=_hs({"roles": ["reader"]}, secret)), None, "proxy")
    assert writers


# -- proxy state and limits -----------------------------------------------------------------------------------------

def test_inactive_proxy_refuses_and_unknown_proxy_is_404(emu, api, echo):
    gw = Gateway(emu, api, echo, proxyActive=False)
    r = gw.call()
    assert r.status_code == 403 and r.json()["code"] == "PROXY_INACTIVE"
    assert gw.call(auth="wrong").status_code == 401                # authentication comes first
    api.put(f"/clients/{gw.cid}/proxies/{gw.proxy['sKey']}", {"proxyActive": True})
    assert gw.call().status_code == 200
    r = requests.get(f"{data_plane_url(emu.url)}/api/{uuid.uuid4()}/x", headers={"Authorization": "k"}, timeout=10)
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"


def test_per_minute_and_per_day_limits_answer_429_with_retry_after(emu, api, echo):
    gw = Gateway(emu, api, echo, proxyMaxRequestsPerMinute=3)
    assert [gw.call().status_code for _ in range(3)] == [200, 200, 200]
    r = gw.call()
    assert r.status_code == 429 and r.json()["code"] == "RATE_LIMITED"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert gw.call(auth="wrong").status_code == 401                # unauthenticated calls do not spend the quota
    day = Gateway(emu, api, echo, proxyMaxRequestsPerDay=2)
    assert [day.call().status_code for _ in range(3)] == [200, 200, 429]
    assert 60 < int(day.call().headers["Retry-After"]) <= 86400


# -- forwarding -----------------------------------------------------------------------------------------------------

def test_forwarding_injects_the_target_credential_and_records_without_secrets(emu, api, echo):
    gw = Gateway(emu, api, echo)
    r = gw.call("POST", "/v1/items?x=1", json={"a": 1}, headers={"X-Caller": "yes"})
    assert r.status_code == 200
    seen = echo.received()[-1]
    assert (seen.method, seen.path, seen.query) == ("POST", "/base/v1/items", [("x", "1")])
    assert seen.header("X-API-Key") == UPSTREAM_SECRET and seen.header("X-Caller") == "yes"
    assert seen.header("Authorization") is None                    # the caller's credential stays at the proxy
    assert json.loads(seen.body) == {"a": 1}
    assert UPSTREAM_SECRET not in r.text and UPSTREAM_SECRET not in json.dumps(dict(r.headers))
    record = gw.records()[-1]
    assert record["outcome"] == "forwarded" and record["forwarded"]["injectedHeaders"] == ["X-API-Key"]
    assert record["forwarded"]["headers"]["X-API-Key"] == "[INJECTED]"
    assert record["headers"]["authorization"] == "[REDACTED]"   # header names as HTTP/1.1 servers see them
    assert UPSTREAM_SECRET not in json.dumps(gw.records()) and CALLER_KEY not in json.dumps(gw.records())
    assert emu.admin("GET", "/_emulator/dataplane/requests?proxyId=" + gw.proxy["sKey"]).status_code == 200
    with pytest.raises(requests.HTTPError):
        requests.get(emu.url + "/_emulator/dataplane/requests", timeout=10).raise_for_status()


def test_the_target_status_and_body_come_back(emu, api, echo):
    gw = Gateway(emu, api, echo)
    echo.route("GET", "/base/teapot", {"short": "stout"}, status=418)
    r = gw.call(path="/teapot")
    assert (r.status_code, r.json()) == (418, {"short": "stout"})


@pytest.mark.parametrize("auth_type, secret, header, expected", [
    ("bearer", {"token": "t1"}, "Authorization", "Bearer t1"),
    ("bearer", {"token": "t1", "prefix": "Token "}, "Authorization", "Token t1"),
    ("jwt", {"token": "j.w.t"}, "Authorization", "Bearer j.w.t"),
    ("basicAuth", {"username": "u", "password": "p"}, "Authorization", "Basic " + base64.b64encode(b"u:p").decode()),
    ("custom", {"headers": {"X-One": "1", "X-Two": "2"}}, "X-Two", "2"),
    ("apiKey", {"apiKey": "k1", "headerName": "X-Key"}, "X-Key", "k1"),
])
def test_static_target_credentials_are_injected(emu, api, echo, auth_type, secret, header, expected):
    gw = Gateway(emu, api, echo, target_auth=auth_type, target_secret=secret)
    assert gw.call().status_code == 200
    assert echo.received()[-1].header(header) == expected


def test_none_target_credential_sends_nothing(emu, api, echo):
    gw = Gateway(emu, api, echo, target_auth="none", target_secret={})
    assert gw.call().status_code == 200
    assert echo.received()[-1].header("Authorization") is None


def test_oauth2_client_credentials_and_custom_token_are_fetched_then_cached(emu, api, echo):
    token_path, custom_path = f"/oauth-{uuid.uuid4().hex}", f"/login-{uuid.uuid4().hex}"
    echo.route("POST", token_path, {"access_token": "oauth-token-1", "expires_in": 3600})
    echo.route("POST", custom_path, {"data": {"token": "custom-token-1"}})
    oauth = Gateway(emu, api, echo, target_auth="oauth2", target_secret={
        "grantType": "client_credentials", "clientId": "cid", "clientSecret": "cs", "tokenUrl": echo.url + token_path})
    assert [oauth.call().status_code for _ in range(2)] == [200, 200]
    assert echo.received()[-1].header("Authorization") == "Bearer oauth-token-1"
    assert len(echo.received(token_path)) == 1
    assert b"grant_type=client_credentials" in echo.received(token_path)[0].body
    custom = Gateway(emu, api, echo, target_auth="customToken", target_secret={
        "url": echo.url + custom_path, "method": "POST", "tokenPath": "$.data.token", "body": {"u": "1"}})
    assert custom.call().status_code == 200
    assert echo.received()[-1].header("Authorization") == "Bearer custom-token-1"


def test_an_unreachable_target_is_502(emu, api, echo):
    gw = Gateway(emu, api, echo)
    api.put(f"/clients/{gw.cid}/targets/{gw.target['sKey']}", {"targetBaseURL": "http://127.0.0.1:9"})
    r = gw.call()
    assert r.status_code == 502 and r.json()["code"] == "UPSTREAM_UNREACHABLE"


# -- hostile input: answered, never a 5xx -----------------------------------------------------------------------------

def test_hostile_input_never_gets_a_5xx(emu, api, echo):
    gw = Gateway(emu, api, echo)
    gw.rule("proxy", effect="deny", pathPattern="^(a+)+$")
    gw.rule("proxy", effect="deny", headerChecks=[{"namePattern": "^x-", "valuePattern": "(x+x+)+y",
                                                   "presence": "present"}])
    gw.rule("proxy", effect="deny", methods=["POST"], bodyChecks=[
        {"jsonPath": "$..deep", "valuePattern": "^(.*a){20}$", "presence": "present"}])
    started = time.monotonic()
    answers = [
        gw.call(path="/" + "a" * 5000 + "!"),
        gw.call(headers={"X-Evil": "x" * 5000}),
        gw.call("POST", json={"deep": "a" * 3000 + "b"}),
        gw.call("POST", data=b"[" * 100_000),                      # deeply nested, not parseable
        gw.call(headers={"X-Huge": "v" * 60_000}),
        gw.call(headers={f"X-Many-{i}": "v" for i in range(300)}),
        gw.call(auth="Bearer " + "e" * 20_000),
        gw.call(path="/%00%ff/..%2f..%2fetc"),
        gw.call("POST", data=b"x" * (1024 * 1024 + 1)),
    ]
    for r in answers:
        assert r.status_code < 500, (r.status_code, r.text[:200])
    assert answers[-1].status_code == 413
    assert time.monotonic() - started < 60   # a runaway pattern is cut off, not waited for
