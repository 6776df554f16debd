"""`Authorization: Bearer <API key>` -> the key's user, then the user's rate limit.

A dependency taking no body: FastAPI solves it before the endpoint reads a byte of the
request body, so an unauthenticated or throttled client costs one header look-up. Only the
Bearer header is read, never the web session cookie: a browser cannot be made to send a key
by another site, which is why `/v1` needs no Origin check.

1. The key's shape, on the event loop: a string that cannot be one of our keys costs no
   thread and no database call.
2. A failed attempt of the client address is reserved before the key is looked up (as a
   login is: parallel guesses cannot all pass the check while the first ones are looked up)
   and given back when the key is good. Counted in the login counter under keys of their own
   (`server.login_client_max_failures` per `server.login_window_s`), so failed key attempts
   and failed logins never lock each other out.
3. The key is looked up in the database on every request: a revoked key or a removed user
   fails at once, on every replica.
4. The request is counted on the key and on its user in one atomic reservation (all or
   none): making more keys does not make more requests (`api.requests_per_window`).

All of it runs in one hop to Starlette's thread pool, the one every route of the web app uses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from ragcode.accounts.apikeys import key_id
from ragcode.accounts.protocol import User
from ragcode.server.deps import StateDep
from ragcode.server.openai_api.errors import (
    invalid_key,
    key_check_failed,
    missing_key,
    rate_limited,
    too_many_failures,
)
from ragcode.server.state import ServerState

log = logging.getLogger(__name__)


def bearer_key(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    key = value.strip()
    return key if scheme.lower() == "bearer" and key else None


def client_address(request: Request) -> str:
    # The socket's peer, or what a configured proxy said (server.trusted_proxies, run.py).
    return request.client.host if request.client else "-"


def failure_keys(state: ServerState, client: str) -> dict[str, int]:
    """The counter of failed key attempts of one client address (in the login counter)."""
    return {f"apikey-client:{client}": state.core.settings.server.login_client_max_failures}


def request_keys(state: ServerState, key_id: str, user_id: int) -> dict[str, int]:
    """One request counts on its key and on its user: every key of a user shares the limit."""
    limit = state.core.settings.api.requests_per_window
    return {f"key:{key_id}": limit, f"user:{user_id}": limit}


@dataclass(frozen=True, slots=True)
class KeyCheck:
    user: User | None  # None: no such key (counted as a failure of the client)
    failures_wait: float = 0.0  # > 0: the client failed too often, nothing was looked up
    requests_wait: float = 0.0  # > 0: the user is over the rate limit, nothing was counted


def check_key(state: ServerState, key: str, wanted: str, client: str) -> KeyCheck:
    """Steps 2-4 (blocking: the counters and the key store may be a database)."""
    stores, failures = state.stores, state.limiter.login
    attempt = failure_keys(state, client)
    wait = failures.reserve(attempt)
    if wait > 0:
        return KeyCheck(None, failures_wait=wait)
    user = stores.api_keys.authenticate(key)
    if user is None:
        return KeyCheck(None)  # the reserved failure stays counted
    failures.release(attempt)
    wait = stores.api_requests.reserve(request_keys(state, wanted, user.id))
    return KeyCheck(user, requests_wait=wait)


async def api_user(request: Request, state: StateDep) -> User:
    key = bearer_key(request)
    if key is None:
        raise missing_key()
    wanted = key_id(key)
    if wanted is None:  # not shaped like a key: refused here, on the loop
        raise invalid_key()
    client = client_address(request)
    try:
        checked = await run_in_threadpool(check_key, state, key, wanted, client)
    except Exception as exc:
        log.warning("api key check failed error=%s", exc)
        raise key_check_failed() from exc
    if checked.failures_wait > 0:
        log.info("api key attempts limited client=%s", client)
        raise too_many_failures(checked.failures_wait)
    if checked.user is None:
        log.info("api key refused id=%s client=%s", wanted, client)
        raise invalid_key()
    if checked.requests_wait > 0:
        api = state.core.settings.api
        log.info("api rate limited user=%s", checked.user.id)
        raise rate_limited(checked.requests_wait, api.requests_per_window, api.window_s)
    return checked.user


ApiUser = Annotated[User, Depends(api_user)]
