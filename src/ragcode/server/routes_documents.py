"""Uploads: store a file or a zipped repository safely, ingest it in the background."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, UploadFile, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ragcode.server.deps import CurrentUser, StateDep
from ragcode.server.registry import Document
from ragcode.server.state import UPLOADS_DIR, ServerState
from ragcode.server.uploads import (
    UploadRejectedError,
    ZipLimits,
    extract_zip,
    kind_of,
    safe_name,
    save_stream,
)

router = APIRouter(prefix="/api", tags=["documents"])
_MULTIPART_SLACK = 64 * 1024
UNSUPPORTED = (
    "지원하지 않는 파일 형식입니다. "
    "소스 파일, 저장소 zip, 또는 문서(md, txt, pdf, docx, csv, json)를 올려 주세요."
)


class DocumentList(BaseModel):
    documents: list[dict[str, Any]]


def _store(state: ServerState, user_id: int, upload: UploadFile, name: str) -> Document:
    """Blocking: write the upload under uploads/<user>/<id>/files and register it."""
    server = state.core.settings.server
    kind = kind_of(name)
    if kind is None:
        raise UploadRejectedError(UNSUPPORTED)
    doc_id = uuid.uuid4().hex[:16]
    doc_dir = state.core.settings.data_dir / UPLOADS_DIR / str(user_id) / doc_id
    files = doc_dir / "files"
    files.mkdir(parents=True)
    try:
        if name.lower().endswith(".zip"):
            archive = doc_dir / "upload.zip"
            save_stream(upload.file, archive, server.max_upload_bytes)
            limits = ZipLimits(server.max_zip_files, server.max_zip_uncompressed_bytes)
            extract_zip(archive, files, limits)
            archive.unlink()
        else:
            save_stream(upload.file, files / name, server.max_upload_bytes)
    except BaseException:
        _remove_tree(doc_dir)
        raise
    return state.registry.add(doc_id, user_id, name, kind, files.resolve())


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@router.post("/documents", status_code=status.HTTP_202_ACCEPTED)
async def upload(
    file: UploadFile, request: Request, user: CurrentUser, state: StateDep
) -> dict[str, Any]:
    declared = int(request.headers.get("content-length") or 0)
    limit = state.core.settings.server.max_upload_bytes
    if declared > limit + _MULTIPART_SLACK:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"파일이 너무 큽니다 (최대 {limit // 1_000_000} MB).",
        )
    name = safe_name(file.filename or "upload")
    try:
        doc = await run_in_threadpool(_store, state, user.id, file, name)
    except UploadRejectedError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc
    state.ingest.submit(doc)
    return doc.as_dict()


@router.get("/documents")
async def documents(user: CurrentUser, state: StateDep) -> DocumentList:
    docs = await run_in_threadpool(state.registry.list_for, user.id)
    return DocumentList(documents=[doc.as_dict() for doc in docs])


@router.delete("/documents/{doc_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_document(doc_id: str, user: CurrentUser, state: StateDep) -> None:
    doc = await run_in_threadpool(state.registry.get, user.id, doc_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="문서를 찾을 수 없습니다.")
    await run_in_threadpool(state.ingest.remove, doc)
