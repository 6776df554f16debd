"""Limits of the account routes: attempts per key (counted by the configured `AttemptCounter`,
shared by every replica when the database counts them) and password hashes in flight."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ragcode.config import ServerSettings
from ragcode.limits.protocol import AttemptCounter


@dataclass(frozen=True, slots=True)
class AuthLimits:
    """The limits of the account routes, built once per server."""

    settings: ServerSettings
    login: AttemptCounter
    signup: AttemptCounter
    # Held around every argon2 hash or verification (login and sign-up alike): 40 parallel
    # sign-ups once took the server from 218 MB to 2.5 GB. An asyncio semaphore, so that the
    # queue waits without holding worker threads; it belongs to the server's one event loop.
    # Per process: memory is what it protects.
    hashing: asyncio.Semaphore

    @classmethod
    def create(
        cls, settings: ServerSettings, login: AttemptCounter, signup: AttemptCounter
    ) -> AuthLimits:
        return cls(settings, login, signup, asyncio.Semaphore(settings.max_password_hashes))

    def login_keys(self, username_key: str, client: str) -> dict[str, int]:
        """Per (user, client): a user is not locked out by someone else's failures; per user
        over all clients and per client over all users: slower guessing either way."""
        s = self.settings
        return {
            f"pair:{username_key}\n{client}": s.login_max_failures,
            f"user:{username_key}": s.login_user_max_failures,
            f"client:{client}": s.login_client_max_failures,
        }

    def signup_keys(self, client: str) -> dict[str, int]:
        return {f"client:{client}": self.settings.signup_max_per_client}
