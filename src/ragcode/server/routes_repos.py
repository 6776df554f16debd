"""`/api/repos`: the registered git repositories in the web app, and their syncs.

- `GET /api/repos`: every logged-in user sees the team's repositories (their files are team
  knowledge): name, branch, indexed commit, units, summary progress, this server's last sync.
  Where a repository lives on disk (and the URL of one added by URL, credentials hidden) is
  shown to admins only.
- `POST /api/repos/{name}/sync`: queue a sync (202). From the web app, an admin's session; from
  a git server, `repos.webhook_secret` (`server.webhook_auth`). The size and the proof are
  checked before the body is read (a signature: on a body read up to the limit), failed proofs
  are limited per client address like failed API keys, and an unknown name is told only to
  a caller that proved itself.
- `GET /api/repos/{name}/file?path=`: a file of the repository as it was indexed (the files
  under its index root are those of the indexed commit), for the reference view.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ragcode.accounts.protocol import User
from ragcode.ingest.files import decode_source
from ragcode.ingest.languages import detect_language
from ragcode.repos.protocol import RepoError, RepoNotFoundError
from ragcode.repos.selection import is_safe_path, unusable_name
from ragcode.repos.urls import redact
from ragcode.server.deps import SESSION_COOKIE, CurrentUser, StateDep
from ragcode.server.openai_api.auth import client_address
from ragcode.server.state import ServerState
from ragcode.server.webhook_auth import Proof, header_proof, signature_matches
from ragcode.store.protocol import StoreError

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/repos", tags=["repos"])

NOT_ALLOWED = (
    "저장소 동기화는 관리자나 웹훅 비밀값(repos.webhook_secret)을 아는 호출만 요청할 수 있습니다."
)
TOO_MANY = "잘못된 웹훅 인증이 너무 많습니다. 잠시 후 다시 시도해 주세요."
TOO_LARGE = "웹훅 본문이 너무 큽니다."
NO_FILE = "저장소에 그런 파일이 없습니다."
REGISTRY_DOWN = "저장소 목록에 접근하지 못했습니다. 잠시 후 다시 시도해 주세요."
SYNC_FAILED = "마지막 동기화가 실패했습니다. 관리자에게 문의하세요."


class SyncQueued(BaseModel):
    name: str
    state: str


@router.get("")
async def repositories(user: CurrentUser, state: StateDep) -> dict[str, Any]:
    try:
        rows = await run_in_threadpool(lambda: state.repos.statuses(urls=user.is_admin))
    except (RepoError, StoreError) as exc:
        log.warning("repo list failed error=%s", exc)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=REGISTRY_DOWN) from exc
    listed = []
    for repo_status, outcome in rows:
        repo = repo_status.repo
        item: dict[str, Any] = {
            "name": repo.name, "branch": repo.branch, "commit": repo.commit,
            "synced_at": repo.synced_at, "units": repo_status.units,
            "summaries_done": repo_status.summaries_done,
            "summaries_pending": repo_status.summaries_pending,
            "sync": {"state": str(outcome.state), "finished_at": outcome.finished_at,
                     "error": _shown_error(outcome.error, user)},
        }  # fmt: skip
        if user.is_admin:  # a mirror's URL may hold a token: never shown
            item["path"] = redact(repo.path)
            item["url"] = repo_status.url
        listed.append(item)
    return {"repos": listed, "can_sync": user.is_admin}


def _shown_error(error: str | None, user: User) -> str | None:
    """A sync's failure names local paths or the remote (git's own words): admins see it,
    others only that it failed (the log has it all)."""
    if error is None or user.is_admin:
        return error
    return SYNC_FAILED


def _admin(state: ServerState, request: Request) -> User | None:
    user = state.user_from_cookie(request.cookies.get(SESSION_COOKIE))
    return user if user is not None and user.is_admin else None


def _failure_key(state: ServerState, request: Request) -> dict[str, int]:
    limit = state.core.settings.server.login_client_max_failures
    return {f"webhook-client:{client_address(request)}": limit}


async def _body(request: Request, limit: int) -> bytes:
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=TOO_LARGE)
    return bytes(received)


def _secret(state: ServerState) -> str | None:
    configured = state.core.settings.repos.webhook_secret
    return None if configured is None else configured.get_secret_value()


async def _signed(state: ServerState, request: Request, secret: str) -> bool:
    """Whether the body (read up to the limit) carries the secret's HMAC."""
    body = await _body(request, state.core.settings.repos.webhook_max_bytes)
    return signature_matches(request.headers, body, secret)


@router.post("/{name}/sync", status_code=status.HTTP_202_ACCEPTED)
async def sync_repository(name: str, request: Request, state: StateDep) -> SyncQueued:
    limit = state.core.settings.repos.webhook_max_bytes
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=TOO_LARGE)
    admin = await run_in_threadpool(_admin, state, request)
    secret = _secret(state)
    proof = Proof.NONE if secret is None else header_proof(request.headers, secret)
    # The secret itself (constant-time compare, 16+ characters: not guessable) passes even
    # while the address is limited: behind a proxy every caller may share one address.
    if admin is None and proof is not Proof.TOKEN:
        failures, attempt = state.limiter.login, _failure_key(state, request)
        wait = await run_in_threadpool(failures.reserve, attempt)
        if wait > 0:
            headers = {"Retry-After": str(max(1, round(wait)))}
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, TOO_MANY, headers=headers)
        signed = secret is not None and proof is Proof.SIGNATURE
        if not (signed and await _signed(state, request, secret or "")):
            log.info("repo webhook refused name=%r client=%s", name, client_address(request))
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=NOT_ALLOWED)
        await run_in_threadpool(failures.release, attempt)
    try:
        queued = await run_in_threadpool(state.repos.request, name)
    except RepoNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except (RepoError, StoreError) as exc:
        log.warning("repo sync request failed name=%s error=%s", name, exc)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=REGISTRY_DOWN) from exc
    log.info("repo sync queued name=%s by=%s", name, admin.username if admin else "webhook")
    return SyncQueued(name=name, state=str(queued))


def _read_file(state: ServerState, name: str, path: str) -> dict[str, Any]:
    repo = state.repos.repository(name)
    clean = path.replace("\\", "/").removeprefix("./")
    if not is_safe_path(clean) or unusable_name(clean) is not None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NO_FILE)
    root = Path(repo.root)
    target = root / clean
    max_bytes = state.core.settings.index.max_file_bytes
    try:
        if target.is_symlink() or not target.is_file():
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NO_FILE)
        if not target.resolve().is_relative_to(root.resolve()):
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NO_FILE)
        with target.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:  # a name too long, no permission: nothing to show
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NO_FILE) from exc
    text = decode_source(data) if len(data) <= max_bytes and b"\0" not in data else None
    if text is None:  # a sparse stand-in, a binary file, neither UTF-8 nor CP949
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NO_FILE)
    return {
        "repo": repo.name, "path": clean, "commit": repo.commit,
        "language": detect_language(clean), "text": text,
    }  # fmt: skip


@router.get("/{name}/file")
async def repository_file(name: str, path: str, user: CurrentUser, state: StateDep) -> Any:
    try:
        return await run_in_threadpool(_read_file, state, name, path)
    except RepoNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except (RepoError, StoreError) as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=REGISTRY_DOWN) from exc
