"""Accounts and login sessions: argon2 password hashes, random session tokens (hashed at rest)."""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ragcode.history.sqlite import LockedDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    expires_at REAL NOT NULL
);
"""
USERNAME = re.compile(r"^[\w.-]{3,32}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256


class AccountError(ValueError):
    """Sign-up refused; the message is shown to the user as is."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts(LockedDatabase):
    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        super().__init__(path, _SCHEMA)
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))

    def create(self, username: str, password: str) -> User:
        if not USERNAME.match(username):
            raise AccountError(
                "사용자 이름은 3~32자의 글자, 숫자, '.', '_', '-' 만 쓸 수 있습니다."
            )
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise AccountError(f"비밀번호는 {MIN_PASSWORD}자 이상이어야 합니다.")
        hashed = self._hasher.hash(password)
        try:
            with self._guard() as conn:
                cursor = conn.execute(
                    "INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?)",
                    (username, hashed, time.time()),
                )
        except sqlite3.IntegrityError as exc:
            raise AccountError("이미 사용 중인 사용자 이름입니다.") from exc
        return User(int(cursor.lastrowid or 0), username)

    def authenticate(self, username: str, password: str) -> User | None:
        with self._guard() as conn:
            row = conn.execute(
                "SELECT id, username, password_hash FROM users WHERE username = ?", (username,)
            ).fetchone()
        stored = str(row[2]) if row else self._dummy_hash  # same cost for unknown names
        try:
            self._hasher.verify(stored, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return None
        return User(int(row[0]), str(row[1])) if row else None

    def open_session(self, user: User, lifetime_s: float) -> str:
        token = secrets.token_urlsafe(32)
        with self._guard() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_at < ?", (time.time(),))
            conn.execute(
                "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?, ?, ?)",
                (_token_hash(token), user.id, time.time() + lifetime_s),
            )
        return token

    def session_user(self, token: str) -> User | None:
        with self._guard() as conn:
            row = conn.execute(
                "SELECT u.id, u.username FROM sessions s JOIN users u ON u.id = s.user_id"
                " WHERE s.token_hash = ? AND s.expires_at > ?",
                (_token_hash(token), time.time()),
            ).fetchone()
        return User(int(row[0]), str(row[1])) if row else None

    def close_session(self, token: str) -> None:
        with self._guard() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))
