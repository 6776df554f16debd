"""API keys in the embedded SQLite file, next to the accounts (`users`) they belong to.

Opened after `SqliteAccounts` on the same file: look-ups join `users`, so a key of a removed
user fails at once, even before its rows are cleaned up. User ids are AUTOINCREMENT, never
reused, so a left-over key can never come to mean a newer account. Every SQLite failure
(locked, full disk, a constraint) comes out as `ApiKeyStoreError`, never as sqlite3's own.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from ragcode.accounts.apikeys import (
    STORE_FAILED,
    ApiKeyInfo,
    ApiKeyStoreError,
    ExportedApiKey,
    NewApiKey,
    check_name,
    check_room,
    key_hash,
    key_id,
    key_user,
    new_key,
)
from ragcode.accounts.protocol import User
from ragcode.db.sqlite import LockedDatabase, immediate

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS api_keys_user ON api_keys (user_id);
"""
_INFO = (
    "SELECT k.id, k.user_id, u.username, k.name, k.created_at FROM api_keys k"
    " JOIN users u ON u.id = k.user_id"
)


def _info(row: tuple[object, ...]) -> ApiKeyInfo:
    created = datetime.fromtimestamp(float(str(row[4])), UTC)
    return ApiKeyInfo(str(row[0]), int(str(row[1])), str(row[2]), str(row[3]), created)


class SqliteApiKeys(LockedDatabase):
    error = ApiKeyStoreError
    failure = STORE_FAILED

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    def create(self, user_id: int, name: str, *, max_per_user: int) -> NewApiKey:
        label = check_name(name)
        new_id, key = new_key()
        # One write transaction: two creations at once cannot both pass the count.
        with self._guard() as conn, immediate(conn):
            found = conn.execute("SELECT 1 FROM users WHERE id = ?", (user_id,)).fetchone()
            count = conn.execute("SELECT count(*) FROM api_keys WHERE user_id = ?", (user_id,))
            check_room(found is not None, int(count.fetchone()[0]), max_per_user)
            conn.execute(
                "INSERT INTO api_keys (id, user_id, name, key_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (new_id, user_id, label, key_hash(key), time.time()),
            )
            row = conn.execute(f"{_INFO} WHERE k.id = ?", (new_id,)).fetchone()
        return NewApiKey(_info(row), key)

    def list_keys(self, user_id: int | None = None) -> list[ApiKeyInfo]:
        with self._guard() as conn:
            if user_id is None:
                rows = conn.execute(f"{_INFO} ORDER BY k.created_at, k.id").fetchall()
            else:
                rows = conn.execute(
                    f"{_INFO} WHERE k.user_id = ? ORDER BY k.created_at, k.id", (user_id,)
                ).fetchall()
        return [_info(row) for row in rows]

    def revoke(self, key_id: str, user_id: int | None = None) -> bool:
        with self._guard() as conn:
            if user_id is None:
                cursor = conn.execute("DELETE FROM api_keys WHERE id = ?", (key_id,))
            else:
                cursor = conn.execute(
                    "DELETE FROM api_keys WHERE id = ? AND user_id = ?", (key_id, user_id)
                )
        return cursor.rowcount > 0

    def authenticate(self, key: str) -> User | None:
        wanted = key_id(key)
        if wanted is None:
            return None
        with self._guard() as conn:
            row = conn.execute(
                "SELECT u.id, u.username, u.is_admin, k.key_hash FROM api_keys k"
                " JOIN users u ON u.id = k.user_id WHERE k.id = ?",
                (wanted,),
            ).fetchone()
        return key_user(row, key)

    def remove_user(self, user_id: int) -> int:
        with self._guard() as conn:
            cursor = conn.execute("DELETE FROM api_keys WHERE user_id = ?", (user_id,))
        return max(cursor.rowcount, 0)

    # --- export (`ragcode migrate`) ---------------------------------------------------
    def export_keys(self) -> list[ExportedApiKey]:
        with self._guard() as conn:
            rows = conn.execute(
                "SELECT k.id, k.user_id, k.name, k.key_hash, k.created_at FROM api_keys k"
                " JOIN users u ON u.id = k.user_id ORDER BY k.created_at, k.id"
            ).fetchall()
        return [
            ExportedApiKey(
                str(r[0]), int(r[1]), str(r[2]), str(r[3]),
                datetime.fromtimestamp(float(r[4]), UTC),
            )
            for r in rows
        ]  # fmt: skip
