"""The user's conversations: list, create, rename, delete (with their turns), and "forget"
(memory starts fresh, the history stays). Another user's conversation answers 404 like a
missing one, never 403: ids of other users' conversations are not confirmed.
Unsafe methods need a same-origin request (factory.guard), as everywhere under /api."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from ragcode.history.protocol import Conversation
from ragcode.server.deps import CurrentUser
from ragcode.server.routes_history import CONVERSATION_NOT_FOUND, MAX_TURN_ID, HistoryDep

router = APIRouter(prefix="/api/conversations", tags=["conversations"])
TITLE_MAX = 100


ConversationId = Annotated[int, Path(ge=1, le=MAX_TURN_ID)]


def _clean_title(value: str) -> str:
    """One line, no control characters or lone surrogates, trimmed."""
    kept = "".join(
        " " if ch.isspace() else "\ufffd" if "\ud800" <= ch <= "\udfff" else ch
        for ch in value
        if ch.isspace() or ch.isprintable()
    )
    return " ".join(kept.split())


class NewConversation(BaseModel):
    # None: named by its first question.
    title: str | None = Field(default=None, max_length=TITLE_MAX)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        return None if value is None else (_clean_title(value) or None)


class Rename(BaseModel):
    title: str = Field(max_length=TITLE_MAX)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        cleaned = _clean_title(value)
        if not cleaned:
            raise ValueError("제목이 비어 있습니다.")
        return cleaned


class ConversationList(BaseModel):
    conversations: list[dict[str, Any]]


class DeletedTurns(BaseModel):
    deleted: int  # the conversation's turns


def _found(conversation: Conversation | None) -> dict[str, Any]:
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=CONVERSATION_NOT_FOUND)
    return conversation.as_dict()


@router.get("")
async def list_conversations(user: CurrentUser, history: HistoryDep) -> ConversationList:
    """Most recently active first, with turn counts."""
    found = await run_in_threadpool(history.conversations, user.id)
    return ConversationList(conversations=[c.as_dict() for c in found])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_conversation(
    user: CurrentUser, history: HistoryDep, body: NewConversation | None = None
) -> dict[str, Any]:
    title = body.title if body is not None else None
    return _found(await run_in_threadpool(history.create_conversation, user.id, title))


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
