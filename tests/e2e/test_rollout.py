"""No open window: with the emulated data plane, a proxy serves nothing between its creation and its last rule.

A hammer thread calls the proxy through the data plane during `pulumi up` (every Core API call is slowed by 300 ms,
so the gap between the proxy and its rules is wide); the proxy's only rule denies everything, so any request that
reaches the upstream came through the window. The twin with `activate_after_rules=False` shows the window exists.
"""
from __future__ import annotations

import threading
import uuid

import pytest
import requests

from rr_pulumi.emulator.dataplane import data_plane_url
from rr_pulumi.emulator.process import EmulatorProcess
from rr_pulumi.testing.echo import EchoServer

CALLER_KEY = "caller-key-" + uuid.uuid4().hex

PROGRAM = """
import pulumi
from rr_pulumi import ApiKeySecret, BearerSecret, Client, Credential, Proxy, Rule, Target

config = pulumi.Config()
region = config.get("region") or "eu-west-1"
org = Client("org", client_name="rollout")
callers = Credential("callers", client_id=org.id, credential_name="callers", credential_type="proxy",
                     credential_region=region, credential_secret=ApiKeySecret(api_key=config.require_secret("key")))
upstream = Credential("upstream", client_id=org.id, credential_name="upstream", credential_type="target",
                      credential_region=region, credential_secret=BearerSecret(token="upstream-token"))
api = Target("api", client_id=org.id, target_name="api", target_base_url=config.require("upstreamUrl"),
             target_region=region)
proxy = Proxy("gateway", client_id=org.id, proxy_name=config.require("proxyName"), proxy_region=region,
              proxy_credential_id=callers.id, target_id=api.id, target_credential_id=upstream.id,
              proxy_active=config.get_bool("active"), activate_after_rules=config.get_bool("staged"))
if config.get_bool("guarded") is not False:
    Rule("deny-everything", client_id=org.id, proxy_id=proxy.id, effect="deny", priority=1000)
pulumi.export("url", proxy.url)
"""


@pytest.fixture(scope="module")
def slow_emulator():
    with EmulatorProcess(users=("e2e:team",), rate_limit=100_000, faults="latency=300") as emu:
        yield emu


@pytest.fixture(scope="module")
def echo():
    with EchoServer() as server:
        yield server


class Hammer(threading.Thread):
    """Finds every proxy with a name through the admin API and calls each of them until stopped."""

    def __init__(self, emu: EmulatorProcess, proxy_name: str):
        super().__init__(daemon=True)
        self.emu, self.proxy_name = emu, proxy_name
        self.codes: dict[str, int] = {}
        self.stopped = threading.Event()
        self.session = requests.Session()

    def run(self) -> None:
        while not self.stopped.is_set():
            proxies = self.emu.admin("GET", "/_emulator/dataplane/proxies").json()["proxies"]
            for proxy in [p for p in proxies if p["proxyName"] == self.proxy_name]:
                r = self.session.get(f"{data_plane_url(self.emu.url)}/api/{proxy['proxyId']}/orders",
                                     headers={"Authorization": CALLER_KEY}, timeout=30)
                code = r.json().get("code", "FORWARDED") if r.status_code != 200 else "FORWARDED"
                self.codes[code] = self.codes.get(code, 0) + 1

    def __enter__(self) -> "Hammer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.join()


def _stack(make_stack, emu, echo, staged: bool, **config):
    stack = make_stack(PROGRAM, name="rollout")
    name = f"rollout-{uuid.uuid4().hex[:8]}"
    settings = {"requestrocket:apiUrl": emu.url, "requestrocket:dataPlaneUrl": data_plane_url(emu.url),
                "upstreamUrl": f"{echo.url}/{name}", "proxyName": name, "staged": str(staged).lower(), **config}
    for key, value in settings.items():
        stack.set_config(key, value)
    stack.set_config("requestrocket:token", emu.token("e2e"), secret=True)
    stack.set_config("key", CALLER_KEY, secret=True)
    return stack, name


def test_no_request_gets_through_between_the_proxy_and_its_last_rule(make_stack, slow_emulator, echo):
    stack, name = _stack(make_stack, slow_emulator, echo, staged=True)
    preview = stack.preview().output
    assert "ProxyActivation" in preview and "gateway-activation" in preview   # the preview shows the step
    with Hammer(slow_emulator, name) as hammer:
        stack.up()
    assert hammer.codes.get("PROXY_INACTIVE", 0) > 0, hammer.codes          # it hit the proxy inside the window
    assert hammer.codes.get("FORWARDED", 0) == 0 and not echo.received(f"/{name}"), hammer.codes
    r = requests.get(stack.outputs()["url"] + "/orders", headers={"Authorization": CALLER_KEY}, timeout=30)
    assert r.status_code == 403 and r.json()["code"] == "RULE_DENIED"          # on, and guarded by its rule
    state = {r["urn"].rsplit("::", 1)[1]: r for r in stack.resources()}
    assert state["gateway"]["outputs"]["proxy_active"] is True
    stack.preview("--expect-no-changes")                                       # the state matches the account

    # A replacement (another region: everything is replaced) follows the same order, and the old proxy is switched
    # off before its rules are deleted; so is a destroyed one.
    stack.set_config("region", "eu-central-1")
    with Hammer(slow_emulator, name) as hammer:
        stack.up()
    assert hammer.codes.get("PROXY_INACTIVE", 0) > 0, hammer.codes
    assert hammer.codes.get("FORWARDED", 0) == 0 and not echo.received(f"/{name}"), hammer.codes
    with Hammer(slow_emulator, name) as hammer:
        stack.destroy()
    assert hammer.codes.get("FORWARDED", 0) == 0 and not echo.received(f"/{name}"), hammer.codes


def test_with_the_ordering_switched_off_a_request_gets_through(make_stack, slow_emulator, echo):
    stack, name = _stack(make_stack, slow_emulator, echo, staged=False)
    assert "ProxyActivation" not in stack.preview().output
    with Hammer(slow_emulator, name) as hammer:
        stack.up()
    assert hammer.codes.get("FORWARDED", 0) > 0, hammer.codes
    assert echo.received(f"/{name}")


def test_a_proxy_declared_inactive_stays_inactive(make_stack, slow_emulator, echo):
    stack, name = _stack(make_stack, slow_emulator, echo, staged=True, active="false")
    stack.up()
    r = requests.get(stack.outputs()["url"] + "/orders", headers={"Authorization": CALLER_KEY}, timeout=30)
    assert r.status_code == 403 and r.json()["code"] == "PROXY_INACTIVE"
    state = {r["urn"].rsplit("::", 1)[1]: r for r in stack.resources()}
    assert state["gateway"]["outputs"]["proxy_active"] is False


def test_a_proxy_switched_off_elsewhere_shows_and_is_switched_on_again(make_stack, emulator, echo, api):
    stack, name = _stack(make_stack, emulator, echo, staged=True)
    stack.up()
    proxy = next(r for r in stack.resources() if r["type"].endswith(":Proxy"))
    path = f"{api.base}/clients/{proxy['outputs']['client_id']}/proxies/{proxy['id']}"
    api.put(path, json={"proxyActive": False}).raise_for_status()
    stack.refresh()
    assert stack.preview("--expect-no-changes", check=False).code != 0
    stack.up()
    assert api.get(path).json()["proxies"][0]["proxyActive"] is True
    stack.preview("--expect-no-changes")


@pytest.mark.parametrize("staged", [True, False])
def test_switching_a_proxy_on_with_its_first_rule(make_stack, slow_emulator, echo, staged):
    """An existing proxy, off and without rules, is switched on in the update that adds its rule: on only after it."""
    stack, name = _stack(make_stack, slow_emulator, echo, staged=staged, active="false", guarded="false")
    stack.up()
    stack.set_config("active", "true")
    stack.set_config("guarded", "true")
    with Hammer(slow_emulator, name) as hammer:
        stack.up()
    assert hammer.codes.get("PROXY_INACTIVE", 0) > 0, hammer.codes
    if staged:
        assert hammer.codes.get("FORWARDED", 0) == 0 and not echo.received(f"/{name}"), hammer.codes
        stack.preview("--expect-no-changes")
    else:
        assert hammer.codes.get("FORWARDED", 0) > 0, hammer.codes      # the window the staging closes
