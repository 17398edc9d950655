"""Credential secrets at rest: AES-256-GCM (the `cryptography` library) with a key file kept beside the database.

`emulator.db` gets `emulator.db.key` (32 random bytes, mode 0600, created once). Each secret is sealed with a fresh
96-bit nonce and bound to its item id (associated data), so a ciphertext copied to another row does not open.
A `:memory:` database gets a key that lives only as long as the process.
"""
from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rr_pulumi.api.errors import RequestRocketError

PREFIX = "aesgcm1:"   # marks a sealed value (a plaintext JSON secret of an older database starts with "{")
NONCE_BYTES = 12


class SecretKeyError(RequestRocketError):
    """The key file is missing, unreadable or not the key the secrets were sealed with."""


class SecretBox:
    def __init__(self, key: bytes):
        if len(key) != 32:
            raise SecretKeyError(f"the secret key must be 32 bytes (AES-256), got {len(key)}")
        self._aead = AESGCM(key)

    @classmethod
    def beside(cls, db_path: str, has_sealed_secrets: bool) -> "SecretBox":
        """The box for a database: its key file, created (0600) when the database holds no sealed secret yet."""
        if db_path == ":memory:":
            return cls(AESGCM.generate_key(bit_length=256))
        key_path = db_path + ".key"
        try:
            with open(key_path, "rb") as f:
                return cls(f.read())
        except FileNotFoundError:
            if has_sealed_secrets:
                raise SecretKeyError(f"{key_path} is missing: the credential secrets in {db_path} cannot be "
                                     f"read without it (restore the key file, or start with a new database)") from None
        return cls(create_key_file(key_path))

    @staticmethod
    def is_sealed(stored: str) -> bool:
        return stored.startswith(PREFIX)

    def seal(self, secret: Any, item_id: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, json.dumps(secret).encode(), item_id.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, stored: str, item_id: str) -> Any:
        if not self.is_sealed(stored):
            return json.loads(stored)   # a plaintext secret of an older database, until it is re-sealed
        raw = base64.b64decode(stored[len(PREFIX):])
        try:
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], item_id.encode())
        except InvalidTag:
            raise SecretKeyError(f"the secret of {item_id} does not open with this key file") from None
        return json.loads(plain)


def create_key_file(path: str) -> bytes:
    """32 random bytes in a new file readable by its owner only (written 0600, then linked into place at once)."""
    key = AESGCM.generate_key(bit_length=256)
    draft = f"{path}.{os.getpid()}.draft"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    try:
        os.link(draft, path)   # fails if another server process sharing the database made the key first
    except FileExistsError:
        with open(path, "rb") as f:
            key = f.read()
    finally:
        os.unlink(draft)
    return key
