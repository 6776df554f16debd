"""One request in, one reply out: validation and dispatch, no sockets (unit-testable)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragcode.search_daemon.wire import VERSION, error

log = logging.getLogger(__name__)

SearchFn = Callable[[str, int, bool], list[dict[str, Any]]]
MAX_TOP_K = 1000


@dataclass(frozen=True, slots=True)
class Outcome:
    reply: dict[str, Any]
    stop: bool = False  # the daemon exits after sending the reply


class SearchService:
    """Answers search requests for one data dir, built from one set of settings."""

    def __init__(self, search: SearchFn, data_dir: Path, fingerprint: str) -> None:
        self._search = search
        self._data_dir = str(data_dir)
        self._fingerprint = fingerprint

    def handle(self, raw: bytes | None) -> Outcome:
        if raw is None:
            return Outcome(error("too_large", "요청이 너무 큽니다 (64KB 까지)."))
        try:
            message = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return Outcome(error("bad_request", "요청이 올바른 JSON 이 아닙니다."))
        if not isinstance(message, dict) or message.get("v") != VERSION:
            return Outcome(error("bad_request", "알 수 없는 요청 형식입니다."))
        if message.get("data_dir") != self._data_dir:
            return Outcome(
                error("wrong_data_dir", "이 검색 데몬은 다른 데이터 디렉터리를 맡고 있습니다.")
            )
        op = message.get("op")
        if op == "ping":
            return Outcome({"ok": True})
        if op == "stop":
            return Outcome({"ok": True}, stop=True)
        if op != "search":
            return Outcome(error("bad_request", "알 수 없는 요청입니다."))
        if message.get("settings") != self._fingerprint:
            # Another shell's settings (env, ragcode.toml): that search runs in-process and
            # starts a daemon with its settings once this one has gone.
            return Outcome(
                error("settings_changed", "설정이 바뀌어 검색 데몬을 끝냅니다."), stop=True
            )
        return self._run_search(message)

    def _run_search(self, message: dict[str, Any]) -> Outcome:
        query, top_k, expand = message.get("query"), message.get("top_k"), message.get("expand")
        if not (isinstance(query, str) and query.strip()) or not isinstance(expand, bool):
            return Outcome(error("bad_request", "query(문자열)와 expand(참/거짓)가 필요합니다."))
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
            return Outcome(error("bad_request", f"top_k 는 1에서 {MAX_TOP_K} 사이여야 합니다."))
        try:
            hits = self._search(query, top_k, expand)
        except Exception as exc:  # one failed search must not end the daemon
            log.warning("search failed error=%s", type(exc).__name__, exc_info=True)
            return Outcome(error("search_failed", str(exc)))
        log.info("search served chars=%d top_k=%d expand=%s hits=%d", len(query), top_k,
                 expand, len(hits))  # fmt: skip
        return Outcome({"ok": True, "hits": hits})
