"""Uploads: store a file or a zipped repository safely, ingest it in the background."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Awaitable
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ragcode.accounts.protocol import User
from ragcode.app import uploads_dir
from ragcode.ingest.containers import is_zip_container
from ragcode.server.deps import CurrentUser, StateDep, current_user
from ragcode.server.state import ServerState
from ragcode.server.upload_body import (
    BodyLimits,
    ReceivedFile,
    UploadTooLargeError,
    check_declared_length,
    receive_file,
)
from ragcode.server.uploads import (
    UploadRejectedError,
    ZipLimits,
    check_document_container,
    extract_zip,
    kind_of,
    safe_name,
)
from ragcode.uploads.protocol import Document, UploadBusyError

router = APIRouter(prefix="/api", tags=["documents"])
_MULTIPART_SLACK = 64 * 1024
# An upload refused mid-body closes its connection: to keep it alive, uvicorn would read
# (and drop) the rest of the body, however large the client says or keeps sending.
_CLOSE = {"Connection": "close"}
UNSUPPORTED = (
    "지원하지 않는 파일 형식입니다. "
    "소스 파일, 저장소 zip, 또는 문서(md, txt, pdf, docx, csv, json)를 올려 주세요."
)


NOT_FOUND = "문서를 찾을 수 없습니다."
UPLOAD_BUSY = "이 업로드를 색인하는 중입니다. 잠시 뒤 다시 시도해 주세요."
T = TypeVar("T")
TOO_MANY_PENDING = (
    "색인을 기다리는 업로드가 너무 많습니다 (사용자당 {limit}개). 앞선 업로드가 검색 가능해진 뒤"
    " 다시 올려 주세요."
)
NOT_OWNER = "올린 사람만 공유하거나 공유를 해제할 수 있습니다."
TEAM_DELETE_FORBIDDEN = (
    "팀과 공유한 문서는 관리자만 삭제할 수 있습니다. "
    "올린 사람은 공유를 해제한 뒤 삭제할 수 있습니다."
)


class DocumentList(BaseModel):
    documents: list[dict[str, Any]]


def _incoming(doc_dir: Path, filename: str) -> Path:
    """Where the file part is written; an unsupported type is refused before its data."""
    name = safe_name(filename or "upload")
    if kind_of(name) is None:
        raise UploadRejectedError(UNSUPPORTED)
    zipped = name.lower().endswith(".zip")
    target = doc_dir / "upload.zip" if zipped else doc_dir / "files" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _store(state: ServerState, user_id: int, doc_dir: Path, received: ReceivedFile) -> Document:
    """Blocking: unpack or check the received file under uploads/<user>/<id>/, register it."""
    server = state.core.settings.server
    name = safe_name(received.filename or "upload")
    kind = kind_of(name)
    if kind is None:
        raise UploadRejectedError(UNSUPPORTED)
    doc_id = doc_dir.name
    files = doc_dir / "files"
    files.mkdir(parents=True, exist_ok=True)
    if name.lower().endswith(".zip"):
        limits = ZipLimits(server.max_zip_files, server.max_zip_uncompressed_bytes)
        extract_zip(received.path, files, limits)
        received.path.unlink()
    elif is_zip_container(name):  # .docx: refused here before any reader inflates it
        check_document_container(received.path)
    return state.registry.add(doc_id, user_id, name, kind, files.resolve())


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _uploader(request: Request, state: StateDep) -> User:
    """CurrentUser, except that the refusal closes the connection (see _CLOSE)."""
    try:
        return current_user(request, state)
    except HTTPException as exc:
        raise HTTPException(exc.status_code, exc.detail, headers=_CLOSE) from exc


@router.post("/documents", status_code=status.HTTP_202_ACCEPTED)
async def upload(
    request: Request, user: Annotated[User, Depends(_uploader)], state: StateDep
) -> dict[str, Any]:
    """No form parameter: FastAPI would read a form to disk before checking the session.
    The session comes first (dependency), then the declared length, then the body itself
    under a hard cap (upload_body), so a refusal costs the server next to nothing."""
    server = state.core.settings.server
    pending = await run_in_threadpool(state.registry.waiting_count, user.id)
    if pending >= server.max_uploads_in_progress:  # one user cannot queue up everyone else
        detail = TOO_MANY_PENDING.format(limit=server.max_uploads_in_progress)
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail=detail, headers=_CLOSE)
    limits = BodyLimits(server.max_upload_bytes, server.max_upload_bytes + _MULTIPART_SLACK)
    doc_dir = uploads_dir(state.core.settings) / str(user.id) / uuid.uuid4().hex[:16]
    try:
        check_declared_length(request.headers, limits)
        received = await receive_file(request, partial(_incoming, doc_dir), limits)
        doc = await run_in_threadpool(_store, state, user.id, doc_dir, received)
    except BaseException as exc:
        _remove_tree(doc_dir)  # a few files at most (extract_zip cleans its own tree)
        if not isinstance(exc, UploadRejectedError):
            raise
        too_large = isinstance(exc, UploadTooLargeError)
        code = status.HTTP_413_CONTENT_TOO_LARGE if too_large else status.HTTP_400_BAD_REQUEST
        raise HTTPException(code, detail=str(exc), headers=_CLOSE) from exc
    state.ingest.submit(doc)
    return doc.as_dict()


def _listed(doc: Document, user: User) -> dict[str, Any]:
    return {**doc.as_dict(), "mine": doc.user_id == user.id}


@router.get("/documents")
async def documents(user: CurrentUser, state: StateDep) -> DocumentList:
    """The user's own uploads and those other users shared with the team."""
    docs = await run_in_threadpool(state.registry.list_visible, user.id)
    return DocumentList(documents=[_listed(doc, user) for doc in docs])


async def _visible(state: ServerState, user: User, doc_id: str) -> Document:
    """The upload if the user may see it (theirs, or shared); 404 for anyone else's private
    upload, so its existence does not leak either."""
    doc = await run_in_threadpool(state.registry.find, doc_id)
    if doc is None or not (doc.user_id == user.id or doc.shared):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)
    return doc


@router.delete("/documents/{doc_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_document(doc_id: str, user: CurrentUser, state: StateDep) -> None:
    """Owners delete their private uploads; shared uploads are team content, which only
    admins delete (the owner can take one back first with DELETE .../share)."""
    doc = await _visible(state, user, doc_id)
    if doc.shared and not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=TEAM_DELETE_FORBIDDEN)
    await _busy_as_conflict(run_in_threadpool(state.ingest.remove, doc))


async def _busy_as_conflict(work: Awaitable[T]) -> T:
    """The upload is being indexed (here or on another replica) for longer than a request
    waits: 409, try again shortly."""
    try:
        return await work
    except UploadBusyError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=UPLOAD_BUSY) from exc


async def _set_shared(state: ServerState, user: User, doc_id: str, shared: bool) -> Document:
    doc = await _visible(state, user, doc_id)
    if doc.user_id != user.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=NOT_OWNER)
    updated = await _busy_as_conflict(run_in_threadpool(state.ingest.share, doc, shared))
    if updated is None:  # deleted meanwhile
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)
    return updated


@router.post("/documents/{doc_id}/share")
async def share_document(doc_id: str, user: CurrentUser, state: StateDep) -> dict[str, Any]:
    """Make an upload part of the team knowledge base (every user's search finds it)."""
    return _listed(await _set_shared(state, user, doc_id, True), user)


@router.delete("/documents/{doc_id}/share")
async def unshare_document(doc_id: str, user: CurrentUser, state: StateDep) -> dict[str, Any]:
    """Take a shared upload back: only its owner finds it again."""
    return _listed(await _set_shared(state, user, doc_id, False), user)
