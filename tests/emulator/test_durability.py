"""Durability (SIGKILL after acknowledged writes) and concurrency (threads, two server processes on one db)."""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from emulator_helpers import Api
from rr_pulumi.emulator.process import EmulatorProcess

TARGET = {"targetBaseURL": "https://x.io", "targetRegion": "us-east-1"}


def test_every_acknowledged_write_survives_sigkill(tmp_path):
    emu = EmulatorProcess(db=tmp_path / "durable.db", rate_limit=0).start()
    try:
        token = emu.token("demo")
        cid = Api(emu, token).new_client()
        acked: list[str] = []
        renamed: dict[str, str] = {}
        stop = threading.Event()
        enough_acked = threading.Event()   # the kill lands once writers are well under way, not after a guess
        lock = threading.Lock()

        def writer(n: int) -> None:
            api = Api(emu, token)
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = api.post(f"/clients/{cid}/targets", {"targetName": f"w{n}-{i}", **TARGET})
                    if r.status_code == 201:
                        sid = r.json()["targets"][0]["sKey"]
                        with lock:
                            acked.append(sid)
                            if len(acked) >= 40:
                                enough_acked.set()
                        r = api.put(f"/clients/{cid}/targets/{sid}", {"targetName": f"renamed-{n}-{i}"})
                        if r.status_code == 200:
                            with lock:
                                renamed[sid] = f"renamed-{n}-{i}"
                except requests.RequestException:
                    return

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        assert enough_acked.wait(timeout=60), "writers never got 40 creates acknowledged"
        emu.kill()   # SIGKILL while the writers are mid-flight
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert len(acked) > 20
        emu.start()
        api = Api(emu, token)
        stored = {}
        page = 1
        while True:
            body = api.get(f"/clients/{cid}/targets", params={"page": page, "limit": 100}).json()
            stored.update({t["sKey"]: t["targetName"] for t in body["targets"]})
            if page >= body["pagination"]["pages"]:
                break
            page += 1
        missing = [sid for sid in acked if sid not in stored]
        assert not missing, f"{len(missing)} acknowledged creates lost"
        assert all(stored[sid] == name for sid, name in renamed.items()), "acknowledged updates lost"
    finally:
        emu.close()


def test_concurrent_requests_are_consistent(tmp_path):
    with EmulatorProcess(db=tmp_path / "race.db", rate_limit=0) as emu:
        api = Api(emu, emu.token("demo"))
        cid = api.new_client()
        t = api.new_target(cid)

        def fresh_api(_):
            return Api(emu, emu.token("demo"))

        # many deletes of one resource: exactly one wins, the rest see 404
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda a: a.delete(f"/clients/{cid}/targets/{t['sKey']}").status_code,
                                  [fresh_api(i) for i in range(8)]))
        assert sorted(codes) == [200] + [404] * 7

        # concurrent creates: no lost writes, no duplicate ids
        def create(i):
            return fresh_api(i).post(f"/clients/{cid}/targets", {"targetName": f"c{i}", **TARGET}).json()[
                "targets"][0]["sKey"]

        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(create, range(64)))
        assert len(set(ids)) == 64
        assert api.get(f"/clients/{cid}/targets").json()["pagination"]["total"] == 64

        # delete a target while proxies that reference it are being created: 409 or a proxy-create 400, never both
        body = api.proxy_body(cid)
        target = body["proxyTargetId"]

        def make_proxy(i):
            return fresh_api(i).post(f"/clients/{cid}/proxies", body).status_code

        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(make_proxy, i) for i in range(5)]
            deleted = pool.submit(lambda: fresh_api(0).delete(f"/clients/{cid}/targets/{target}").status_code)
            created = [f.result() for f in futures]
        if deleted.result() == 200:
            assert api.get(f"/clients/{cid}/proxies").json()["pagination"]["total"] == created.count(201) == 0
        else:
            assert deleted.result() == 409 and created.count(201) >= 1


def test_two_server_processes_share_one_database(tmp_path):
    db = tmp_path / "shared.db"
    with EmulatorProcess(db=db, users=("demo:team=u-shared-token",), rate_limit=0) as a, \
            EmulatorProcess(db=db, users=("demo:team=u-shared-token",), rate_limit=0) as b:
        token = a.token("demo")
        assert b.token("demo") == token
        cid = Api(a, token).new_client()

        def create(i):
            emu = a if i % 2 else b
            return Api(emu, token).post(f"/clients/{cid}/targets", {"targetName": f"p{i}", **TARGET}).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(create, range(80)))
        assert codes == [201] * 80
        for emu in (a, b):
            assert Api(emu, token).get(f"/clients/{cid}/targets").json()["pagination"]["total"] == 80
        # a user created at run time on one process can use the other
        new = a.create_user("late-joiner")
        assert Api(b, new).get("/clients").status_code == 200


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_restart_keeps_port_tokens_and_data(tmp_path, how):
    emu = EmulatorProcess(db=tmp_path / "restart.db", users=("alice:basic",)).start()
    try:
        url, token = emu.url, emu.token("alice")
        cid = Api(emu, token).new_client()
        emu.restart(kill=(how == "kill"))
        assert emu.url == url and emu.token("alice") == token and emu.plans["alice"] == "basic"
        assert Api(emu, token).get(f"/clients/{cid}").status_code == 200
        pid = emu.proc.pid
    finally:
        emu.close()
    with pytest.raises(ProcessLookupError):   # reaped: no zombie left behind
        import os
        os.kill(pid, 0)


def test_a_stopped_emulator_leaves_everything_in_the_database_file(tmp_path):
    """docs/emulator.md: the database and its key are the whole store once the emulator has stopped, so copying
    `PATH` and `PATH.key` copies every object (SQLite's write-ahead log is folded in at a clean stop)."""
    emu = EmulatorProcess(db=tmp_path / "one.db", users=("alice:team",)).start()
    try:
        token = emu.token("alice")
        cid = Api(emu, token).new_client()
        emu.stop()
        copy = tmp_path / "copy"
        copy.mkdir()
        for name in ("one.db", "one.db.key"):
            (copy / name).write_bytes((tmp_path / name).read_bytes())
    finally:
        emu.close()
    again = EmulatorProcess(db=copy / "one.db", users=("alice:team",)).start()
    try:
        assert Api(again, again.token("alice")).get(f"/clients/{cid}").status_code == 200
    finally:
        again.close()
