"""Fault injection (seeded and repeatable), the admin API and request stats."""
import functools
import time
import uuid

import pytest
import requests

from emulator_helpers import Api, assert_error
from rr_pulumi.emulator.process import EmulatorError, EmulatorProcess

SPEC = "latency=1,jitter=3,err500=0.1,err503=0.1,rate429=0.1,drop_before=0.1,drop_after=0.1"


@pytest.fixture(scope="module")
def emu():
    with EmulatorProcess(users=("demo:team",), seed=42) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def no_faults(emu):
    emu.set_faults(None)
    yield
    emu.set_faults(None)


def outcome(fn) -> str:
    try:
        r = fn()
    except requests.ConnectionError:
        return "dropped"
    return str(r.status_code)


def run_sequence(emu, n=80) -> list[str]:
    """A fixed sequence of reads and writes for a fresh user; faults are switched on only around it."""
    api = Api(emu, emu.create_user(f"seq-{uuid.uuid4().hex[:8]}"))
    cid = api.new_client()
    emu.set_faults(SPEC, seed=1234)
    out = []
    for i in range(n):
        if i % 3 == 0:
            body = {"targetName": f"t{i}", "targetBaseURL": "https://x.io", "targetRegion": "us-east-1"}
            out.append(outcome(functools.partial(api.post, f"/clients/{cid}/targets", body)))
        elif i % 3 == 1:
            out.append(outcome(lambda: api.get(f"/clients/{cid}/targets", params={"limit": 5})))
        else:
            out.append(outcome(lambda: api.get("/nowhere")))
    emu.set_faults(None)
    return out


def test_seeded_fault_run_repeats_exactly(emu):
    first = run_sequence(emu)
    second = run_sequence(emu)
    assert first == second
    assert {"500", "503", "429", "dropped"} <= set(first)      # every kind of fault showed up
    assert {"201", "200", "404"} & set(first)                   # and so did normal answers
    emu.set_faults(SPEC, seed=99)
    api = Api(emu, emu.token("demo"))
    other = [outcome(lambda: api.get("/nowhere")) for _ in range(80)]
    assert other != first


def test_seed_given_at_start_repeats_across_restarts(tmp_path):
    def run():
        with EmulatorProcess(db=tmp_path / f"{uuid.uuid4().hex}.db", faults="err500=0.3,rate429=0.2",
                             seed=7) as e:
            api = Api(e, e.token("demo"))
            return [outcome(lambda: api.get("/clients")) for _ in range(40)]

    assert run() == run()


def test_drop_after_commits_and_drop_before_does_not(emu, user, cid):
    body = {"targetName": "dup", "targetBaseURL": "https://x.io", "targetRegion": "us-east-1"}
    emu.set_faults("drop_after=1")
    with pytest.raises(requests.ConnectionError):
        user.post(f"/clients/{cid}/targets", body)
    emu.set_faults("drop_before=1")
    with pytest.raises(requests.ConnectionError):
        user.post(f"/clients/{cid}/targets", body)
    emu.set_faults(None)
    targets = user.get(f"/clients/{cid}/targets").json()["targets"]
    assert [t["targetName"] for t in targets] == ["dup"]   # exactly the after-commit write exists
    injected = emu.stats()["injected"]
    assert injected["drop_after"] >= 1 and injected["drop_before"] >= 1


def test_injected_errors_have_contract_bodies_and_retry_after(emu, user):
    for spec, status, code in [("rate429=1", 429, "RATE_LIMITED"), ("err500=1", 500, "INTERNAL_ERROR"),
                               ("err503=1", 503, "SERVICE_UNAVAILABLE")]:
        emu.set_faults(spec)
        r = user.get("/clients")
        assert_error(r, status, code)
        if status in (429, 503):
            assert 0 <= int(r.headers["Retry-After"]) <= 60


def test_latency_and_jitter(emu, user):
    emu.set_faults({"latency": 150, "jitter": 50})
    start = time.perf_counter()
    assert user.get("/clients").status_code == 200
    assert time.perf_counter() - start >= 0.15   # a sleep never ends early; no upper bound on a shared machine


def test_faults_never_touch_the_admin_api(emu):
    # A minute of latency: were the admin API subject to faults, these calls would time out instead of answering.
    emu.set_faults("err500=1,drop_before=1,latency=60000")
    assert requests.get(emu.url + "/_emulator/health", timeout=30).status_code == 200
    assert emu.stats()["total"] >= 0
    emu.set_faults(None)


def test_fault_admin_api(emu):
    got = emu.set_faults("err500=0.25,latency=5", seed=3)
    assert got["err500"] == 0.25 and got["latency"] == 5 and got["seed"] == 3 and got["drop_after"] == 0
    assert emu.admin("GET", "/_emulator/faults").json() == got
    assert emu.set_faults({"rate429": 0.5})["rate429"] == 0.5
    for bad in ("err500=2", "bogus=1", "latency=x", {"err500": "high"}, {"seed": "x"}, [1]):
        with pytest.raises(EmulatorError, match="400"):
            emu.admin("PUT", "/_emulator/faults", json=bad)
    r = requests.put(emu.url + "/_emulator/faults", json={}, timeout=5)
    assert_error(r, 401, "UNAUTHORIZED")
    assert_error(requests.get(emu.url + "/_emulator/stats", headers={"Authorization": "u-x"}, timeout=5), 401)


def test_stats_count_per_route_template_and_method(emu, user, cid):
    emu.reset_stats()
    assert emu.stats()["total"] == 0
    for _ in range(3):
        user.get(f"/clients/{cid}/targets")
    Api(emu, user.token, "").get(f"/clients/{cid}/targets")   # unprefixed counts under the same template
    user.post(f"/clients/{cid}/targets", {"targetName": "t", "targetBaseURL": "https://x.io",
                                          "targetRegion": "us-east-1"})
    user.get("/nowhere")
    emu.set_faults("err503=1")
    user.get(f"/clients/{cid}")
    stats = emu.stats()
    assert stats["routes"]["/api/clients/{clientId}/targets"] == {"GET": 4, "POST": 1}
    assert stats["routes"]["/api/clients/{clientId}"] == {"GET": 1}
    assert stats["routes"]["<unmatched>"] == {"GET": 1}
    assert stats["total"] == 7
    assert stats["injected5xx"] == 1 and stats["injected429"] == 0
    assert stats["statuses"]["200"] == 4 and stats["statuses"]["201"] == 1 and stats["statuses"]["503"] == 1
    emu.reset_stats()
    assert emu.stats()["routes"] == {}


def test_admin_users_and_members(emu):
    token = emu.create_user("admin-made", plan="basic", token="u-chosen-token-1")
    assert token == "u-chosen-token-1"
    assert emu.create_user("admin-made", plan="basic") == token    # reused
    with pytest.raises(EmulatorError, match="409"):
        emu.create_user("someone-else", token=token)
    with pytest.raises(EmulatorError, match="400"):
        emu.create_user("bad-token", token="has space")
    with pytest.raises(EmulatorError, match="404"):
        emu.add_member("0b5e4f3c-1d2a-4c6b-9e8f-7a6b5c4d3e2f", "admin-made")
