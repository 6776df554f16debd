"""The user's own chat history: a page of turns (newest last), or delete all of it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ragcode.server.deps import CurrentUser, StateDep

router = APIRouter(prefix="/api", tags=["history"])
# Turn ids are SQLite integers: a larger cursor cannot be bound (it was a 500, not a 422).
MAX_TURN_ID = 2**63 - 1


class HistoryPage(BaseModel):
    turns: list[dict[str, Any]]
    next_before: int | None  # pass as `before` for the previous page; None: no more


class Deleted(BaseModel):
    deleted: int


@router.get("/history")
async def history(
    user: CurrentUser,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, le=MAX_TURN_ID)] = None,
) -> HistoryPage:
    turns = await run_in_threadpool(state.history.list, user.id, limit, before)
    more = len(turns) == limit and turns[0].id > 1
    return HistoryPage(
        turns=[turn.as_dict() for turn in turns], next_before=turns[0].id if more else None
    )


@router.delete("/history")
async def delete_history(user: CurrentUser, state: StateDep) -> Deleted:
    return Deleted(deleted=await run_in_threadpool(state.history.delete_all, user.id))
