"""Accounts and login sessions in the embedded SQLite file (argon2 hashes, hashed tokens)."""

from __future__ import annotations

import secrets
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

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
from ragcode.db.sqlite import LockedDatabase, immediate

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    expires_at REAL NOT NULL
);
"""


def _user(row: tuple[object, ...]) -> User:
    return User(int(str(row[0])), str(row[1]), bool(row[2]))


def _no_such_user(username: str) -> AccountError:
    return AccountError(f"'{username}' 사용자가 없습니다.")


class SqliteAccounts(LockedDatabase):
    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        super().__init__(path, _SCHEMA)
        self._passwords = Passwords(hasher)
        self._add_admin_column()

    def _add_admin_column(self) -> None:
        """Databases from before the admin role: add the column; the oldest account is the
        admin. Checked again inside the transaction: the CLI and the server may both open it."""
        with self._guard() as conn, immediate(conn):
            columns = {str(row[1]) for row in conn.execute("PRAGMA table_info(users)")}
            if "is_admin" in columns:
                return
            conn.execute("ALTER TABLE users ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0")
            conn.execute("UPDATE users SET is_admin = 1 WHERE id = (SELECT MIN(id) FROM users)")

    def create(self, username: str, password: str, *, admin: bool = False) -> User:
        """A new account; the first one of the database is an admin whatever `admin` says."""
        name, hashed = self._passwords.new_account(username, password)
        try:
            with self._guard() as conn:
                # One statement: two first sign-ups at once cannot both become the admin.
                cursor = conn.execute(
                    "INSERT INTO users (username, password_hash, created_at, is_admin)"
                    " SELECT ?, ?, ?, ? OR NOT EXISTS (SELECT 1 FROM users)",
                    (name, hashed, time.time(), admin),
                )
                row = conn.execute(
                    "SELECT id, username, is_admin FROM users WHERE id = ?", (cursor.lastrowid,)
                ).fetchone()
        except sqlite3.IntegrityError as exc:
            raise AccountError("이미 사용 중인 사용자 이름입니다.") from exc
        return _user(row)

    def authenticate(self, username: str, password: str) -> User | None:
        with self._guard() as conn:
            row = conn.execute(
                "SELECT id, username, is_admin, password_hash FROM users WHERE username = ?",
                (normalize_username(username),),
            ).fetchone()
        if not self._passwords.matches(str(row[3]) if row else None, password):
            return None
        return _user(row)

    def list_users(self) -> list[UserRecord]:
        with self._guard() as conn:
            rows = conn.execute(
                "SELECT id, username, is_admin, created_at FROM users ORDER BY id"
            ).fetchall()
        return [UserRecord(_user(row), datetime.fromtimestamp(row[3], UTC)) for row in rows]

    def remove(self, username: str) -> int:
        """Delete the account and its sessions; the removed user's id (AccountError if none)."""
        with self._guard() as conn, immediate(conn):
            row = conn.execute(
                "SELECT id FROM users WHERE username = ?", (normalize_username(username),)
            ).fetchone()
            if row is None:
                raise _no_such_user(username)
            user_id = int(row[0])
            conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
        return user_id

    def set_admin(self, username: str, is_admin: bool) -> User:
        with self._guard() as conn:
            conn.execute(
                "UPDATE users SET is_admin = ? WHERE username = ?",
                (is_admin, normalize_username(username)),
            )
            row = conn.execute(
                "SELECT id, username, is_admin FROM users WHERE username = ?",
                (normalize_username(username),),
            ).fetchone()
        if row is None:
            raise _no_such_user(username)
        return _user(row)

    def open_session(self, user: User, lifetime_s: float) -> str:
        token = secrets.token_urlsafe(32)
        with self._guard() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_at < ?", (time.time(),))
            conn.execute(
                "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?, ?, ?)",
                (token_hash(token), user.id, time.time() + lifetime_s),
            )
        return token

    def session_user(self, token: str) -> User | None:
        with self._guard() as conn:
            row = conn.execute(
                "SELECT u.id, u.username, u.is_admin FROM sessions s"
                " JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_at > ?",
                (token_hash(token), time.time()),
            ).fetchone()
        return _user(row) if row else None

    def close_session(self, token: str) -> None:
        with self._guard() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash(token),))

    # --- export (`ragcode migrate`) ---------------------------------------------------
    def export_users(self) -> list[ExportedUser]:
        with self._guard() as conn:
            rows = conn.execute(
                "SELECT id, username, password_hash, is_admin, created_at FROM users ORDER BY id"
            ).fetchall()
        return [ExportedUser(int(r[0]), str(r[1]), str(r[2]), bool(r[3]), _utc(r[4])) for r in rows]

    def export_sessions(self) -> list[ExportedSession]:
        with self._guard() as conn:
            rows = conn.execute(
                "SELECT token_hash, user_id, expires_at FROM sessions ORDER BY token_hash"
            ).fetchall()
        return [ExportedSession(str(r[0]), int(r[1]), _utc(r[2])) for r in rows]


def _utc(seconds: object) -> datetime:
    """A stored time.time() as `list_users` shows it."""
    return datetime.fromtimestamp(float(str(seconds)), UTC)
