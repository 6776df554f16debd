"""`/api/apikeys`: the logged-in user's API keys for the OpenAI-compatible API (`/v1`).

A new key is in the creation response only (never stored by a cache: `no-store`); afterwards
only its id, label and date are listed. A user sees and revokes only their own keys. These
routes take the web session cookie only (a Bearer key is not a login) and keep the web app's
Origin check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ragcode.accounts.apikeys import MAX_NAME, ApiKeyError, ApiKeyInfo, ApiKeyStoreError
from ragcode.server.deps import CurrentUser, StateDep

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/apikeys", tags=["apikeys"])
T = TypeVar("T")
NOT_FOUND = "그런 API 키가 없습니다 (이미 폐기되었거나 다른 사용자의 키)."
STORE_DOWN = "API 키 저장소에 접근하지 못했습니다. 잠시 후 다시 시도해 주세요."
# Not the label rule (`check_name` applies it once, after NFKC): a bound on what is
# normalised at all. NFKC turns one character into at most 18 (U+FDFA).
RAW_NAME_CHARS = MAX_NAME * 18


class NewKeyBody(BaseModel):
    name: str = Field(default="", max_length=RAW_NAME_CHARS)


class ApiKeyOut(BaseModel):
    id: str
    name: str
    created_at: datetime


class CreatedKey(ApiKeyOut):
    key: str  # shown this once


class KeyList(BaseModel):
    keys: list[ApiKeyOut]


def _out(info: ApiKeyInfo) -> ApiKeyOut:
    return ApiKeyOut(id=info.id, name=info.name, created_at=info.created_at)


async def _stored(call: Callable[[], T]) -> T:
    """A key store call off the event loop; its failures as the web API's errors."""
    try:
        return await run_in_threadpool(call)
    except ApiKeyStoreError as exc:
        log.warning("api key store failed error=%s", exc)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=STORE_DOWN) from exc
    except ApiKeyError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_key(
    body: NewKeyBody, user: CurrentUser, state: StateDep, response: Response
) -> CreatedKey:
    limit = state.core.settings.api.max_keys_per_user
    keys = state.stores.api_keys
    created = await _stored(lambda: keys.create(user.id, body.name, max_per_user=limit))
    response.headers["Cache-Control"] = "no-store"  # the only copy of the key: never cached
    return CreatedKey(**_out(created.info).model_dump(), key=created.key)


@router.get("")
async def list_keys(user: CurrentUser, state: StateDep) -> KeyList:
    infos = await _stored(lambda: state.stores.api_keys.list_keys(user.id))
    return KeyList(keys=[_out(info) for info in infos])


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(key_id: str, user: CurrentUser, state: StateDep) -> None:
    revoked = await _stored(lambda: state.stores.api_keys.revoke(key_id[:64], user.id))
    if not revoked:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)
