"""Sign-up, login (rate-limited), logout: JSON in, a signed HttpOnly session cookie out."""

from __future__ import annotations

import math

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ragcode.accounts.protocol import AccountError, User
from ragcode.accounts.rules import check_password, check_username, normalize_username
from ragcode.server.deps import SESSION_COOKIE, CurrentUser, StateDep
from ragcode.server.state import ServerState

router = APIRouter(prefix="/api", tags=["auth"])
BAD_LOGIN = "사용자 이름이나 비밀번호가 틀렸습니다."
SIGNUP_CLOSED = (
    "이 서버는 회원 가입을 받지 않습니다. 관리자에게 계정을 만들어 달라고 요청해 주세요 "
    "(관리자: ragcode user add)."
)


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    username: str
    is_admin: bool


def _me(user: User) -> Me:
    return Me(username=user.username, is_admin=user.is_admin)


def _client(request: Request) -> str:
    # The socket's peer, or what a configured proxy said (server.trusted_proxies, run.py).
    return request.client.host if request.client else "-"


def _too_many(wait: float, what: str) -> HTTPException:
    seconds = math.ceil(wait)
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail=f"{what} 시도가 너무 많습니다. {seconds}초 뒤에 다시 시도해 주세요.",
        headers={"Retry-After": str(seconds)},
    )


def _start_session(state: ServerState, user: User, response: Response) -> Me:
    server = state.core.settings.server
    lifetime = server.session_days * 86400
    token = state.accounts.open_session(user, lifetime)
    response.set_cookie(
        SESSION_COOKIE, state.session_cookie(token), max_age=lifetime, httponly=True,
        samesite="strict", secure=server.cookie_secure, path="/",
    )  # fmt: skip
    return _me(user)


@router.post("/signup", status_code=status.HTTP_201_CREATED)
async def signup(body: Credentials, request: Request, response: Response, state: StateDep) -> Me:
    if not state.core.settings.server.open_signup:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=SIGNUP_CLOSED)
    limits = state.limiter
    try:  # cheap checks first: a typo in the form does not use up the client's sign-ups
        check_password(body.password, check_username(body.username))
    except AccountError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc
    wait = await run_in_threadpool(limits.signup.reserve, limits.signup_keys(_client(request)))
    if wait > 0:
        raise _too_many(wait, "회원 가입")
    try:
        async with limits.hashing:
            user = await run_in_threadpool(state.accounts.create, body.username, body.password)
    except AccountError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc
    return await run_in_threadpool(_start_session, state, user, response)


@router.post("/login")
async def login(body: Credentials, request: Request, response: Response, state: StateDep) -> Me:
    limits = state.limiter
    keys = limits.login_keys(normalize_username(body.username).lower(), _client(request))
    # Counted before the password is checked, atomically with the limit check: parallel
    # attempts cannot all pass the check while the first ones are still hashing. Off the
    # event loop: a database counter (replicas) waits for the database.
    wait = await run_in_threadpool(limits.login.reserve, keys)
    if wait > 0:
        raise _too_many(wait, "로그인")
    async with limits.hashing:
        user = await run_in_threadpool(state.accounts.authenticate, body.username, body.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=BAD_LOGIN)
    await run_in_threadpool(limits.login.release, keys)
    return await run_in_threadpool(_start_session, state, user, response)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, response: Response, state: StateDep) -> None:
    token = state.session_token(request.cookies.get(SESSION_COOKIE))
    if token:
        await run_in_threadpool(state.accounts.close_session, token)
        state.hub.revoke_session(token)  # open sockets of it, on every replica: 4401 now
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


@router.get("/me")
async def me(user: CurrentUser) -> Me:
    return _me(user)
