"""The user's conversations: list (a page at a time), create (up to
`server.max_conversations` each: 409 past it), rename, delete (with their turns), and "forget"
(memory starts fresh, the history stays). Another user's conversation answers 404 like a
missing one, never 403: ids of other users' conversations are not confirmed.
Unsafe methods need a same-origin request (factory.guard), as everywhere under /api."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from ragcode.history.protocol import Conversation, TooManyConversationsError, clean_title
from ragcode.server.deps import CurrentUser, StateDep
from ragcode.server.routes_history import CONVERSATION_NOT_FOUND, MAX_TURN_ID, HistoryDep

router = APIRouter(prefix="/api/conversations", tags=["conversations"])
TITLE_MAX = 100


ConversationId = Annotated[int, Path(ge=1, le=MAX_TURN_ID)]


class NewConversation(BaseModel):
    # None: named by its first question.
    title: str | None = Field(default=None, max_length=TITLE_MAX)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        return None if value is None else (clean_title(value) or None)


class Rename(BaseModel):
    title: str = Field(max_length=TITLE_MAX)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        cleaned = clean_title(value)
        if not cleaned:
            raise ValueError("제목이 비어 있습니다.")
        return cleaned


class ConversationList(BaseModel):
    conversations: list[dict[str, Any]]
    next_before: int | None = None  # pass as `before` for the next page; None: no more


class DeletedTurns(BaseModel):
    deleted: int  # the conversation's turns


def _found(conversation: Conversation | None) -> dict[str, Any]:
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=CONVERSATION_NOT_FOUND)
    return conversation.as_dict()


@router.get("")
async def list_conversations(
    user: CurrentUser,
    history: HistoryDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, le=MAX_TURN_ID)] = None,
) -> ConversationList:
    """Most recently active first, with turn counts; `before`: the last id of a page."""
    found = await run_in_threadpool(history.conversations, user.id, limit + 1, before)
    page = found[:limit]
    more = len(found) > limit
    return ConversationList(
        conversations=[c.as_dict() for c in page], next_before=page[-1].id if more else None
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_conversation(
    user: CurrentUser, history: HistoryDep, state: StateDep, body: NewConversation | None = None
) -> dict[str, Any]:
    title = body.title if body is not None else None
    limit = state.core.settings.server.max_conversations
    try:
        made = await run_in_threadpool(history.create_conversation, user.id, title, limit)
    except TooManyConversationsError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    return _found(made)


@router.patch("/{conversation_id}")
async def rename_conversation(
    user: CurrentUser, history: HistoryDep, conversation_id: ConversationId, body: Rename
) -> dict[str, Any]:
    renamed = await run_in_threadpool(
        history.rename_conversation, user.id, conversation_id, body.title
    )
    return _found(renamed)


@router.delete("/{conversation_id}")
async def delete_conversation(
    user: CurrentUser, history: HistoryDep, conversation_id: ConversationId
) -> DeletedTurns:
    deleted = await run_in_threadpool(history.delete_conversation, user.id, conversation_id)
    if deleted is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=CONVERSATION_NOT_FOUND)
    return DeletedTurns(deleted=deleted)


@router.post("/{conversation_id}/forget")
async def forget(
    user: CurrentUser, history: HistoryDep, conversation_id: ConversationId
) -> dict[str, Any]:
    """Memory starts fresh after the turns so far; the history keeps showing them."""
    return _found(await run_in_threadpool(history.forget, user.id, conversation_id))
