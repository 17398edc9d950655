"""SQLite storage for the emulator: documents, users, tokens and memberships. No API rules live here.

One connection per process, guarded by a lock (the ASGI server runs handlers on one event-loop thread, so the lock
is uncontended; it keeps the store safe for threaded callers too). WAL mode: readers never block the writer, and a
committed transaction is in the WAL file before COMMIT returns, so it survives a SIGKILL of the process.
Write transactions use BEGIN IMMEDIATE so read-modify-write sequences are serialised across processes as well.
Credential secrets are encrypted at rest (encryption.py): the `secret` column only ever holds ciphertext.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from rr_pulumi.emulator.encryption import PREFIX as SEALED_PREFIX
from rr_pulumi.emulator.encryption import SecretBox

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    plan    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token   TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(user_id)
);
CREATE INDEX IF NOT EXISTS tokens_by_user ON tokens(user_id);
CREATE TABLE IF NOT EXISTS members (
    client_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    roles     TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (client_id, user_id)
);
CREATE INDEX IF NOT EXISTS members_by_user ON members(user_id);
CREATE TABLE IF NOT EXISTS items (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    id        TEXT NOT NULL UNIQUE,
    kind      TEXT NOT NULL,
    client_id TEXT NOT NULL,
    parent_id TEXT,
    hidden    INTEGER NOT NULL DEFAULT 0,
    doc       TEXT NOT NULL,
    secret    TEXT
);
CREATE INDEX IF NOT EXISTS items_by_client ON items(client_id, kind, seq);
CREATE INDEX IF NOT EXISTS items_by_parent ON items(parent_id, kind, seq);
"""


class Item:
    """One stored document: a client, credential, target, proxy or rule; `secret` is decrypted."""

    __slots__ = ("id", "kind", "client_id", "parent_id", "hidden", "doc", "secret")

    def __init__(self, row: tuple, box: SecretBox):
        self.id, self.kind, self.client_id, self.parent_id, hidden, doc, secret = row
        self.hidden = bool(hidden)
        self.doc: dict[str, Any] = json.loads(doc)
        self.secret: Any = box.open(secret, self.id) if secret is not None else None


_ITEM_COLUMNS = "id, kind, client_id, parent_id, hidden, doc, secret"


class Store:
    def __init__(self, path: str):
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout = 30000")
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a commit is written (not fsynced) to the WAL before it returns. That survives a
        # process kill; only an OS crash or power loss could lose the last transactions.
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute("PRAGMA foreign_keys = OFF")
        with self._lock:
            self._conn.executescript(SCHEMA)
        self.box = SecretBox.beside(path, has_sealed_secrets=self._has_sealed_secrets())
        self._encrypt_plaintext_secrets()

    def _has_sealed_secrets(self) -> bool:
        return self._one("SELECT 1 FROM items WHERE substr(secret, 1, ?) = ? LIMIT 1",
                         (len(SEALED_PREFIX), SEALED_PREFIX)) is not None

    def _encrypt_plaintext_secrets(self) -> None:
        """Databases written before encryption at rest hold plaintext JSON secrets: encrypt them in place."""
        with self.write():
            for item_id, secret in self._all("SELECT id, secret FROM items WHERE secret IS NOT NULL"):
                if not SecretBox.is_sealed(secret):
                    self._exec("UPDATE items SET secret = ? WHERE id = ?",
                               (self.box.seal(json.loads(secret), item_id), item_id))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- transactions -------------------------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator["Store"]:
        """A serialised read-modify-write transaction (BEGIN IMMEDIATE takes the database write lock at once)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator["Store"]:
        """A consistent snapshot for multi-statement reads."""
        with self._lock:
            if self._conn.in_transaction:
                yield self
                return
            self._conn.execute("BEGIN")
            try:
                yield self
            finally:
                self._conn.execute("COMMIT")

    def _one(self, sql: str, args: tuple = ()) -> tuple | None:
        with self._lock:
            return self._conn.execute(sql, args).fetchone()

    def _all(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def _exec(self, sql: str, args: tuple = ()) -> int:
        with self._lock:
            return self._conn.execute(sql, args).rowcount

    # -- users and tokens ---------------------------------------------------------------------------------------

    def user_by_token(self, token: str) -> tuple[str, str, str] | None:
        """(user_id, name, plan) for a token, or None."""
        return self._one(
            "SELECT u.user_id, u.name, u.plan FROM tokens t JOIN users u ON u.user_id = t.user_id WHERE t.token = ?",
            (token,),
        )

    def user_by_name(self, name: str) -> tuple[str, str, str] | None:
        return self._one("SELECT user_id, name, plan FROM users WHERE name = ?", (name,))

    def user_by_id(self, user_id: str) -> tuple[str, str, str] | None:
        return self._one("SELECT user_id, name, plan FROM users WHERE user_id = ?", (user_id,))

    def tokens_of(self, user_id: str) -> list[str]:
        return [r[0] for r in self._all("SELECT token FROM tokens WHERE user_id = ? ORDER BY rowid", (user_id,))]

    def token_owner(self, token: str) -> str | None:
        row = self._one("SELECT user_id FROM tokens WHERE token = ?", (token,))
        return row[0] if row else None

    def insert_user(self, user_id: str, name: str, plan: str) -> None:
        self._exec("INSERT INTO users (user_id, name, plan) VALUES (?, ?, ?)", (user_id, name, plan))

    def set_plan(self, user_id: str, plan: str) -> None:
        self._exec("UPDATE users SET plan = ? WHERE user_id = ?", (plan, user_id))

    def insert_token(self, token: str, user_id: str) -> None:
        self._exec("INSERT INTO tokens (token, user_id) VALUES (?, ?)", (token, user_id))

    def delete_token(self, token: str) -> None:
        self._exec("DELETE FROM tokens WHERE token = ?", (token,))

    # -- memberships --------------------------------------------------------------------------------------------

    def roles_of(self, client_id: str, user_id: str) -> list[str] | None:
        row = self._one("SELECT roles FROM members WHERE client_id = ? AND user_id = ?", (client_id, user_id))
        return json.loads(row[0]) if row else None

    def members_of(self, client_id: str) -> list[dict[str, Any]]:
        rows = self._all("SELECT user_id, roles FROM members WHERE client_id = ? ORDER BY seq", (client_id,))
        return [{"userId": user_id, "roles": json.loads(roles)} for user_id, roles in rows]

    def put_member(self, client_id: str, user_id: str, roles: list[str]) -> None:
        self._exec(
            "INSERT INTO members (client_id, user_id, roles, seq) VALUES (?, ?, ?, "
            "(SELECT COALESCE(MAX(seq), 0) + 1 FROM members WHERE client_id = ?)) "
            "ON CONFLICT (client_id, user_id) DO UPDATE SET roles = excluded.roles",
            (client_id, user_id, json.dumps(roles), client_id),
        )

    def delete_members(self, client_id: str) -> None:
        self._exec("DELETE FROM members WHERE client_id = ?", (client_id,))

    # -- documents ----------------------------------------------------------------------------------------------

    def get(self, kind: str, item_id: str) -> Item | None:
        row = self._one(f"SELECT {_ITEM_COLUMNS} FROM items WHERE id = ? AND kind = ?", (item_id, kind))
        return Item(row, self.box) if row else None

    def get_doc(self, kind: str, item_id: str) -> tuple[str, str | None, str] | None:
        """(client_id, parent_id, raw JSON doc) without decoding: the fast path for get-one."""
        return self._one("SELECT client_id, parent_id, doc FROM items WHERE id = ? AND kind = ?", (item_id, kind))

    def page(
        self, kind: str, *, member: str | None = None, client_id: str | None = None,
        parent_id: str | None = None, include_hidden: bool = False, offset: int = 0, limit: int = 20,
    ) -> tuple[list[str], int]:
        """One page of raw JSON docs in creation order, plus the total count."""
        where, args = ["kind = ?"], [kind]
        if client_id is not None:
            where.append("client_id = ?")
            args.append(client_id)
        if member is not None:
            where.append("client_id IN (SELECT client_id FROM members WHERE user_id = ?)")
            args.append(member)
        if parent_id is not None:
            where.append("parent_id = ?")
            args.append(parent_id)
        if not include_hidden:
            where.append("hidden = 0")
        clause = " AND ".join(where)
        with self.read():
            counted = self._one(f"SELECT COUNT(*) FROM items WHERE {clause}", tuple(args))
            assert counted is not None  # COUNT(*) always answers one row
            total = counted[0]
            rows = self._all(
                f"SELECT doc FROM items WHERE {clause} ORDER BY seq LIMIT ? OFFSET ?", (*args, limit, offset)
            )
        return [r[0] for r in rows], total

    def find(self, kind: str, client_id: str) -> list[Item]:
        rows = self._all(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE kind = ? AND client_id = ? ORDER BY seq", (kind, client_id)
        )
        return [Item(r, self.box) for r in rows]

    def access(self, client_id: str, user_id: str) -> tuple[int, str | None] | None:
        """(client hidden flag, the user's roles JSON or None); None when the client does not exist."""
        return self._one(
            "SELECT c.hidden, m.roles FROM items c LEFT JOIN members m ON m.client_id = c.id AND m.user_id = ? "
            "WHERE c.id = ? AND c.kind = 'client'", (user_id, client_id))

    def insert(self, kind: str, item_id: str, client_id: str, parent_id: str | None, doc: dict,
               secret: Any = None, hidden: bool = False) -> None:
        self._exec(
            "INSERT INTO items (id, kind, client_id, parent_id, hidden, doc, secret) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (item_id, kind, client_id, parent_id, int(hidden), json.dumps(doc),
             self.box.seal(secret, item_id) if secret is not None else None),
        )

    def update(self, item_id: str, doc: dict, secret: Any = None, hidden: bool | None = None) -> None:
        sets = ["doc = ?"]
        args: list[Any] = [json.dumps(doc)]
        if secret is not None:
            sets.append("secret = ?")
            args.append(self.box.seal(secret, item_id))
        if hidden is not None:
            sets.append("hidden = ?")
            args.append(int(hidden))
        self._exec(f"UPDATE items SET {', '.join(sets)} WHERE id = ?", (*args, item_id))

    def set_hidden(self, item_id: str, hidden: bool) -> None:
        self._exec("UPDATE items SET hidden = ? WHERE id = ?", (int(hidden), item_id))

    def delete(self, item_id: str) -> int:
        return self._exec("DELETE FROM items WHERE id = ?", (item_id,))

    def delete_children(self, parent_id: str) -> int:
        return self._exec("DELETE FROM items WHERE parent_id = ?", (parent_id,))

    def delete_client_contents(self, client_id: str) -> int:
        return self._exec("DELETE FROM items WHERE client_id = ? AND kind != 'client'", (client_id,))
