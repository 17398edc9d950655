"""Helpers for the emulator contract tests: an Api wrapper per user and error-body assertions."""
from __future__ import annotations

import re
import uuid

import requests

from rr_pulumi.emulator.process import EmulatorProcess

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def is_uuid4(value: str) -> bool:
    try:
        return uuid.UUID(value).version == 4 and str(uuid.UUID(value)) == value
    except (ValueError, TypeError, AttributeError):
        return False


class Api:
    """A user's view of the API: a session carrying the token, paths relative to /api."""

    def __init__(self, emu: EmulatorProcess, token: str | None, prefix: str = "/api"):
        self.emu, self.token, self.prefix = emu, token, prefix
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = token

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.emu.url + self.prefix + path, timeout=30, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, json=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, json=body, **kw)

    def delete(self, path, body=None, **kw):
        return self.request("DELETE", path, json=body, **kw)

    # -- fixtures for resources -------------------------------------------------------------------------------

    def new_client(self, name: str = "acme") -> str:
        r = self.post("/clients", {"clientName": name})
        assert r.status_code == 201, r.text
        return r.json()["clients"][0]["clientId"]

    def new_credential(self, cid: str, ctype: str = "proxy", region: str = "us-east-1", **extra) -> dict:
        body = {"credentialName": f"{ctype}-cred", "credentialType": ctype, "credentialAuthType": "apiKey",
                "credentialRegion": region, "credentialSecret": {"apiKey": "s3cr3t-value"}, **extra}
        r = self.post(f"/clients/{cid}/credentials", body)
        assert r.status_code == 201, r.text
        return r.json()["credentials"][0]

    def new_target(self, cid: str, region: str = "us-east-1", **extra) -> dict:
        body = {"targetName": "stripe", "targetBaseURL": "https://api.stripe.com", "targetRegion": region, **extra}
        r = self.post(f"/clients/{cid}/targets", body)
        assert r.status_code == 201, r.text
        return r.json()["targets"][0]

    def proxy_body(self, cid: str, region: str = "us-east-1", **extra) -> dict:
        pc = self.new_credential(cid, "proxy", region)
        tc = self.new_credential(cid, "target", region)
        t = self.new_target(cid, region)
        return {"proxyName": "gateway", "proxyRegion": region, "proxyProxyCredentialId": pc["sKey"],
                "proxyTargetId": t["sKey"], "proxyTargetCredentialId": tc["sKey"], **extra}

    def new_proxy(self, cid: str, region: str = "us-east-1", **extra) -> dict:
        r = self.post(f"/clients/{cid}/proxies", self.proxy_body(cid, region, **extra))
        assert r.status_code == 201, r.text
        return r.json()["proxies"][0]


def assert_error(r: requests.Response, status: int, code: str | None = None, mentions: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) <= {"error", "code", "status", "message"}, body
    assert isinstance(body["error"], str) and body["error"]
    assert re.fullmatch(r"[A-Z][A-Z0-9_]*", body["code"]), body
    assert body["status"] == status
    if code:
        assert body["code"] == code, body
    if mentions:
        assert mentions in body.get("message", ""), body
    return body
