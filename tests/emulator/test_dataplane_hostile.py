"""The emulated data plane under hostile callers (issue 24), over real HTTP: the path and query the rules judge are
exactly what the target receives; one pattern engine (Python's `re`) with limits at rule creation; a hanging,
dripping or self-referencing target or a hanging JWKS costs only its own caller; headers, bodies and records are
bounded and credentials redacted; a body the rules cannot read is refused; admin inputs are validated.

The targets here are raw HTTP servers on 127.0.0.1 (RawUpstream) that record each request line byte for byte, and
can hold a request open or drip its answer until the test releases them. Nothing waits on the clock: "finishes while
the others hang" is checked by the hanging server still holding every connection when the other call returns.
"""
from __future__ import annotations

import http.client
import json
import socket
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from http import HTTPStatus
from typing import Optional

import jwt
import pytest
import requests

from emulator_helpers import Api
from rr_pulumi.emulator.dataplane import data_plane_url
from rr_pulumi.emulator.process import EmulatorProcess

REGION = "us-east-1"
CALLER_KEY = "caller-" + uuid.uuid4().hex
UPSTREAM_KEY = "upstream-" + uuid.uuid4().hex
HOLD_LIMIT = 120.0    # a held or dripping connection ends by itself after this (the test normally releases it first)
DEADLINE = 4.0        # the emulator's data-plane deadline in this module (RR_EMULATOR_DATAPLANE_DEADLINE)


class RawUpstream:
    """A target that keeps each request's raw head. Paths starting `/hang` are held unanswered and `/drip` answered
    one byte at a time, until release(); every other path gets 200 with two Set-Cookie headers."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.heads: list[bytes] = []
        self.connections = 0
        self.held = 0                    # connections held open right now (hang and drip)
        self.released = threading.Event()
        self.stopped = threading.Event()
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def __enter__(self) -> "RawUpstream":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
        self.stopped.set()
        self.thread.join()
        self.sock.close()

    def release(self) -> None:
        self.released.set()

    def wait_held(self, count: int, timeout: float = 60) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.held >= count, timeout)

    def lines(self) -> list[str]:
        with self.changed:
            return [h.split(b"\r\n", 1)[0].decode("latin-1") for h in self.heads]

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        """Requests on one connection, kept alive (so a client that pools connections would reuse it)."""
        conn.settimeout(HOLD_LIMIT)
        with self.changed:
            self.connections += 1
        with conn:
            data = b""
            while True:
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    head, data = data.split(b"\r\n\r\n", 1)
                    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")[1:]
                                   if line.lower().startswith(b"content-length:")), 0)
                    while len(data) < length:
                        data += conn.recv(65536)
                    data = data[length:]
                except (OSError, ValueError):
                    return
                target = head.split(b" ", 2)[1]
                with self.changed:
                    self.heads.append(head)
                if target.startswith((b"/hang", b"/drip")):
                    self._hold(conn, drip=target.startswith(b"/drip"))
                    return
                body = json.dumps({"requestLine": head.split(b"\r\n", 1)[0].decode("latin-1")}).encode()
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Set-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; Path=/\r\nContent-Length: "
                                 + str(len(body)).encode() + b"\r\n\r\n" + body)
                except OSError:
                    return

    def _hold(self, conn: socket.socket, drip: bool) -> None:
        with self.changed:
            self.held += 1
            self.changed.notify_all()
        try:
            if drip:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
            waited = 0.0
            while not self.released.wait(0.2) and waited < HOLD_LIMIT:
                waited += 0.2
                if drip:
                    conn.sendall(b"x")       # a byte now and then: no single read ever waits long
                    continue
                try:
                    if conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                        break                # the client gave up
                except BlockingIOError:
                    pass                     # still there, still waiting
        except OSError:
            pass
        finally:
            with self.changed:
                self.held -= 1
                self.changed.notify_all()


@pytest.fixture(scope="module")
def emu():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RR_EMULATOR_DATAPLANE_DEADLINE", str(DEADLINE))
        with EmulatorProcess(users=("demo:team",)) as emulator:
            yield emulator


@pytest.fixture
def patient():
    """An emulator with a long deadline: calls to a hanging target stay in flight while the test looks around."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RR_EMULATOR_DATAPLANE_DEADLINE", "120")
        with EmulatorProcess(users=("demo:team",)) as emulator:
            yield emulator


@pytest.fixture
def upstream():
    with RawUpstream() as server:
        yield server


@pytest.fixture
def api(emu) -> Api:
    return Api(emu, emu.create_user(f"dph-{uuid.uuid4().hex[:10]}"), "/api")


class Proxy:
    """One proxy (apiKey caller credential, apiKey target credential) to `base_url`, built through the Core API."""

    def __init__(self, emu: EmulatorProcess, api: Api, base_url: str, proxy_auth: str = "apiKey",
                 proxy_secret: Optional[dict] = None, target_secret: Optional[dict] = None, **proxy_fields):
        self.emu, self.api = emu, api
        self.cid = api.new_client()
        self.pcred = self._credential("proxy", proxy_auth, proxy_secret or {"apiKey": CALLER_KEY})
        self.tcred = self._credential("target", "apiKey", target_secret or {"apiKey": UPSTREAM_KEY})
        r = api.post(f"/clients/{self.cid}/targets", {"targetName": "t", "targetBaseURL": base_url,
                                                      "targetRegion": REGION})
        assert r.status_code == 201, r.text
        self.target = r.json()["targets"][0]
        r = api.post(f"/clients/{self.cid}/proxies", {
            "proxyName": "p", "proxyRegion": REGION, "proxyProxyCredentialId": self.pcred["sKey"],
            "proxyTargetId": self.target["sKey"], "proxyTargetCredentialId": self.tcred["sKey"], **proxy_fields})
        assert r.status_code == 201, r.text
        self.id = r.json()["proxies"][0]["sKey"]
        self.path = f"/dataplane/api/{self.id}"
        self.url = data_plane_url(emu.url) + f"/api/{self.id}"

    def _credential(self, ctype: str, auth: str, secret: dict) -> dict:
        r = self.api.post(f"/clients/{self.cid}/credentials", {
            "credentialName": ctype, "credentialType": ctype, "credentialAuthType": auth,
            "credentialRegion": REGION, "credentialSecret": secret})
        assert r.status_code == 201, r.text
        return r.json()["credentials"][0]

    def rule(self, **body) -> requests.Response:
        return self.api.post(f"/clients/{self.cid}/proxies/{self.id}/rules", {"priority": 1, **body})

    def raw(self, method: str, below: str, auth: Optional[str] = CALLER_KEY, body: Optional[bytes] = None,
            headers: Optional[dict] = None) -> "RawAnswer":
        """A request whose path goes out byte for byte (no client-side normalising or re-encoding)."""
        return send_raw(self.emu, method, self.path + below, auth, body, headers)

    def call(self, method: str = "GET", below: str = "/ok", auth: Optional[str] = CALLER_KEY, **kw):
        headers = {**kw.pop("headers", {}), **({"Authorization": auth} if auth is not None else {})}
        return requests.request(method, self.url + below, headers=headers, timeout=60, **kw)

    def records(self) -> list[dict]:
        return self.emu.admin("GET", f"/_emulator/dataplane/requests?proxyId={self.id}").json()["requests"]


class RawAnswer:
    def __init__(self, response: http.client.HTTPResponse):
        self.status = response.status
        self.headers = response.getheaders()
        self.body = response.read()

    def json(self) -> dict:
        return json.loads(self.body)

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


def send_raw(emu: EmulatorProcess, method: str, target: str, auth: Optional[str], body: Optional[bytes] = None,
             headers=None) -> RawAnswer:
    """`headers` a dict, or (name, value) pairs to send one name on several lines."""
    host, port = emu.url.rsplit("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or ())
        for name, value in pairs + ([("Authorization", auth)] if auth else []):
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders(body or b"")
        return RawAnswer(conn.getresponse())
    finally:
        conn.close()


def refused(answer, status: int, code: str) -> dict:
    got_status = answer.status if isinstance(answer, RawAnswer) else answer.status_code
    body = answer.json()
    assert (got_status, body["code"]) == (status, code), (got_status, body)
    assert body["error"] == HTTPStatus(status).phrase or (status, body["error"]) == (413, "Payload Too Large")
    ids = answer.header("x-requestrocket-request-id") if isinstance(answer, RawAnswer) \
        else [answer.headers.get("x-requestrocket-request-id")]
    assert ids and ids[0], "every answer of the data plane carries a request id"
    return body


# -- 1. one path, judged and forwarded --------------------------------------------------------------------------------

def test_dot_segments_are_judged_as_the_target_receives_them(emu, api, upstream):
    proxy = Proxy(emu, api, upstream.url + "/base/v1")
    assert proxy.rule(effect="deny", pathPattern="^/admin").status_code == 201
    refused(proxy.raw("GET", "/x/../admin"), 403, "RULE_DENIED")
    refused(proxy.raw("GET", "/x/./../admin/"), 403, "RULE_DENIED")
    refused(proxy.raw("GET", "//admin"), 403, "RULE_DENIED")         # an empty segment does not hide it either
    assert proxy.raw("GET", "/x/../public/./y").status == 200
    assert upstream.lines()[-1] == "GET /base/v1/public/y HTTP/1.1"
    record = proxy.records()[-1]
    assert record["path"] == "/public/y" and record["forwarded"]["url"] == upstream.url + "/base/v1/public/y"


def test_dot_segments_never_leave_the_proxy_and_encoded_separators_are_refused(emu, api, upstream):
    proxy = Proxy(emu, api, upstream.url + "/base/v1", proxyDefaultRuleEffect="deny")
    assert proxy.rule(effect="allow", pathPattern="^/public/").status_code == 201
    assert proxy.raw("GET", "/public/file%2Etxt").status == 200          # an encoded dot inside a name is fine
    assert upstream.lines() == ["GET /base/v1/public/file%2Etxt HTTP/1.1"]
    for below in ("/public/../../../secret", "/public/.%2e/.%2E/secret", "/public/..%2F..%2F..%2Fsecret",
                  "/public/x%3Finjected=1",
                  "/public/%2E%2E/%2e%2e/secret", "/public/x%5C..%5Csecret", "/public/a%00b", "/public/a\\b"):
        body = refused(proxy.raw("GET", below), 400, "INVALID_PATH")
        assert body["message"].startswith("path: ")
    encoded_id = "".join(f"%{b:02X}" for b in proxy.id.encode())          # the proxy id percent-encoded
    answer = send_raw(emu, "GET", f"/dataplane/api/{encoded_id}/public/x%3Finjected=1", CALLER_KEY)
    refused(answer, 400, "INVALID_PATH")
    assert len(upstream.lines()) == 1                                       # nothing more reached the target


def test_the_query_is_forwarded_exactly_as_judged(emu, api, upstream):
    proxy = Proxy(emu, api, upstream.url + "/base")
    assert proxy.raw("GET", "/q?a;b=1&flag&x=%2F&Authorization=" + CALLER_KEY, auth=None).status == 200
    assert upstream.lines()[-1] == "GET /base/q?a;b=1&flag&x=%2F HTTP/1.1"
    assert proxy.records()[-1]["forwarded"]["url"].endswith("/base/q?a;b=1&flag&x=%2F")


def test_only_the_documented_prefix_is_served(emu, api, upstream):
    proxy = Proxy(emu, api, upstream.url)
    answer = send_raw(emu, "GET", f"/dataplaneX/api/{proxy.id}/ok", CALLER_KEY)
    assert answer.status in (401, 404) and not answer.header("x-requestrocket-request-id")
    assert upstream.lines() == []


# -- 2. one pattern engine, bounded ---------------------------------------------------------------------------------

def test_patterns_mean_what_python_re_reads_on_both_planes(emu, api, upstream):
    proxy = Proxy(emu, api, upstream.url)
    rule = proxy.rule(effect="deny", pathPattern="^/[[:digit:]]+$")
    assert rule.status_code == 201, rule.text
    assert proxy.raw("GET", "/123").status == 200           # re: `[[:digt]` then `]+`, so digits do not match
    refused(proxy.raw("GET", "/d%5D"), 403, "RULE_DENIED")  # ... and `/d]` does
    assert proxy.records()[-1]["path"] == "/d]"             # the record shows the path as judged


@pytest.mark.parametrize("field, body", [
    ("pathPattern", {"pathPattern": "(a{2000}){2000}"}),
    ("headerChecks[0].valuePattern", {"headerChecks": [{"namePattern": "^x$", "valuePattern": "((a{500}){500})",
                                                        "presence": "present"}]}),
    ("queryChecks[0].namePattern", {"queryChecks": [{"namePattern": "(?:(?:b{100}){100}){100}",
                                                     "presence": "present"}]}),
])
def test_patterns_too_big_to_run_are_refused_at_rule_creation_naming_the_field(emu, api, upstream, field, body):
    proxy = Proxy(emu, api, upstream.url)
    r = proxy.rule(effect="deny", **body)
    assert r.status_code == 400 and r.json()["message"].startswith(field + ": "), r.text


def test_a_runaway_pattern_is_cut_off_and_fails_closed(emu, api, upstream):
    proxy = Proxy(emu, api, upstream.url)
    deny = proxy.rule(effect="deny", headerChecks=[{"namePattern": "^x-evil$", "valuePattern": "^(x+x+)+y$",
                                                    "presence": "present"}])
    assert deny.status_code == 201
    refused(proxy.call(headers={"X-Evil": "x" * 64}), 403, "RULE_DENIED")   # timed out: counts as a match
    assert proxy.records()[-1]["decision"][2]["matchedRuleIds"] == [deny.json()["rules"][0]["sKey"]]
    assert proxy.call(headers={"X-Evil": "fine"}).status_code == 200


def test_rules_that_run_past_the_evaluation_budget_refuse_the_request(emu, api, upstream):
    proxy = Proxy(emu, api, upstream.url)
    for i in range(50):   # each search runs out its 50 ms: 50 of them cannot fit the request's 2 s
        r = proxy.rule(effect="allow", headerChecks=[{"namePattern": f"^x-slow-{i}$", "valuePattern": "^(x+x+)+y$",
                                                      "presence": "present"}])
        assert r.status_code == 201, r.text
    headers = {f"X-Slow-{i}": "x" * 64 for i in range(50)}
    refused(proxy.call(headers=headers), 403, "RULES_TIMED_OUT")
    assert proxy.records()[-1]["outcome"] == "denied"
    assert proxy.call().status_code == 200          # the next request gets a fresh worker


# -- 3. isolation ----------------------------------------------------------------------------------------------------

def test_hanging_targets_and_jwks_stall_only_their_own_callers(patient, upstream):
    emu, api = patient, Api(patient, patient.create_user("noisy"), "/api")
    hanging = Proxy(emu, api, upstream.url + "/hang")
    jwks = [Proxy(emu, api, upstream.url, proxy_auth="jwtVerify",
                  proxy_secret={"jwksUri": f"{upstream.url}/hang/jwks-{i}.json"}) for i in range(8)]
    token = jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256", headers={"kid": "k1"})
    other_tenant = Proxy(emu, Api(emu, emu.create_user(f"other-{uuid.uuid4().hex[:8]}"), "/api"), upstream.url)
    pool = ThreadPoolExecutor(16)
    try:
        stuck = [pool.submit(hanging.call) for _ in range(8)] + [pool.submit(p.call, auth=token) for p in jwks]
        assert upstream.wait_held(16), "all 16 calls reach the hanging server"
        assert other_tenant.call().status_code == 200
        assert other_tenant.rule(effect="deny", pathPattern="^/nope").status_code == 201
        assert upstream.held == 16 and not any(f.done() for f in stuck)   # ... while all 16 still hang
        # (the JWKS calls give up after 5 s, the JWKS deadline: the two calls above must finish within it)
    finally:
        upstream.release()
        results = [f.result() for f in stuck]
        pool.shutdown()
    for r in results[:8]:
        assert r.status_code in (502, 504) and r.headers["x-requestrocket-request-id"]


def test_one_proxy_waiting_for_its_slots_leaves_its_clients_other_proxies_theirs(patient, upstream):
    api = Api(patient, patient.create_user(f"gates-{uuid.uuid4().hex[:8]}"), "/api")
    hanging = Proxy(patient, api, upstream.url + "/hang", proxyMaxRequestsPerMinute=40)
    r = api.post(f"/clients/{hanging.cid}/targets", {"targetName": "t2", "targetBaseURL": upstream.url,
                                                     "targetRegion": REGION})
    assert r.status_code == 201, r.text
    r = api.post(f"/clients/{hanging.cid}/proxies", {
        "proxyName": "p2", "proxyRegion": REGION, "proxyProxyCredentialId": hanging.pcred["sKey"],
        "proxyTargetId": r.json()["targets"][0]["sKey"], "proxyTargetCredentialId": hanging.tcred["sKey"]})
    assert r.status_code == 201, r.text
    sibling_url = data_plane_url(patient.url) + f"/api/{r.json()['proxies'][0]['sKey']}"
    pool = ThreadPoolExecutor(41)
    try:
        # 41 calls against a limit of 40: the one answered 429 comes after all 40 others were counted, and a counted
        # request goes on to the concurrency gates in the same step, so by then 16 hold the proxy's slots and 24
        # wait for one (more than the client's 32 slots, were waiting to take any of them).
        calls = [pool.submit(hanging.call) for _ in range(41)]
        done, _ = wait(calls, return_when=FIRST_COMPLETED)
        refused(next(iter(done)).result(), 429, "RATE_LIMITED")
        assert upstream.wait_held(16)
        sibling = requests.get(sibling_url + "/ok", headers={"Authorization": CALLER_KEY}, timeout=60)
        assert sibling.status_code == 200 and upstream.held == 16
    finally:
        upstream.release()
        results = [c.result() for c in calls]
        pool.shutdown()
    assert sorted(r.status_code for r in results) == [429] + [502] * 40


def test_a_dripping_target_is_cut_off_by_the_request_deadline(emu, api, upstream):
    proxy = Proxy(emu, api, upstream.url + "/drip")
    with ThreadPoolExecutor(1) as pool:
        call = pool.submit(proxy.call)
        assert upstream.wait_held(1)
        r = call.result()
        assert upstream.held == 1 and not upstream.released.is_set()   # it ended while the target still dripped
    refused(r, 504, "UPSTREAM_TIMEOUT")   # the target's step ran out of time (another step's would be GATEWAY_TIMEOUT)
    assert (proxy.records()[-1]["status"], proxy.records()[-1]["outcome"]) == (504, "timeout")


def test_a_dripping_jwks_is_cut_off_by_its_own_deadline(patient, upstream):
    api = Api(patient, patient.create_user("drip-jwks"), "/api")
    proxy = Proxy(patient, api, upstream.url, proxy_auth="jwtVerify",
                  proxy_secret={"jwksUri": f"{upstream.url}/drip/jwks.json"})
    token = jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256", headers={"kid": "k1"})
    with ThreadPoolExecutor(1) as pool:
        call = pool.submit(proxy.call, auth=token)
        assert upstream.wait_held(1)
        r = call.result()
        assert upstream.held == 1 and not upstream.released.is_set()   # it ended while the JWKS still dripped
    assert "could not be fetched" in refused(r, 401, "UNAUTHORIZED")["message"]


def test_a_proxy_whose_target_is_itself_is_a_loop(emu, api):
    proxy = Proxy(emu, api, "http://127.0.0.1:9", target_secret={"apiKey": CALLER_KEY, "headerName": "Authorization"})
    api.put(f"/clients/{proxy.cid}/targets/{proxy.target['sKey']}", {"targetBaseURL": proxy.url})
    refused(proxy.call(), 508, "LOOP_DETECTED")
    assert "loop" in [r["outcome"] for r in proxy.records()]


def test_a_loop_is_seen_in_any_via_header_line(emu, api, upstream):
    proxy = Proxy(emu, api, upstream.url)
    assert proxy.call().status_code == 200
    [mark] = [line.split(b":", 1)[1].strip().decode() for line in upstream.heads[-1].split(b"\r\n")
              if line.lower().startswith(b"via:")]
    # back from this data plane through a hop that added a Via line of its own, after ours
    refused(proxy.raw("GET", "/ok", headers=[("Via", mark), ("Via", "1.1 another-proxy")]), 508, "LOOP_DETECTED")
    assert proxy.records()[-1]["outcome"] == "loop" and len(upstream.heads) == 1


@pytest.mark.parametrize("method", ["CONNECT", "TRACE"])
def test_methods_rules_cannot_name_are_refused_before_anything_is_forwarded(emu, api, upstream, method):
    # CONNECT would switch the target's connection out of HTTP (the exchange never ends); TRACE would echo the
    # injected target credential back to the caller. Neither reaches the target; the data plane keeps serving.
    proxy = Proxy(emu, api, upstream.url)
    answer = proxy.raw(method, "/ok")
    body = refused(answer, 405, "METHOD_NOT_ALLOWED")
    assert body["message"].startswith(f"method: {method} ") and "GET, POST, PUT" in body["message"], body
    assert answer.header("allow") == ["GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"]
    assert upstream.lines() == []
    assert proxy.records()[-1]["outcome"] == "rejected"
    assert proxy.call().status_code == 200


def test_each_forwarded_request_gets_its_own_connection(emu, api, upstream):
    first, second = Proxy(emu, api, upstream.url), Proxy(emu, api, upstream.url)
    for proxy in (first, second) * 6:       # the target keeps connections alive: a pooling client would reuse them
        assert proxy.call().status_code == 200
    assert upstream.connections == 12


@pytest.mark.parametrize("secret, field", [
    ({"apiKey": "k", "headerName": "X Bad"}, "credentialSecret.headerName"),
    ({"apiKey": "k", "headerName": "X-Ünïcode"}, "credentialSecret.headerName"),
    ({"apiKey": "k€y"}, "credentialSecret.apiKey"),
    ({"apiKey": "k\r\nX-Injected: 1"}, "credentialSecret.apiKey"),
])
def test_target_credential_headers_are_checked_as_http_allows_them(emu, api, secret, field):
    cid = api.new_client()
    r = api.post(f"/clients/{cid}/credentials", {"credentialName": "t", "credentialType": "target",
                                                 "credentialAuthType": "apiKey", "credentialRegion": REGION,
                                                 "credentialSecret": secret})
    assert r.status_code == 400 and r.json()["message"].startswith(field + ": "), r.text


def test_custom_headers_are_checked_too(emu, api):
    cid = api.new_client()
    r = api.post(f"/clients/{cid}/credentials", {"credentialName": "t", "credentialType": "target",
                                                 "credentialAuthType": "custom", "credentialRegion": REGION,
                                                 "credentialSecret": {"headers": {"X Bad": "v"}}})
    assert r.status_code == 400 and r.json()["message"].startswith("credentialSecret.headers: "), r.text


# -- 4. bounded memory and redaction ---------------------------------------------------------------------------------

def test_oversized_headers_are_refused_before_anything_is_kept(emu, api, upstream):
    proxy = Proxy(emu, api, upstream.url)
    refused(proxy.call(headers={"X-Big": "v" * 100_000}), 431, "REQUEST_HEADER_FIELDS_TOO_LARGE")
    refused(proxy.call(auth=None, headers={f"X-{i}": "v" for i in range(150)}), 431,
            "REQUEST_HEADER_FIELDS_TOO_LARGE")
    assert "v" * 1000 not in json.dumps(proxy.records())
    assert proxy.call(headers={"X-Long": "w" * 20_000}).status_code == 200
    assert "w" * 1000 not in json.dumps(proxy.records())    # a record keeps a bounded part of a value


def test_a_repeated_query_name_counts_each_time_against_the_record_bound(emu, api, upstream):
    proxy = Proxy(emu, api, upstream.url)
    query = "&".join([f"q=v{i}" for i in range(100)] + [f"n{i}=1" for i in range(5)])
    assert proxy.raw("GET", "/ok?" + query).status == 200
    record = proxy.records()[-1]
    assert record["query"] == {"q": ", ".join(f"v{i}" for i in range(40))}
    assert record["omitted"] == {"headers": 0, "query": 65}


def test_no_record_is_kept_per_unknown_proxy_id(emu):
    unknown = str(uuid.uuid4())
    answer = send_raw(emu, "GET", f"/dataplane/api/{unknown}/x", "k")
    refused(answer, 404, "NOT_FOUND")
    assert emu.admin("GET", f"/_emulator/dataplane/requests?proxyId={unknown}").json()["requests"] == []


def test_credentials_are_redacted_wherever_the_caller_puts_them(emu, api, upstream):
    proxy = Proxy(emu, api, upstream.url)
    session, jwt_like = "sess-" + uuid.uuid4().hex, jwt.encode({"sub": "a"}, "k" * 32, algorithm="HS256")
    assert proxy.call(below=f"/ok?api_key=qk-{session}&note=plain", headers={
        "Cookie": f"sid={session}", "X-Session-Token": session, "X-Forward-Auth": "Bearer " + session,
        "X-Id-Token": jwt_like, "X-Echo": f"copy-{CALLER_KEY}"}).status_code == 200
    assert proxy.call(auth=None, below=f"/ok?Authorization={CALLER_KEY}").status_code == 200
    dumped = json.dumps(proxy.records())
    for value in (session, jwt_like, CALLER_KEY, UPSTREAM_KEY):
        assert value not in dumped
    assert proxy.records()[0]["query"]["note"] == "plain"


# -- 5. fail closed ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    b'{"a":' * 1000 + b'{"amount": 125000}' + b"}" * 1000,       # nested deeper than any check reads
    b'{"amount": 125000}{"amount": 1}',                        # two documents
    b'{"amount": 125000',                                      # not JSON
])
def test_a_body_the_rules_cannot_read_is_refused(emu, api, upstream, body):
    proxy = Proxy(emu, api, upstream.url)
    assert proxy.rule(effect="deny", bodyChecks=[{"jsonPath": "$..amount", "valuePattern": "^1[0-9]{5}$",
                                                  "presence": "present"}]).status_code == 201
    refused(proxy.call("POST", data=body), 400, "BODY_NOT_EVALUABLE")
    assert upstream.lines() == []
    assert proxy.records()[-1]["outcome"] == "rejected"


def test_a_json_path_that_walks_too_much_of_the_body_fails_closed(emu, api, upstream):
    proxy = Proxy(emu, api, upstream.url, proxyDefaultRuleEffect="deny")
    stacked = "$" + "..*" * 5                    # about 5 million nodes over 60 nested arrays
    allow = proxy.rule(effect="allow", bodyChecks=[{"jsonPath": stacked, "presence": "present"}])
    assert allow.status_code == 201, allow.text
    assert refused(proxy.call("POST", data=b"[" * 60 + b"]" * 60), 403, "RULE_DENIED")["scope"] == "proxy"
    assert proxy.call("POST", data=b"[]").status_code == 403     # no value at all: the allow rule does not match
    proxy.rule(effect="allow", bodyChecks=[{"jsonPath": "$..amount", "presence": "present"}])
    assert proxy.call("POST", data=b'{"amount": 1}').status_code == 200
    assert upstream.lines() == ["POST /ok HTTP/1.1"]


@pytest.mark.parametrize("query", ["limit=%C2%B2", "limit=abc", "limit=-1", "limit=%EF%BC%91", "limt=1"])
def test_the_admin_requests_route_validates_its_query(emu, query):
    r = requests.get(f"{emu.url}/_emulator/dataplane/requests?{query}",
                     headers={"Authorization": emu.admin_token}, timeout=30)
    body = r.json()
    assert r.status_code == 400 and body["code"] == "VALIDATION_ERROR", r.text
    assert body["message"].startswith(query.split("=")[0] + ":")


@pytest.mark.parametrize("spec, field", [({"latency": "5"}, "latency"), ({"err500": True}, "err500"),
                                         ({"jitter": [1]}, "jitter")])
def test_fault_specs_take_json_numbers(emu, spec, field):
    r = requests.put(f"{emu.url}/_emulator/faults", json=spec, headers={"Authorization": emu.admin_token},
                     timeout=30)
    assert r.status_code == 400 and field in r.json()["message"] and "number" in r.json()["message"], r.text


@pytest.mark.parametrize("spec, message", [({"latency": 10 ** 400}, "latency must be 0-60000 milliseconds"),
                                           ({"err500": -10 ** 400}, "err500 must be a probability from 0 to 1")])
def test_a_fault_number_too_large_for_a_float_is_a_400_naming_the_field(emu, spec, message):
    r = requests.put(f"{emu.url}/_emulator/faults", json=spec, headers={"Authorization": emu.admin_token},
                     timeout=30)
    assert r.status_code == 400 and r.json()["message"] == f"fault spec: {message}", r.text


def test_a_rule_test_call_never_writes_the_credential_in_its_api_key_header(emu, api, tmp_path, monkeypatch):
    """The apiKey credential's own header (its headerName, any name at all) is known to the data plane only: the
    gateway writes no header the data plane's record of the call shows redacted."""
    from rr_pulumi.testing import EchoServer, Gateway

    target = tmp_path / "from-tests.jsonl"
    monkeypatch.setenv("RR_PULUMI_RULES_REQUESTS", str(target))
    with EchoServer() as echo:
        proxy = Proxy(emu, api, echo.url, proxy_secret={"apiKey": CALLER_KEY, "headerName": "X-Partner"})
        gateway = Gateway(proxy.url, echo, lambda proxy_id: proxy.records(), name="gateway")
        key_again = "pk-" + uuid.uuid4().hex
        result = gateway.call("GET", "/v1/x", as_=CALLER_KEY, headers={"X-Partner": key_again, "X-Tenant": "acme"})
    assert result.forwarded and result.record["headers"]["x-partner"] == "[REDACTED]"
    [line] = [json.loads(text) for text in target.read_text().splitlines()]
    assert line["headers"] == {"X-Tenant": "acme"} and key_again not in target.read_text()


# -- 6. fidelity -------------------------------------------------------------------------------------------------------

def test_two_set_cookie_headers_stay_two(emu, api, upstream):
    proxy = Proxy(emu, api, upstream.url)
    answer = proxy.raw("GET", "/cookies")
    assert answer.status == 200 and answer.header("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_bearer_scheme_is_case_insensitive(emu, api, upstream, scheme):
    proxy = Proxy(emu, api, upstream.url, proxy_auth="bearer", proxy_secret={"token": "tok-" + CALLER_KEY})
    assert proxy.call(auth=f"{scheme} tok-{CALLER_KEY}").status_code == 200
    refused(proxy.call(auth=f"{scheme} tok-wrong"), 401, "UNAUTHORIZED")
