"""Durability under load, beyond test_durability.py (one SIGKILL during creates and renames): repeated SIGKILLs
during a mixed load of creates, updates, deletes and nested rules from many threads. After every restart each
acknowledged write is there (created objects exist with their last acknowledged name, acknowledged deletes stay
deleted, together with the deleted object's rules); a write whose answer was lost may have happened or not."""

from __future__ import annotations

import random
import threading

import requests

from emulator_helpers import Api
from rr_pulumi.emulator.process import EmulatorProcess

TARGET = {"targetBaseURL": "https://x.io", "targetRegion": "us-east-1"}
RULE = {"effect": "deny", "priority": 1, "methods": ["DELETE"]}
THREADS = 8
CYCLES = 3


class Ledger:
    """What the server acknowledged, per target id: its last acknowledged name, deleted, and its acknowledged rules."""

    def __init__(self) -> None:
        self.lock = threading.Condition()   # also signals each acknowledgement to the test waiting for load
        self.names: dict[str, str] = {}
        self.client_of: dict[str, str] = {}
        self.uncertain_names: set[str] = set()  # a rename whose answer was lost: either name is fine
        self.deleted: set[str] = set()
        self.uncertain_deletes: set[str] = set()
        self.rules: dict[str, set[str]] = {}
        self.acked = 0

    def ack(self) -> None:
        """Count one acknowledged write; call with the lock held."""
        self.acked += 1
        self.lock.notify_all()


def writer(emu: EmulatorProcess, token: str, cid: str, n: int, ledger: Ledger, stop: threading.Event) -> None:
    api = Api(emu, token)
    rng = random.Random(n)
    mine: list[str] = []
    i = 0
    while not stop.is_set():
        i += 1
        op = rng.random()
        try:
            if op < 0.4 or not mine:
                r = api.post(f"/clients/{cid}/targets", {"targetName": f"w{n}-{i}", **TARGET})
                if r.status_code == 201:
                    sid = r.json()["targets"][0]["sKey"]
                    mine.append(sid)
                    with ledger.lock:
                        ledger.names[sid] = f"w{n}-{i}"
                        ledger.client_of[sid] = cid
                        ledger.ack()
            elif op < 0.65:
                sid = rng.choice(mine)
                name = f"renamed-{n}-{i}"
                with ledger.lock:
                    ledger.uncertain_names.add(sid)
                r = api.put(f"/clients/{cid}/targets/{sid}", {"targetName": name})
                if r.status_code == 200:
                    with ledger.lock:
                        ledger.names[sid] = name
                        ledger.uncertain_names.discard(sid)
                        ledger.ack()
            elif op < 0.85:
                sid = rng.choice(mine)
                r = api.post(f"/clients/{cid}/targets/{sid}/rules", {**RULE, "priority": i % 1000})
                if r.status_code == 201:
                    with ledger.lock:
                        ledger.rules.setdefault(sid, set()).add(r.json()["rules"][0]["sKey"])
                        ledger.ack()
            else:
                sid = mine.pop(rng.randrange(len(mine)))
                with ledger.lock:
                    ledger.uncertain_deletes.add(sid)
                r = api.delete(f"/clients/{cid}/targets/{sid}")
                if r.status_code == 200:
                    with ledger.lock:
                        ledger.deleted.add(sid)
                        ledger.uncertain_deletes.discard(sid)
                        ledger.ack()
        except requests.RequestException:
            return  # the server died under us: this write's answer is lost, so it is uncertain


def listed(api: Api, path: str, plural: str) -> list[dict]:
    items, page = [], 1
    while True:
        body = api.get(path, params={"page": page, "limit": 100}).json()
        items += body[plural]
        if page >= body["pagination"]["pages"]:
            return items
        page += 1


def verify(api: Api, cid: str, ledger: Ledger) -> None:
    stored = {t["sKey"]: t["targetName"] for t in listed(api, f"/clients/{cid}/targets", "targets")}
    with ledger.lock:
        for sid, name in ledger.names.items():
            if ledger.client_of[sid] != cid:
                continue
            if sid in ledger.deleted:
                assert sid not in stored, f"acknowledged delete of {sid} lost"
                assert api.get(f"/clients/{cid}/targets/{sid}/rules").status_code == 404
                continue
            if sid in ledger.uncertain_deletes:
                continue
            assert sid in stored, f"acknowledged create of {sid} lost"
            if sid not in ledger.uncertain_names:
                assert stored[sid] == name, f"acknowledged rename of {sid} lost"
            rules = {r["sKey"] for r in listed(api, f"/clients/{cid}/targets/{sid}/rules", "rules")}
            assert ledger.rules.get(sid, set()) <= rules, f"acknowledged rule of {sid} lost"


def test_repeated_sigkill_under_mixed_load_loses_no_acknowledged_write(tmp_path):
    emu = EmulatorProcess(db=tmp_path / "load.db", rate_limit=0).start()
    try:
        token = emu.token("demo")
        ledger = Ledger()
        clients = [Api(emu, token).new_client(f"load-{n}") for n in range(THREADS // 2)]
        for cycle in range(CYCLES):
            stop = threading.Event()
            threads = [threading.Thread(target=writer, args=(emu, token, clients[n % len(clients)], n + 10 * cycle,
                                                             ledger, stop)) for n in range(THREADS)]
            before = ledger.acked
            for t in threads:
                t.start()
            with ledger.lock:   # kill mid-load, after a different amount of acknowledged writes each cycle
                assert ledger.lock.wait_for(lambda: ledger.acked - before >= 40 + 20 * cycle, timeout=120)  # noqa: B023
            emu.kill()  # SIGKILL mid-load
            stop.set()
            for t in threads:
                t.join(timeout=30)
            assert ledger.acked - before > 30, "too little load to prove anything"
            emu.start()
            for cid in clients:
                verify(Api(emu, token), cid, ledger)
    finally:
        emu.close()
