"""API keys on PostgreSQL, shared by every server replica (the same behaviour as
`accounts.apikeys_sqlite`). Keys go with their user (ON DELETE CASCADE): removing an account
on any replica stops its keys on all of them at the next request. Database failures come out
as `ApiKeyStoreError`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from ragcode.accounts.apikeys import (
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
from ragcode.db.pg import PgDatabase, pg_text
from ragcode.db.pg_migrations import Component, Migration
from ragcode.store.pg_pool import Connection

# After "accounts" (the foreign key): `known_components` applies them in that order.
SCHEMA = Component("apikeys", (
    Migration(1, "api keys", """
CREATE TABLE api_keys (
    id text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES account_users (id) ON DELETE CASCADE,
    name text NOT NULL,
    key_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user ON api_keys (user_id);
"""),
))  # fmt: skip
_INFO = (
    "SELECT k.id, k.user_id, u.username, k.name, k.created_at FROM api_keys k"
    " JOIN account_users u ON u.id = k.user_id"
)
# Serialises the creations of one user's keys: under READ COMMITTED two at once would both
# pass the count.
_CREATE_LOCK = "ragcode.apikeys.create"


def _info(row: Sequence[Any]) -> ApiKeyInfo:
    return ApiKeyInfo(str(row[0]), int(row[1]), str(row[2]), str(row[3]), row[4].astimezone(UTC))


class PostgresApiKeys:
    def __init__(self, url: str) -> None:
        self._db = PgDatabase(url, SCHEMA, ApiKeyStoreError)

    def create(self, user_id: int, name: str, *, max_per_user: int) -> NewApiKey:
        label = pg_text(check_name(name))
        new_id, key = new_key()

        def insert(conn: Connection) -> Sequence[Any]:
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, %s))", (_CREATE_LOCK, user_id)
            )
            found = conn.execute("SELECT 1 FROM account_users WHERE id = %s", (user_id,))
            user_found = found.fetchone() is not None
            count = conn.execute("SELECT count(*) FROM api_keys WHERE user_id = %s", (user_id,))
            check_room(user_found, int(count.fetchall()[0][0]), max_per_user)
            conn.execute(
                "INSERT INTO api_keys (id, user_id, name, key_hash) VALUES (%s, %s, %s, %s)",
                (new_id, user_id, label, key_hash(key)),
            )
            return conn.execute(f"{_INFO} WHERE k.id = %s", (new_id,)).fetchall()[0]

        return NewApiKey(_info(self._db.write("API 키 만들기", insert)), key)

    def list_keys(self, user_id: int | None = None) -> list[ApiKeyInfo]:
        def select(conn: Connection) -> list[tuple[Any, ...]]:
            if user_id is None:
                return conn.execute(f"{_INFO} ORDER BY k.created_at, k.id").fetchall()
            return conn.execute(
                f"{_INFO} WHERE k.user_id = %s ORDER BY k.created_at, k.id", (user_id,)
            ).fetchall()

        return [_info(row) for row in self._db.read("API 키 목록", select)]

    def revoke(self, key_id: str, user_id: int | None = None) -> bool:
        def delete(conn: Connection) -> int:
            if user_id is None:
                cursor = conn.execute("DELETE FROM api_keys WHERE id = %s", (pg_text(key_id),))
            else:
                cursor = conn.execute(
                    "DELETE FROM api_keys WHERE id = %s AND user_id = %s",
                    (pg_text(key_id), user_id),
                )
            return cursor.rowcount

        return self._db.write("API 키 폐기", delete) > 0

    def authenticate(self, key: str) -> User | None:
        wanted = key_id(key)
        if wanted is None:
            return None
        rows = self._db.read("API 키 확인", lambda conn: conn.execute(
            "SELECT u.id, u.username, u.is_admin, k.key_hash FROM api_keys k"
            " JOIN account_users u ON u.id = k.user_id WHERE k.id = %s",
            (wanted,),
        ).fetchall())  # fmt: skip
        return key_user(rows[0] if rows else None, key)

    def remove_user(self, user_id: int) -> int:
        """Nothing is usually left: the foreign key removed them with the account."""
        return self._db.write("API 키 삭제", lambda conn: conn.execute(
            "DELETE FROM api_keys WHERE user_id = %s", (user_id,)
        ).rowcount)  # fmt: skip

    # --- moving keys between databases (`ragcode migrate`) -------------------------------
    def export_keys(self) -> list[ExportedApiKey]:
        rows = self._db.read("API 키 목록", lambda conn: conn.execute(
            "SELECT id, user_id, name, key_hash, created_at FROM api_keys"
            " ORDER BY created_at, id"
        ).fetchall())  # fmt: skip
        return [
            ExportedApiKey(str(r[0]), int(r[1]), str(r[2]), str(r[3]), r[4].astimezone(UTC))
            for r in rows
        ]

    def import_keys(self, keys: Sequence[ExportedApiKey]) -> int:
        rows = [
            (pg_text(k.id), k.user_id, pg_text(k.name), pg_text(k.key_hash), k.created_at)
            for k in keys
        ]

        def insert(conn: Connection) -> int:
            with conn.cursor() as cursor:
                cursor.executemany(_IMPORT_KEY, rows)
                return max(cursor.rowcount, 0)

        return self._db.write("API 키 가져오기", insert) if rows else 0

    def close(self) -> None:
        self._db.close()


# A key already there (a copy run again) is kept as it is.
_IMPORT_KEY = (
    "INSERT INTO api_keys (id, user_id, name, key_hash, created_at)"
    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
)
