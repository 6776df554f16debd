"""`GET /api/code-languages`: the code languages a user may choose for code generation
(issue 15.2), with how many units of each the user can find (the team's code and their own
uploads; another user's private uploads never count)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from pydantic import BaseModel

from ragcode.chat.language import code_language_counts
from ragcode.domain import visible_scopes
from ragcode.server.deps import CurrentUser, StateDep

router = APIRouter(prefix="/api", tags=["code-languages"])


class CodeLanguage(BaseModel):
    language: str  # chat/language.py CODE_LANGUAGES (tsx counted as typescript)
    units: int


class CodeLanguages(BaseModel):
    languages: list[CodeLanguage]


@router.get("/code-languages")
async def code_languages(user: CurrentUser, state: StateDep) -> CodeLanguages:
    loop = asyncio.get_running_loop()
    store = state.core.store
    counts = await loop.run_in_executor(state.history_io, store.languages, visible_scopes(user.id))
    return CodeLanguages(
        languages=[
            CodeLanguage(language=language, units=units)
            for language, units in code_language_counts(counts).items()
        ]
    )
