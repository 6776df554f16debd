"""The API key port: per-user keys for the OpenAI-compatible API, shown once, hashed at rest.

A key reads `rck_<id>_<secret>`: the id (12 hex digits) is public and names the key in lists,
revocation and rate limits; the secret is 256 random bits. Only the SHA-256 of the whole key
is stored: with that much entropy a fast hash is enough (nothing to guess from a leaked
table), and a look-up by id followed by a constant-time comparison leaks nothing by timing
(an unknown id is compared against a dummy hash, so it costs the same as a known one).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ragcode.accounts.protocol import User
from ragcode.accounts.rules import AccountError

PREFIX = "rck_"
ID_HEX = 12
MAX_NAME = 64
_HEX = frozenset("0123456789abcdef")


class ApiKeyError(AccountError):
    """A key refused (too many, bad label, unknown user); the message is for the user."""


class ApiKeyStoreError(ApiKeyError):
    """The key store itself failed (database locked, gone, constraint): not the request's
    fault, so the web API answers 503 and never shows the database's own message."""


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """A key as lists show it: never the key itself."""

    id: str
    user_id: int
    username: str
    name: str
    created_at: datetime  # UTC


@dataclass(frozen=True, slots=True)
class NewApiKey:
    info: ApiKeyInfo
    key: str  # the only time the whole key exists outside the client


def new_key() -> tuple[str, str]:
    """A fresh (id, key)."""
    key_id = secrets.token_hex(ID_HEX // 2)
    return key_id, f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def key_id(key: str) -> str | None:
    """The id a key carries, or None when it is not shaped like one of ours."""
    if not key.startswith(PREFIX) or len(key) > 200:
        return None
    rest = key[len(PREFIX) :]
    candidate, separator, secret = rest[:ID_HEX], rest[ID_HEX : ID_HEX + 1], rest[ID_HEX + 1 :]
    if separator != "_" or len(secret) < 32 or not set(candidate) <= _HEX:
        return None
    return candidate


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


# Compared when the id is unknown: hashing and comparing take the same time either way.
_DUMMY_HASH = key_hash(f"{PREFIX}{'0' * ID_HEX}_{'0' * 43}")


def hash_matches(stored: str | None, key: str) -> bool:
    """Whether `key` hashes to `stored`; None (no such id) hashes and compares all the same."""
    expected = _DUMMY_HASH if stored is None else stored
    same = hmac.compare_digest(expected.encode("ascii"), key_hash(key).encode("ascii"))
    return same and stored is not None


def check_name(raw: str) -> str:
    """The label as stored: trimmed, at most MAX_NAME characters, no control characters."""
    name = unicodedata.normalize("NFKC", raw).strip()
    if len(name) > MAX_NAME:
        raise ApiKeyError(f"키 이름은 {MAX_NAME}자 이하여야 합니다.")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ApiKeyError("키 이름에 제어 문자를 쓸 수 없습니다.")
    return name


def too_many(limit: int) -> ApiKeyError:
    return ApiKeyError(
        f"API 키는 사용자당 {limit}개까지 만들 수 있습니다. 쓰지 않는 키를 먼저 폐기해 주세요."
    )


NO_SUCH_USER = "사용자가 없습니다."
STORE_FAILED = "API 키 저장소 오류"  # prefixes ApiKeyStoreError messages (CLI, logs)


def check_room(user_found: bool, count: int, max_per_user: int) -> None:
    """Refuse a new key (ApiKeyError): no such user, or `max_per_user` keys already."""
    if not user_found:
        raise ApiKeyError(NO_SUCH_USER)
    if count >= max_per_user:
        raise too_many(max_per_user)


def key_user(row: Sequence[Any] | None, key: str) -> User | None:
    """The user of a key looked up by its id, as a row (user id, username, is_admin, key
    hash) or None (no such id); None as well when the secret is wrong. An unknown id is
    compared with a dummy hash: it takes as long as a wrong secret."""
    if not hash_matches(None if row is None else str(row[3]), key) or row is None:
        return None
    return User(int(row[0]), str(row[1]), bool(row[2]))


class ApiKeyStore(Protocol):
    def create(self, user_id: int, name: str, *, max_per_user: int) -> NewApiKey:
        """A new key of the user (ApiKeyError: no such user, or `max_per_user` already)."""
        ...

    def list_keys(self, user_id: int | None = None) -> list[ApiKeyInfo]:
        """The keys of one user, or of everyone (None), oldest first."""
        ...

    def revoke(self, key_id: str, user_id: int | None = None) -> bool:
        """Delete a key (only one of `user_id`'s when given); whether one was deleted."""
        ...

    def authenticate(self, key: str) -> User | None:
        """The key's user, or None: unknown, revoked, or its user removed."""
        ...

    def remove_user(self, user_id: int) -> int:
        """Delete every key of a removed user; how many."""
        ...

    def close(self) -> None: ...


# --- moving keys to another database (`ragcode migrate`) ------------------------------------
@dataclass(frozen=True, slots=True)
class ExportedApiKey:
    """A key row as stored: its hash travels (the same key keeps working), never the key.
    A revoked key is deleted, so every exported key is a live one."""

    id: str
    user_id: int
    name: str
    key_hash: str
    created_at: datetime  # UTC


class ApiKeysExport(Protocol):
    def export_keys(self) -> list[ExportedApiKey]:
        """Every key of an existing user, by creation time then id (left-over rows of a
        removed user are never exported: they could not log anybody in)."""
        ...


class ApiKeysImport(ApiKeysExport, Protocol):
    def import_keys(self, keys: Sequence[ExportedApiKey]) -> int:
        """Add the keys that are not there yet (by id), in one transaction; the rows added.
        Their users must be there already (accounts are copied first)."""
        ...
