"""FastAPI dependencies: the server state and the logged-in user (`CurrentUser`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, status
from starlette.datastructures import Headers

from ragcode.accounts.protocol import User
from ragcode.server.state import ServerState

SESSION_COOKIE = "ragcode_session"
NOT_LOGGED_IN = "로그인이 필요합니다."


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


StateDep = Annotated[ServerState, Depends(get_state)]


def current_user(request: Request, state: StateDep) -> User:
    user = state.user_from_cookie(request.cookies.get(SESSION_COOKIE))
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=NOT_LOGGED_IN)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def same_origin(headers: Headers) -> bool:
    """No Origin (same-origin navigation, non-browser clients) or one naming our own host."""
    origin = headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == headers.get("host", "")
