"""The user's own chat history: a page of turns (newest last), of one conversation or of
all of them, or delete all of it (every conversation)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ragcode.history.protocol import HistoryStore
from ragcode.server.deps import CurrentUser, StateDep

router = APIRouter(prefix="/api", tags=["history"])
# Turn ids are SQLite integers: a larger cursor cannot be bound (it was a 500, not a 422).
MAX_TURN_ID = 2**63 - 1
CONVERSATION_NOT_FOUND = "대화를 찾을 수 없습니다."


def get_history(state: StateDep) -> HistoryStore:
    return state.history


HistoryDep = Annotated[HistoryStore, Depends(get_history)]


class HistoryPage(BaseModel):
    turns: list[dict[str, Any]]
    next_before: int | None  # pass as `before` for the previous page; None: no more


class Deleted(BaseModel):
    deleted: int


@router.get("/history")
async def history(
    user: CurrentUser,
    store: HistoryDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, le=MAX_TURN_ID)] = None,
    conversation: Annotated[int | None, Query(ge=1, le=MAX_TURN_ID)] = None,
) -> HistoryPage:
    if conversation is not None:  # another user's is as missing as a deleted one
        found = await run_in_threadpool(store.conversation, user.id, conversation)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=CONVERSATION_NOT_FOUND)
    turns = await run_in_threadpool(store.list, user.id, limit, before, conversation)
    more = len(turns) == limit and turns[0].id > 1
    return HistoryPage(
        turns=[turn.as_dict() for turn in turns], next_before=turns[0].id if more else None
    )


@router.delete("/history")
async def delete_history(user: CurrentUser, store: HistoryDep) -> Deleted:
    """Every turn and every conversation of the user."""
    return Deleted(deleted=await run_in_threadpool(store.delete_all, user.id))
