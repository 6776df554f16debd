"""Password hashing shared by the account adapters: argon2, and the same cost for a user name
that does not exist (so response times do not tell which names do)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ragcode.accounts.rules import MAX_PASSWORD, check_password, check_username


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))

    def new_account(self, username: str, password: str) -> tuple[str, str]:
        """The checked user name and the hash of the checked password (AccountError)."""
        name = check_username(username)
        check_password(password, name)
        return name, self._hasher.hash(password)

    def matches(self, stored_hash: str | None, password: str) -> bool:
        """Whether `password` matches; None (no such user) costs one verification too."""
        try:
            self._hasher.verify(stored_hash or self._dummy_hash, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return False
        return stored_hash is not None
