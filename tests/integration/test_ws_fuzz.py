"""Property-based fuzzing of `/ws` frames (hypothesis): whatever a client sends, the server
answers with protocol messages only (never a traceback), keeps the socket and still pongs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import WebSocketTestSession

from ragcode.embeddings.local import LocalEmbedder
from ragcode.server.protocol import ERRORS
from tests.scripted_llm import ScriptedLLM
from tests.server_support import make_server, signup

pytestmark = pytest.mark.integration

# Cheap modes only: the point is frame handling, not retrieval (plus names that are no mode).
MODE_NAMES = st.sampled_from(["normal", "translation", "grammar", "pii", "poem", "", "NORMAL"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and infinities too: Python's json writes and reads them
    | st.text(max_size=40)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
NEAR_PROTOCOL = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["text", "ping", "pong", "TEXT", ""]) | JSON_VALUES,
        "request_id": st.text(max_size=140) | JSON_VALUES,
        "conv_type": MODE_NAMES | JSON_VALUES,
        "body": st.text(max_size=60) | JSON_VALUES,
        "extra": JSON_VALUES,
    },
)
TEXT_FRAMES = st.one_of(
    st.text(max_size=200),
    NEAR_PROTOCOL.map(json.dumps),
    JSON_VALUES.map(json.dumps),
    st.integers(min_value=1, max_value=20_000).map(lambda n: "[" * n),
    st.integers(min_value=1, max_value=5_000).map(lambda n: '{"a":' * n),
)
FRAMES = TEXT_FRAMES | st.binary(max_size=200) | TEXT_FRAMES.map(str.encode)
STATUSES = {"istyping", "proceeding", "completed", "error", "progress", "document"}


@pytest.fixture
def socket(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[WebSocketTestSession]:
    llm = ScriptedLLM(lambda messages: "답입니다")
    core, api = make_server(tmp_path / "data", llm, embedder, max_requests_in_flight=64)
    with TestClient(api) as client:
        signup(client, "fuzzer")
        with client.websocket_connect("/ws") as ws:
            yield ws
    core.close()


def check(message: dict[str, Any]) -> None:
    text = json.dumps(message, ensure_ascii=False)
    assert "Traceback" not in text and 'File "' not in text
    if message.get("type") == "pong":
        return
    assert message.get("status") in STATUSES, message
    if message["status"] == "error":
        assert message["error"]["code"] in ERRORS
        assert any("가" <= ch <= "힣" for ch in message["error"]["message"])


def test_any_frame_leaves_the_socket_answering(socket: WebSocketTestSession, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG, logger="ragcode")
    pings = iter(range(10**9))

    @settings(
        max_examples=200, deadline=2000, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )  # fmt: skip
    @given(frame=FRAMES)
    def one_frame(frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            socket.send_bytes(frame)
        else:
            socket.send_text(frame)
        # A ping with a marker of its own: answers to earlier frames may still be arriving.
        marker = next(pings)
        socket.send_text(json.dumps({"type": "ping", "request_id": f"ping-{marker}"}))
        while True:
            message = socket.receive_json()
            check(message)
            if message == {"type": "pong"}:
                return

    one_frame()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
