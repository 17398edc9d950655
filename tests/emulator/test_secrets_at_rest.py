"""Credential secrets are encrypted at rest (AES-256-GCM, key file beside the database); the store still reads them."""
from __future__ import annotations

import json
import os
import sqlite3
import stat
import uuid
from pathlib import Path

import pytest

from emulator_helpers import Api
from rr_pulumi.emulator.encryption import SecretKeyError
from rr_pulumi.emulator.process import EmulatorProcess
from rr_pulumi.emulator.store import Store
from rr_pulumi.api.errors import RequestRocketError


def database_files(db: Path) -> dict[str, bytes]:
    """The database and its WAL / shared-memory files, as bytes."""
    return {p.name: p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name) and
            not p.name.endswith(".key")}


def test_no_database_file_holds_a_credential_secret(tmp_path):
    db = tmp_path / "emulator.db"
    created, rotated = f"created-{uuid.uuid4().hex}", f"rotated-{uuid.uuid4().hex}"
    with EmulatorProcess(db=db) as emu:
        api = Api(emu, emu.token("demo"))
        cid = api.new_client()
        cred = api.post(f"/clients/{cid}/credentials", {
            "credentialName": "c", "credentialType": "target", "credentialAuthType": "basicAuth",
            "credentialRegion": "us-east-1", "credentialSecret": {"username": "u", "password": created}})
        assert cred.status_code == 201, cred.text
        cred_id = cred.json()["credentials"][0]["sKey"]
        put = api.put(f"/clients/{cid}/credentials/{cred_id}", {"credentialSecret": {"username": "u",
                                                                                      "password": rotated}})
        assert put.status_code == 200, put.text
        live = database_files(db)   # while the server runs: the WAL has not been checkpointed yet
        assert "emulator.db-wal" in live and len(live["emulator.db-wal"]) > 0
    files = {**{f"live {k}": v for k, v in live.items()}, **database_files(db)}
    for name, content in files.items():
        for secret in (created, rotated):
            assert secret.encode() not in content, f"{secret} found in {name}"
    key = db.parent / "emulator.db.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600 and len(key.read_bytes()) == 32
    store = Store(str(db))   # the store's API still hands the backend (and the data plane) the decrypted secret
    try:
        assert store.get("credential", cred_id).secret == {"username": "u", "password": rotated}
    finally:
        store.close()


def test_plaintext_secrets_of_an_older_database_are_encrypted_when_it_is_opened(tmp_path):
    db = str(tmp_path / "old.db")
    Store(db).close()
    os.remove(db + ".key")   # as written before encryption at rest: no key file, a plaintext secret
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO items (id, kind, client_id, parent_id, doc, secret) VALUES (?, ?, ?, ?, ?, ?)",
                     ("c-1", "credential", "cl-1", "cl-1", "{}", json.dumps({"apiKey": "plain-old-secret"})))
    store = Store(db)
    try:
        assert store.get("credential", "c-1").secret == {"apiKey": "plain-old-secret"}
        (stored,) = store._one("SELECT secret FROM items WHERE id = 'c-1'")
        assert "plain-old-secret" not in stored
    finally:
        store.close()


def test_a_missing_or_wrong_key_file_is_a_clear_error(tmp_path):
    db = str(tmp_path / "e.db")
    store = Store(db)
    store.insert("credential", "c-1", "cl-1", "cl-1", {}, secret={"token": "t"})
    store.close()
    key = Path(db + ".key")
    key.write_bytes(os.urandom(32))
    store = Store(db)
    with pytest.raises(SecretKeyError, match="does not open"):
        store.get("credential", "c-1")
    store.close()
    key.unlink()
    with pytest.raises(SecretKeyError, match=r"e\.db\.key is missing") as failure:
        Store(db)
    assert isinstance(failure.value, RequestRocketError)
