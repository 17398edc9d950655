"""Hostile input over real HTTP: every case gets a 4xx contract error (or is never executed), none stalls the server."""
from __future__ import annotations

import json
import socket
import threading
import time
import uuid

import pytest
import requests

from emulator_helpers import Api, assert_error
from rr_pulumi.emulator.process import EmulatorProcess

# A character class spanning most of Unicode, under the `i` flag: Python's re needs about a second to compile 1000
# characters of it, and compiling holds the interpreter.
WIDE_CLASS = "[\u0100-\U0010ffff]"


def client_names(api: Api) -> list[str]:
    """Every client name of the user, reading every page."""
    names, page = [], 1
    while True:
        body = api.get("/clients", params={"page": page, "limit": 100}).json()
        names += [c["clientName"] for c in body["clients"]]
        if page >= body["pagination"]["pages"]:
            return names
        page += 1


@pytest.mark.parametrize("query", [{"page": "²"}, {"limit": "①"}, {"page": "٣"}, {"limit": "1٠"}, {"page": "+1"},
                                   {"page": " 1"}, {"limit": "1e1"}])
def test_page_and_limit_take_ascii_digits_only(user, cid, query):
    [(name, _)] = query.items()
    assert_error(user.get(f"/clients/{cid}/targets", params=query), 400, "VALIDATION_ERROR", mentions=name)


class Poller:
    """Polls /_emulator/health from its own connection and records how long each answer took."""

    def __init__(self, url: str):
        self.url, self.waits, self.failures = url, [], []
        self.stop, self.answered = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with requests.Session() as session:
            while not self.stop.is_set():
                started = time.perf_counter()
                status = session.get(self.url + "/_emulator/health", timeout=30).status_code
                self.waits.append(time.perf_counter() - started)
                self.answered.set()
                if status != 200:
                    self.failures.append(status)
                self.stop.wait(0.02)   # a poll every ~20 ms, as a monitoring client would, not a busy loop

    def __enter__(self) -> "Poller":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def heavy_rule(patterns: int) -> dict:
    checks = [{"namePattern": WIDE_CLASS * 198 + f"x{i:04d}", "presence": "present"}
              for i in range(patterns)]
    return {"effect": "deny", "priority": 1, "regexFlags": "i", "headerChecks": checks}


@pytest.mark.alone  # a latency bound: `make test` runs it before the parallel suite, with nothing beside it
@pytest.mark.parametrize("patterns, refusal, overlapping_polls", [
    (21, "add up to", 0),           # the 21 KB body: over the per-rule pattern size limit, refused at once
    (5, "take more than", 5),       # under the size limit, over the compile time budget: polled meanwhile
])
def test_a_regex_heavy_rule_delays_no_other_request(emu, user, cid, patterns, refusal, overlapping_polls):
    proxy = user.new_proxy(cid)
    body = heavy_rule(patterns)
    assert len(json.dumps(body)) > 20_000 if patterns == 21 else True
    with Poller(emu.url) as poller:
        assert poller.answered.wait(30)   # connected and answered before the rule is sent
        before = len(poller.waits)
        answer = user.post(f"/clients/{cid}/proxies/{proxy['sKey']}/rules", body)
        during = len(poller.waits) - before
    assert_error(answer, 400, "VALIDATION_ERROR", mentions=refusal)
    assert during >= overlapping_polls and not poller.failures
    assert max(poller.waits) < 0.1, sorted(poller.waits)[-5:]
    assert user.get(f"/clients/{cid}/proxies/{proxy['sKey']}/rules").json()["rules"] == []


def test_rules_with_ordinary_patterns_still_compile_in_the_worker(user, cid):
    proxy = user.new_proxy(cid)
    rules = f"/clients/{cid}/proxies/{proxy['sKey']}/rules"
    ok = user.post(rules, {"effect": "allow", "priority": 5, "pathPattern": "^/v1/", "regexFlags": "i",
                           "headerChecks": [{"namePattern": "^x-api-key$", "valuePattern": "^k-", "presence": "present"}]})
    assert ok.status_code == 201, ok.text
    bad = user.post(rules, {"effect": "deny", "priority": 1, "queryChecks": [{"namePattern": "(", "presence": "absent"}]})
    assert_error(bad, 400, "VALIDATION_ERROR", mentions="queryChecks[0].namePattern: must be a valid regular expression")


def send_raw(emu: EmulatorProcess, request: bytes) -> bytes:
    """Send bytes on a fresh connection, close our side, and read whatever comes back."""
    host, port = emu.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_body_shorter_than_its_content_length_is_never_executed(emu, user):
    name = f"cut-{uuid.uuid4().hex[:8]}"
    body = json.dumps({"clientName": name}).encode()   # valid JSON on its own: only the length says it is cut
    send_raw(emu, b"POST /api/clients HTTP/1.1\r\nHost: x\r\nAuthorization: " + user.token.encode()
             + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body) + 40).encode()
             + b"\r\n\r\n" + body)
    whole = f"whole-{uuid.uuid4().hex[:8]}"
    assert user.post("/clients", {"clientName": whole}).status_code == 201
    names = client_names(user)
    assert whole in names and name not in names


def test_an_admin_body_shorter_than_its_content_length_is_never_executed(emu):
    token = f"u-cut-{uuid.uuid4().hex}"
    body = json.dumps({"name": f"cut-{uuid.uuid4().hex[:8]}", "token": token}).encode()
    send_raw(emu, b"POST /_emulator/users HTTP/1.1\r\nHost: x\r\nAuthorization: " + emu.admin_token.encode()
             + b"\r\nContent-Length: " + str(len(body) + 40).encode() + b"\r\n\r\n" + body)
    assert_error(requests.get(emu.url + "/api/clients", headers={"Authorization": token}, timeout=30), 401)
    emu.create_user(f"whole-{uuid.uuid4().hex[:8]}", token=token)   # the same body, complete, does create it
    assert requests.get(emu.url + "/api/clients", headers={"Authorization": token}, timeout=30).status_code == 200


@pytest.mark.parametrize("raw, why", [
    ('{"clientName": "utf16"}'.encode("utf-16"), "UTF-8"),                  # with its BOM
    ('{"clientName": "utf16"}'.encode("utf-16-le"), "malformed JSON"),  # NUL bytes are UTF-8, not JSON
    (b'{"clientName": "caf\xe9"}', "UTF-8"),                                 # Latin-1, not UTF-8
    (b'{"clientName": "\xed\xa0\x80"}', "UTF-8"),                            # an encoded surrogate
    ('\ufeff{"clientName": "bom"}'.encode(), "byte order mark"),
    (b'{"clientName": "lone \\ud800 surrogate"}', "surrogate"),
    (b'{"client\\udfffName": "x"}', "surrogate"),                            # in a key too
])
def test_bodies_must_be_strict_utf8(user, raw, why):
    r = user.request("POST", "/clients", data=raw, headers={"Content-Type": "application/json"})
    assert_error(r, 400, "INVALID_JSON", mentions=why)


def test_strict_utf8_accepts_real_unicode(user):
    r = user.request("POST", "/clients", data='{"clientName": "café \\ud83d\\ude80 🚀"}'.encode(),
                     headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    assert r.json()["clients"][0]["clientName"] == "café 🚀 🚀"


def test_admin_bodies_are_strict_utf8_too(emu):
    r = requests.post(emu.url + "/_emulator/users", data='{"name": "x"}'.encode("utf-16"),
                      headers={"Authorization": emu.admin_token}, timeout=30)
    assert_error(r, 400, "INVALID_JSON")


@pytest.mark.parametrize("path", ["/api/clients/{cid}%2Fcredentials", "/api/clients%2F{cid}",
                                  "/api/clients/{cid}%2fcredentials", "/api/clients/{cid}/credentials%2F"])
def test_an_encoded_slash_is_not_a_separator(emu, user, cid, path):
    r = requests.get(emu.url + path.format(cid=cid), headers={"Authorization": user.token}, timeout=30)
    assert_error(r, 404, "NOT_FOUND")
    assert user.get(f"/clients/{cid}/credentials").status_code == 200   # the unencoded path is served


@pytest.mark.parametrize("body, field", [
    ({"name": 5}, "name"), ({"name": ["u"]}, "name"), ({}, "name"), ({"name": ""}, "name"),
    ({"name": "u-{}", "plan": 5}, "plan"), ({"name": "u-{}", "plan": {"a": 1}}, "plan"),
    ({"name": "u-{}", "plan": "gold"}, "plan"),
    ({"name": "u-{}", "token": 5}, "token"), ({"name": "u-{}", "token": ["t"]}, "token"),
    ({"name": "u-{}", "token": "with space"}, "token"), ({"name": "u-{}", "token": "tök"}, "token"),
    ({"name": "u-{}", "admin": True}, "admin"), ([], "body"), ("alice", "body"),
])
def test_admin_user_inputs_are_validated(emu, body, field):
    if isinstance(body, dict) and isinstance(body.get("name"), str):
        body = {**body, "name": body["name"].format(uuid.uuid4().hex[:8])}
    r = requests.post(emu.url + "/_emulator/users", json=body, headers={"Authorization": emu.admin_token}, timeout=30)
    assert_error(r, 400, "VALIDATION_ERROR", mentions=field)


@pytest.mark.parametrize("body, field", [
    ({"userName": 5}, "userName"), ({}, "userName"), ({"userName": "demo", "roles": "admin"}, "roles"),
    ({"userName": "demo", "roles": [1]}, "roles"), ({"userName": "demo", "roles": [""]}, "roles"),
    ({"userName": "demo", "extra": 1}, "extra"), ([], "body"),
])
def test_admin_member_inputs_are_validated(emu, cid, body, field):
    r = requests.post(emu.url + f"/_emulator/clients/{cid}/members", json=body,
                      headers={"Authorization": emu.admin_token}, timeout=30)
    assert_error(r, 400, "VALIDATION_ERROR", mentions=field)


def test_request_log_lines_cannot_be_forged_and_secrets_are_redacted_whatever_the_spelling():
    markers = [f"SECRET-{i}-{uuid.uuid4().hex[:6]}" for i in range(5)]
    with EmulatorProcess(extra_args=("--log-requests",)) as emu:
        api = Api(emu, emu.token("demo"))
        cid = api.new_client()
        forged = "/api/clients%0AGET%20/api/forged%20200%200.1ms%0D%0A"
        requests.get(emu.url + forged, headers={"Authorization": api.token}, timeout=30)
        requests.get(emu.url + "/api/clients?x=%0Aforged", headers={"Authorization": api.token}, timeout=30)
        for key, marker in zip(("credentialsecret", "CredentialSecret", "credential_secret", "CREDENTIAL-SECRET",
                                "secret"), markers, strict=False):
            api.post(f"/clients/{cid}/credentials", {
                "credentialName": "c", "credentialType": "target", "credentialAuthType": "apiKey",
                "credentialRegion": "us-east-1", key: {"apiKey": marker}})
        emu.stop()
        log = open(emu.log_path).read()
    lines = log.splitlines()
    assert not [line for line in lines if line.startswith("GET /api/forged") or line.startswith("forged")]
    assert any("%0AGET%20/api/forged" in line for line in lines)
    assert sum("/credentials 400" in line for line in lines) == len(markers)
    assert not [m for m in markers if m in log]
