"""Accounts and login sessions on PostgreSQL, shared by every server replica (argon2 hashes,
hashed tokens; the same behaviour as `accounts.sqlite`). Database failures are `StoreError`s;
`AccountError` stays for refusals a user can act on."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC

from argon2 import PasswordHasher

from ragcode.accounts.passwords import Passwords
from ragcode.accounts.protocol import (
    AccountError,
    ExportedSession,
    ExportedUser,
    User,
    UserRecord,
    token_hash,
)
from ragcode.accounts.rules import normalize_username
from ragcode.db.pg import PgDatabase, continue_identity, pg_text
from ragcode.db.pg_migrations import Component, Migration
from ragcode.store.pg_pool import Connection

# Names are unique without regard to case, as SQLite's COLLATE NOCASE: the index is on
# lower(name), and every lookup compares lower() so that it uses it. Sessions go with their
# user (ON DELETE CASCADE); the expiry index keeps pruning cheap.
SCHEMA = Component("accounts", (
    Migration(1, "users and sessions", """
CREATE TABLE account_users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL,
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    is_admin boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX account_users_name ON account_users (lower(username));
CREATE TABLE account_sessions (
    token_hash text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES account_users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL
);
CREATE INDEX account_sessions_user ON account_sessions (user_id);
CREATE INDEX account_sessions_expiry ON account_sessions (expires_at);
"""),
))  # fmt: skip
# Serialises account creation: under READ COMMITTED two first sign-ups would both see an
# empty table, even in one statement (SQLite has a single writer; PostgreSQL does not).
_CREATE_LOCK = "ragcode.accounts.create"
_BY_NAME = "lower(username) = lower(%s)"


def _lookup(username: str) -> str:
    """The name as stored; a name PostgreSQL cannot hold matches nobody instead of failing."""
    return pg_text(normalize_username(username))


def _user(row: tuple[object, ...]) -> User:
    return User(int(str(row[0])), str(row[1]), bool(row[2]))


def _no_such_user(username: str) -> AccountError:
    return AccountError(f"'{username}' 사용자가 없습니다.")


class PostgresAccounts:
    def __init__(self, url: str, hasher: PasswordHasher | None = None) -> None:
        self._passwords = Passwords(hasher)
        self._db = PgDatabase(url, SCHEMA)

    def create(self, username: str, password: str, *, admin: bool = False) -> User:
        """A new account; the first one of the database is an admin whatever `admin` says."""
        name, hashed = self._passwords.new_account(username, password)

        def insert(conn: Connection) -> tuple[object, ...] | None:
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (_CREATE_LOCK,))
            return conn.execute(
                "INSERT INTO account_users (username, password_hash, is_admin)"
                " SELECT %s, %s, %s OR NOT EXISTS (SELECT 1 FROM account_users)"
                " ON CONFLICT ((lower(username))) DO NOTHING RETURNING id, username, is_admin",
                (name, hashed, admin),
            ).fetchone()

        row = self._db.write("계정 만들기", insert)
        if row is None:
            raise AccountError("이미 사용 중인 사용자 이름입니다.")
        return _user(row)

    def authenticate(self, username: str, password: str) -> User | None:
        rows = self._db.read("로그인", lambda conn: conn.execute(
            f"SELECT id, username, is_admin, password_hash FROM account_users WHERE {_BY_NAME}",
            (_lookup(username),),
        ).fetchall())  # fmt: skip
        row = rows[0] if rows else None
        if not self._passwords.matches(str(row[3]) if row else None, password):
            return None
        return _user(row) if row else None

    def list_users(self) -> list[UserRecord]:
        rows = self._db.read("사용자 목록", lambda conn: conn.execute(
            "SELECT id, username, is_admin, created_at FROM account_users ORDER BY id"
        ).fetchall())  # fmt: skip
        return [UserRecord(_user(row), row[3].astimezone(UTC)) for row in rows]

    def remove(self, username: str) -> int:
        """Delete the account and (by the foreign key) its sessions; the removed user's id."""
        rows = self._db.write("계정 삭제", lambda conn: conn.execute(
            f"DELETE FROM account_users WHERE {_BY_NAME} RETURNING id",
            (_lookup(username),),
        ).fetchall())  # fmt: skip
        if not rows:
            raise _no_such_user(username)
        return int(rows[0][0])

    def set_admin(self, username: str, is_admin: bool) -> User:
        rows = self._db.write("관리자 권한 변경", lambda conn: conn.execute(
            f"UPDATE account_users SET is_admin = %s WHERE {_BY_NAME}"
            " RETURNING id, username, is_admin",
            (is_admin, _lookup(username)),
        ).fetchall())  # fmt: skip
        if not rows:
            raise _no_such_user(username)
        return _user(rows[0])

    def open_session(self, user: User, lifetime_s: float) -> str:
        token = secrets.token_urlsafe(32)

        def insert(conn: Connection) -> None:
            # Expiry by the database clock, which every replica shares.
            conn.execute("DELETE FROM account_sessions WHERE expires_at < now()")
            conn.execute(
                "INSERT INTO account_sessions (token_hash, user_id, expires_at)"
                " VALUES (%s, %s, now() + make_interval(secs => %s))",
                (token_hash(token), user.id, float(lifetime_s)),
            )

        self._db.write("로그인 세션 만들기", insert)
        return token

    def session_user(self, token: str) -> User | None:
        rows = self._db.read("로그인 세션 확인", lambda conn: conn.execute(
            "SELECT u.id, u.username, u.is_admin FROM account_sessions s"
            " JOIN account_users u ON u.id = s.user_id"
            " WHERE s.token_hash = %s AND s.expires_at > now()",
            (token_hash(token),),
        ).fetchall())  # fmt: skip
        return _user(rows[0]) if rows else None

    def close_session(self, token: str) -> None:
        self._db.write("로그아웃", lambda conn: conn.execute(
            "DELETE FROM account_sessions WHERE token_hash = %s", (token_hash(token),)
        ))  # fmt: skip

    # --- moving accounts between databases (`ragcode migrate`) ---------------------------
    def export_users(self) -> list[ExportedUser]:
        rows = self._db.read("사용자 목록", lambda conn: conn.execute(
            "SELECT id, username, password_hash, is_admin, created_at FROM account_users"
            " ORDER BY id"
        ).fetchall())  # fmt: skip
        return [
            ExportedUser(int(r[0]), str(r[1]), str(r[2]), bool(r[3]), r[4].astimezone(UTC))
            for r in rows
        ]

    def export_sessions(self) -> list[ExportedSession]:
        rows = self._db.read("로그인 세션 목록", lambda conn: conn.execute(
            "SELECT token_hash, user_id, expires_at FROM account_sessions ORDER BY token_hash"
        ).fetchall())  # fmt: skip
        return [ExportedSession(str(r[0]), int(r[1]), r[2].astimezone(UTC)) for r in rows]

    def import_accounts(
        self, users: Sequence[ExportedUser], sessions: Sequence[ExportedSession]
    ) -> int:
        user_rows = [(u.id, u.username, u.password_hash, u.is_admin, u.created_at) for u in users]
        session_rows = [(s.token_hash, s.user_id, s.expires_at) for s in sessions]

        def insert(conn: Connection) -> int:
            # No sign-up may take one of the copied ids meanwhile.
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (_CREATE_LOCK,))
            with conn.cursor() as cursor:
                cursor.executemany(_IMPORT_USER, user_rows)
                added = max(cursor.rowcount, 0)
                cursor.executemany(_IMPORT_SESSION, session_rows)
                added += max(cursor.rowcount, 0)
            continue_identity(conn, "account_users")
            return added

        return self._db.write("계정 가져오기", insert)

    def close(self) -> None:
        self._db.close()


# Rows already there (a copy run again) are kept as they are.
_IMPORT_USER = (
    "INSERT INTO account_users (id, username, password_hash, is_admin, created_at)"
    " OVERRIDING SYSTEM VALUE VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)
_IMPORT_SESSION = (
    "INSERT INTO account_sessions (token_hash, user_id, expires_at) VALUES (%s, %s, %s)"
    " ON CONFLICT DO NOTHING"
)
