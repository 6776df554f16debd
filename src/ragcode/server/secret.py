"""The key that signs session cookies: configured, or (development) generated once and kept."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from ragcode.config import Settings

log = logging.getLogger(__name__)

SECRET_FILE = "server_secret.key"


def resolve_secret(settings: Settings) -> str:
    configured = settings.server.secret_key
    if configured is not None:
        return configured.get_secret_value()
    if settings.store.url:
        # Replicas on one database check each other's cookies: a key generated per data
        # directory would log a user out whenever the next request hits another replica.
        raise ValueError(
            "PostgreSQL 저장소(store.url)로 서버를 띄우려면 모든 복제본에 같은 "
            "server.secret_key (RAGCODE_SERVER__SECRET_KEY, 32자 이상)를 설정해야 합니다"
        )
    path = settings.data_dir / SECRET_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    return _create_secret(path)


def _create_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    log.info("generated development secret path=%s", path)
    return value
