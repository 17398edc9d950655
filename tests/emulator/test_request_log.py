"""The control-plane request log (`GET /_emulator/requests`): every contract request in order, with the fault that
refused it or the dropped answer of a committed write, and the id a create made; never a body or a token."""
import json

import pytest
import requests

from emulator_helpers import Api
from rr_pulumi.emulator.process import EmulatorProcess


@pytest.fixture(scope="module")
def emu():
    with EmulatorProcess(users=("demo:team",), seed=7) as emulator:
        yield emulator


def log(emu, since=None):
    params = {} if since is None else {"since": since}
    response = requests.get(emu.url + "/_emulator/requests", params=params,
                            headers={"Authorization": emu.admin_token}, timeout=30)
    return response


def test_the_log_keeps_refused_and_dropped_writes_and_the_ids_creates_made(emu):
    api = Api(emu, emu.token("demo"))
    start = log(emu).json()["last"]
    made = api.post("/clients", {"clientName": "logged"}).json()["clients"][0]["clientId"]
    emu.set_faults("err500=1", seed=1)
    assert api.post("/clients", {"clientName": "refused"}).status_code == 500
    emu.set_faults("drop_after=1", seed=1)
    with pytest.raises(requests.ConnectionError):
        api.put(f"/clients/{made}", {"clientName": "renamed"})
    emu.set_faults(None)
    api.delete(f"/clients/{made}")

    entries = log(emu, start).json()["requests"]
    assert [(e["method"], e["path"], e["status"], e["fault"], e["created"]) for e in entries] == [
        ("POST", "/api/clients", 201, None, made),
        ("POST", "/api/clients", None, "err500", None),
        ("PUT", f"/api/clients/{made}", 200, "drop_after", None),
        ("DELETE", f"/api/clients/{made}", 200, None, None),
    ]
    assert [e["seq"] for e in entries] == list(range(start + 1, start + 5))
    assert emu.token("demo") not in json.dumps(entries) and "renamed" not in json.dumps(entries)


def test_the_log_needs_the_admin_token_and_a_whole_number(emu):
    assert requests.get(emu.url + "/_emulator/requests", timeout=30).status_code == 401
    refused = log(emu, "-1")
    assert refused.status_code == 400 and refused.json()["message"].startswith("since:")


def test_since_in_digits_that_are_not_ascii_is_a_400_not_a_500(emu):
    for since in ("²", "١٢"):   # str.isdigit() accepts both; int() accepts only the second
        refused = log(emu, since)
        assert refused.status_code == 400 and refused.json()["message"].startswith("since:")


def test_a_long_path_is_kept_clipped_so_the_log_stays_bounded(emu):
    start = log(emu).json()["last"]
    long = "/" + "x" * 60_000
    assert requests.get(emu.url + long, timeout=30).status_code == 401   # no token: anyone can send it
    entry = log(emu, start).json()["requests"][-1]
    # 256 characters and an ASCII marker: Python keeps an all-ASCII string at one byte a character (a non-ASCII
    # marker doubles it), so 100 000 kept entries stay within the emulator's memory bound
    assert entry["path"] == long[:256] + f"...[+{len(long) - 256}]" and entry["path"].isascii()
