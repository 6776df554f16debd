"""The accounts port: users with argon2 password hashes, and revocable login sessions."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ragcode.accounts.rules import AccountError

__all__ = [
    "AccountError",
    "AccountStore",
    "AccountsExport",
    "AccountsImport",
    "ExportedSession",
    "ExportedUser",
    "User",
    "UserRecord",
    "token_hash",
]


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    is_admin: bool = False


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A row of `ragcode user list`."""

    user: User
    created_at: datetime


def token_hash(token: str) -> str:
    """What a session is stored under: a leaked table does not hand out live sessions."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AccountStore(Protocol):
    def create(self, username: str, password: str, *, admin: bool = False) -> User:
        """A new account (AccountError if the name is taken or the password refused); the
        first account of the database is an admin whatever `admin` says."""
        ...

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password matches; as slow for an unknown name as for a known one."""
        ...

    def list_users(self) -> list[UserRecord]: ...

    def remove(self, username: str) -> int:
        """Delete the account and its sessions; the removed user's id (AccountError if none)."""
        ...

    def set_admin(self, username: str, is_admin: bool) -> User: ...

    def open_session(self, user: User, lifetime_s: float) -> str:
        """A new random session token (only its hash is stored)."""
        ...

    def session_user(self, token: str) -> User | None:
        """The user of a live session, or None once it expired or was closed."""
        ...

    def close_session(self, token: str) -> None: ...

    def close(self) -> None: ...


# --- moving accounts to another database (`ragcode migrate`) --------------------------------
@dataclass(frozen=True, slots=True)
class ExportedUser:
    """An account as stored: the argon2 hash travels as it is (the same password logs in),
    and so does the id, which history, uploads and owner scopes refer to."""

    id: int
    username: str
    password_hash: str
    is_admin: bool
    created_at: datetime  # UTC


@dataclass(frozen=True, slots=True)
class ExportedSession:
    """A login session under its token's hash (the token itself is never stored)."""

    token_hash: str
    user_id: int
    expires_at: datetime  # UTC


class AccountsExport(Protocol):
    def export_users(self) -> list[ExportedUser]:
        """Every account, by id."""
        ...

    def export_sessions(self) -> list[ExportedSession]:
        """Every stored session, expired ones included (callers choose)."""
        ...


class AccountsImport(AccountsExport, Protocol):
    def import_accounts(
        self, users: Sequence[ExportedUser], sessions: Sequence[ExportedSession]
    ) -> int:
        """Add the accounts and sessions that are not there yet, ids kept, in one
        transaction; new accounts made afterwards get ids above them. The rows added."""
        ...
