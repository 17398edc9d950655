"""Clients: envelopes, ids, timestamps, membership, updates and delete semantics."""
import time

import pytest

from emulator_helpers import ISO_MS, Api, assert_error, is_uuid4


def test_create_returns_201_envelope_and_makes_caller_owner_admin(emu, user):
    r = user.post("/clients", {"clientName": "Acme Ltd"})
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"clients", "message"} and body["message"] == "Success"
    (client,) = body["clients"]
    assert is_uuid4(client["clientId"])
    assert client["clientName"] == "Acme Ltd"
    assert ISO_MS.match(client["clientCreatedAt"]) and ISO_MS.match(client["clientUpdatedAt"])
    (member,) = client["clientMembers"]
    assert sorted(member["roles"]) == ["admin", "owner"] and is_uuid4(member["userId"])
    assert client["userId"] == member["userId"]


def test_get_and_list_use_the_same_envelope(user, cid):
    one = user.get(f"/clients/{cid}").json()
    assert set(one) == {"clients", "message"} and len(one["clients"]) == 1
    listed = user.get("/clients").json()
    assert [c["clientId"] for c in listed["clients"]] == [cid]
    assert listed["clients"][0] == one["clients"][0]


def test_list_shows_only_my_clients(user, other, cid):
    other.new_client("theirs")
    assert [c["clientId"] for c in user.get("/clients").json()["clients"]] == [cid]


@pytest.mark.parametrize("name,ok", [("", False), ("a", True), ("x" * 100, True), ("x" * 101, False),
                                     (None, False), (7, False), ("é" * 100, True)])
def test_client_name_is_1_to_100_chars(user, name, ok):
    r = user.post("/clients", {"clientName": name})
    if ok:
        assert r.status_code == 201
    else:
        assert_error(r, 400, "VALIDATION_ERROR", "clientName")


def test_missing_name_is_400(user):
    assert_error(user.post("/clients", {}), 400, mentions="clientName")


def test_return_user_is_accepted(user):
    assert user.post("/clients", {"clientName": "x", "returnUser": True}).status_code == 201
    assert_error(user.post("/clients", {"clientName": "x", "returnUser": "yes"}), 400, mentions="returnUser")


def test_update_merges_and_bumps_updated_at(user, cid):
    before = user.get(f"/clients/{cid}").json()["clients"][0]
    stamps = [before["clientUpdatedAt"]]
    for name in ("renamed", "renamed", "again"):
        r = user.put(f"/clients/{cid}", {"clientName": name})
        assert r.status_code == 200
        stamps.append(r.json()["clients"][0]["clientUpdatedAt"])
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)   # strictly increasing
    after = user.get(f"/clients/{cid}").json()["clients"][0]
    assert after["clientName"] == "again" and after["clientCreatedAt"] == before["clientCreatedAt"]
    assert user.put(f"/clients/{cid}", {}).json()["clients"][0]["clientName"] == "again"   # merge
    assert_error(user.put(f"/clients/{cid}", {"clientName": ""}), 400, mentions="clientName")
    assert_error(user.put(f"/clients/{cid}", {"clientId": "x"}), 400, mentions="clientId")


def test_member_without_admin_role_cannot_update_or_delete(emu, user, other, cid):
    emu.add_member(cid, _name(emu, other), roles=["member"])
    assert other.get(f"/clients/{cid}").status_code == 200
    assert other.get(f"/clients/{cid}/targets").status_code == 200
    assert_error(other.put(f"/clients/{cid}", {"clientName": "x"}), 403, "FORBIDDEN")
    assert_error(other.delete(f"/clients/{cid}"), 403, "FORBIDDEN")


def _name(emu, api: Api) -> str:
    return next(n for n, t in emu.tokens.items() if t == api.token)


def test_delete_is_403_while_another_admin_exists(emu, user, other, cid):
    emu.add_member(cid, _name(emu, other), roles=["admin"])
    assert_error(user.delete(f"/clients/{cid}"), 403, "FORBIDDEN", "admin")
    assert user.get(f"/clients/{cid}").status_code == 200   # nothing changed
    emu.add_member(cid, _name(emu, other), roles=["member"])
    assert user.delete(f"/clients/{cid}").status_code == 200


@pytest.mark.parametrize("body", [None, {}, {"immediatelyDelete": False}, {"immediatelyDelete": True}])
def test_delete_removes_client_and_everything_in_it(user, body):
    cid = user.new_client()
    proxy = user.new_proxy(cid)
    user.post(f"/clients/{cid}/proxies/{proxy['sKey']}/rules", {"effect": "deny", "priority": 5})
    r = user.delete(f"/clients/{cid}", body) if body is not None else user.request("DELETE", f"/clients/{cid}")
    assert r.status_code == 200 and r.json() == {"message": "Success"}
    assert_error(user.get(f"/clients/{cid}"), 404, "NOT_FOUND")
    assert_error(user.get(f"/clients/{cid}/proxies"), 404)
    assert_error(user.get(f"/clients/{cid}/proxies/{proxy['sKey']}"), 404)
    assert cid not in [c["clientId"] for c in user.get("/clients").json()["clients"]]
    assert_error(user.delete(f"/clients/{cid}"), 404)   # gone → 404
    assert_error(user.put(f"/clients/{cid}", {"clientName": "x"}), 404)


def test_delete_body_is_validated(user, cid):
    assert_error(user.delete(f"/clients/{cid}", {"immediatelyDelete": "yes"}), 400, mentions="immediatelyDelete")
    assert_error(user.delete(f"/clients/{cid}", {"force": True}), 400, mentions="force")
    assert user.get(f"/clients/{cid}").status_code == 200


def test_timestamps_are_utc_milliseconds(user):
    start = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 60))
    client = user.post("/clients", {"clientName": "t"}).json()["clients"][0]
    assert client["clientCreatedAt"] >= start and client["clientCreatedAt"].endswith("Z")
