"""Sign-up, login (rate-limited), logout: JSON in, a signed HttpOnly session cookie out."""

from __future__ import annotations

import math

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ragcode.server.accounts import AccountError, User
from ragcode.server.deps import SESSION_COOKIE, CurrentUser, StateDep
from ragcode.server.state import ServerState

router = APIRouter(prefix="/api", tags=["auth"])
BAD_LOGIN = "사용자 이름이나 비밀번호가 틀렸습니다."


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    username: str


def _start_session(state: ServerState, user: User, response: Response) -> Me:
    server = state.core.settings.server
    lifetime = server.session_days * 86400
    token = state.accounts.open_session(user, lifetime)
    response.set_cookie(
        SESSION_COOKIE, state.session_cookie(token), max_age=lifetime, httponly=True,
        samesite="strict", secure=server.cookie_secure, path="/",
    )  # fmt: skip
    return Me(username=user.username)


@router.post("/signup", status_code=status.HTTP_201_CREATED)
async def signup(body: Credentials, response: Response, state: StateDep) -> Me:
    try:
        user = await run_in_threadpool(state.accounts.create, body.username, body.password)
    except AccountError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc
    return await run_in_threadpool(_start_session, state, user, response)


@router.post("/login")
async def login(body: Credentials, request: Request, response: Response, state: StateDep) -> Me:
    user_key = f"user:{body.username.lower()}"
    client_key = f"client:{request.client.host if request.client else '-'}"
    wait = state.limiter.retry_after(user_key, client_key)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"로그인 시도가 너무 많습니다. {math.ceil(wait)}초 뒤에 다시 시도해 주세요.",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    user = await run_in_threadpool(state.accounts.authenticate, body.username, body.password)
    if user is None:
        state.limiter.failed(user_key, client_key)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=BAD_LOGIN)
    state.limiter.succeeded(user_key)
    return await run_in_threadpool(_start_session, state, user, response)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, response: Response, state: StateDep) -> None:
    token = state.session_token(request.cookies.get(SESSION_COOKIE))
    if token:
        await run_in_threadpool(state.accounts.close_session, token)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


@router.get("/me")
async def me(user: CurrentUser) -> Me:
    return Me(username=user.username)
