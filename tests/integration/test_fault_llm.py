"""The web chat when its LLM dies or hangs in the middle of an answer.

The user must get a Korean `error` for that request within a bounded time, the socket must
stay usable (a ping is answered, the next request is answered) and the history must not
record the broken answer as a completed one. Covered with scripted in-process LLMs and with a
pool of two real `llama_cpp.server` endpoints, one of them killed while it streams.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.openai_compat import OpenAICompatLLM
from ragcode.llm.pool import LLMPool, PoolPolicy, endpoint_label
from ragcode.llm.protocol import LLM, ChatMessage, LLMError
from tests.llm_servers import start_llama_server
from tests.server_support import make_server, send, signup

pytestmark = pytest.mark.integration

HANGUL = re.compile(r"[\uac00-\ud7a3]")
ANSWER = "정상적인 답변입니다. 다시 연결된 모델이 보냈습니다."
# The idle timeout asked of the server in the hang tests: seconds without a new delta.
IDLE_TIMEOUT_S = 2.0
# How long the user may wait for the error: the timeout plus generous slack for a busy CI.
ERROR_WITHIN_S = IDLE_TIMEOUT_S + 8.0

Behaviour = Literal["ok", "die", "hang"]


@dataclass
class FaultyLLM:
    """Per call, from `script` (then "ok"): stream `ANSWER`, or stream `before` deltas and
    then raise `LLMError` ("die") or block until released ("hang")."""

    script: list[Behaviour]
    before: int = 3
    release: threading.Event = field(default_factory=threading.Event)
    calls: list[Sequence[ChatMessage]] = field(default_factory=list)
    closed: int = 0
    finished: int = 0

    @property
    def name(self) -> str:
        return "faulty"

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:  # fmt: skip
        behaviour = self.script[len(self.calls)] if len(self.calls) < len(self.script) else "ok"
        self.calls.append(messages)
        return self._run(behaviour)

    def _run(self, behaviour: Behaviour) -> Iterator[str]:
        try:
            if behaviour == "ok":
                for start in range(0, len(ANSWER), 4):
                    yield ANSWER[start : start + 4]
                self.finished += 1
                return
            for n in range(self.before):
                yield f"부분{n} "
            if behaviour == "die":
                raise LLMError("연결이 끊겼습니다 (scripted)")
            self.release.wait(120)  # a model that stops yielding; the test releases it
            for n in range(50):  # what a released model would go on writing
                yield f"늦은{n} "
            self.finished += 1
        except GeneratorExit:
            self.closed += 1
            raise


class Reader:
    """Messages of one socket, read on a thread so that every wait has a bound."""

    def __init__(self, ws: WebSocketTestSession) -> None:
        self._ws = ws
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        try:
            while True:
                self._queue.put(self._ws.receive_json())
        except Exception:  # the socket closed
            return

    def next(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def until(
        self, accept: Callable[[dict[str, Any]], bool], timeout: float
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The first message accepted within `timeout` (None if none) and those before it."""
        deadline = time.monotonic() + timeout
        seen: list[dict[str, Any]] = []
        while (left := deadline - time.monotonic()) > 0:
            message = self.next(left)
            if message is None:
                break
            if accept(message):
                return message, seen
            seen.append(message)
        return None, seen

    def final(
        self, request_id: str, timeout: float
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        def is_final(message: dict[str, Any]) -> bool:
            return message.get("request_id") == request_id and message.get("status") in (
                "completed", "error",
            )  # fmt: skip

        return self.until(is_final, timeout)


def wait_for_deltas(reader: Reader, request_id: str, count: int, timeout: float) -> None:
    """Until `istyping` and `count` deltas of the request have arrived."""
    typing, deltas = False, 0
    deadline = time.monotonic() + timeout
    while not (typing and deltas >= count):
        message = reader.next(max(deadline - time.monotonic(), 0.01))
        assert message is not None, f"{request_id}: {deltas} of {count} deltas in {timeout} s"
        if message.get("request_id") == request_id:
            typing = typing or message["status"] == "istyping"
            deltas += message["status"] == "proceeding"


def deltas_of(messages: list[dict[str, Any]], request_id: str) -> str:
    return "".join(
        m["delta"]
        for m in messages
        if m.get("request_id") == request_id and m.get("status") == "proceeding"
    )


def assert_user_error(message: dict[str, Any] | None, request_id: str, within: float) -> None:
    assert message is not None, f"no final message for {request_id} within {within:.0f} s"
    assert message["status"] == "error", message
    text = message["error"]["message"]
    assert HANGUL.search(text) and "Traceback" not in text, text


def assert_socket_usable(ws: WebSocketTestSession, reader: Reader, request_id: str) -> str:
    """A ping is answered and a new request completes; returns its answer."""
    ws.send_text(json.dumps({"type": "ping"}))
    pong, _ = reader.until(lambda m: m.get("type") == "pong", 5.0)
    assert pong is not None, "the socket no longer answers a ping"
    send(ws, request_id, "다시 물어봅니다")
    final, _ = reader.final(request_id, 30.0)
    assert final is not None and final["status"] == "completed", final
    return str(final["msg"])


def assert_not_recorded_as_completed(client: TestClient, request_id: str, partial: str) -> None:
    """The broken turn is either absent or carries an error marker, never a plain answer."""
    turns = client.get("/api/history").json()["turns"]
    for turn in turns:
        if turn["request_id"] == request_id:
            assert turn.get("error") or turn.get("status") == "error", turn
        assert not partial or partial.strip() not in turn["answer"], turn


@pytest.fixture
def serve(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[Callable[..., TestClient]]:
    """A logged-in client over the given LLM; hung fake LLMs are released before shutdown."""
    opened: list[tuple[Any, TestClient, LLM]] = []

    def start(llm: LLM, **server: object) -> TestClient:
        core, api = make_server(tmp_path / f"data{len(opened)}", llm, embedder, **server)
        client = TestClient(api)
        client.__enter__()
        opened.append((core, client, llm))
        signup(client, "alice")
        return client

    yield start
    for core, client, llm in opened:
        if isinstance(llm, FaultyLLM):
            llm.release.set()
        client.__exit__(None, None, None)
        core.close()


def test_llm_dying_mid_stream_gives_an_error_and_the_socket_goes_on(serve) -> None:  # type: ignore[no-untyped-def]
    llm = FaultyLLM(["die"])
    client = serve(llm)
    with client.websocket_connect("/ws") as ws:
        reader = Reader(ws)
        started = time.monotonic()
        send(ws, "r1", "긴 답을 써 주세요")
        final, before = reader.final("r1", 10.0)
        assert_user_error(final, "r1", 10.0)
        assert final is not None and final["error"]["code"] == "llm_error"
        assert time.monotonic() - started < 10.0
        partial = deltas_of(before, "r1")
        assert partial == "부분0 부분1 부분2 ", "what was streamed reached the user first"
        assert assert_socket_usable(ws, reader, "r2") == ANSWER
    assert_not_recorded_as_completed(client, "r1", partial)
    turns = client.get("/api/history").json()["turns"]
    assert [(t["request_id"], t["answer"]) for t in turns] == [("r2", ANSWER)]
    # The next question's memory (normal mode) holds no trace of the broken answer.
    assert all("부분" not in m.content for m in llm.calls[1])


@pytest.mark.parametrize("before", [3, 0], ids=["mid-stream", "before-first-token"])
def test_llm_hanging_gives_an_error_within_the_idle_timeout(serve, before: int) -> None:  # type: ignore[no-untyped-def]
    """`server.chat_idle_timeout_s` (checked between deltas in ChatService._generate): a
    model that stops producing ends the request with `llm_timeout` and its stream is closed."""
    llm = FaultyLLM(["hang"], before=before)
    client = serve(llm, chat_idle_timeout_s=IDLE_TIMEOUT_S)
    with client.websocket_connect("/ws") as ws:
        reader = Reader(ws)
        send(ws, "h1", "긴 답을 써 주세요")
        wait_for_deltas(reader, "h1", before, 5.0)
        started = time.monotonic()  # the model's last sign of life
        ws.send_text(json.dumps({"type": "ping"}))  # the hang does not block the socket
        pong, early = reader.until(lambda m: m.get("type") == "pong", 5.0)
        assert pong is not None
        final = next((m for m in early if m.get("request_id") == "h1"), None)
        if final is None:
            final, _ = reader.final("h1", ERROR_WITHIN_S)
        assert_user_error(final, "h1", ERROR_WITHIN_S)
        assert time.monotonic() - started < ERROR_WITHIN_S
        assert assert_socket_usable(ws, reader, "h2") == ANSWER
        # Released late, the hung generation is closed rather than consumed to its end.
        llm.release.set()
        deadline = time.monotonic() + 5
        while llm.closed == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert llm.closed == 1 and llm.finished == 1  # only h2's stream ran to its end
        late, _ = reader.final("h1", 1.0)
        assert late is None, "nothing more is sent for a request that already failed"
    assert_not_recorded_as_completed(client, "h1", "부분0" if before else "")
    turns = client.get("/api/history").json()["turns"]
    assert [t["request_id"] for t in turns] == ["h2"]


# --- a pool of two real llama.cpp servers, one killed while it streams --------------------
LONG_QUESTION = "Repeat the word 'ragcode' 500 times separated by spaces."


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def test_web_chat_over_a_pool_survives_an_endpoint_killed_mid_stream(  # type: ignore[no-untyped-def]
    serve, models_dir: Path
) -> None:
    model = next(models_dir.glob("*.gguf"))
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        endpoints: list[LLM] = []
        for _ in range(2):
            process, url = start_llama_server(model)
            endpoint = OpenAICompatLLM(
                url, "qwen2.5-coder-0.5b", max_concurrency=1, connect_timeout_s=2.0
            )
            processes[endpoint_label(endpoint)] = process
            endpoints.append(endpoint)
        policy = PoolPolicy(
            strategy="round_robin", max_attempts=3, backoff_base_s=0.05, failure_threshold=2,
            cooldown_s=600.0,
        )  # fmt: skip
        pool = LLMPool(endpoints, policy)
        client = serve(pool, chat_max_tokens=48)
        with client.websocket_connect("/ws") as ws:
            reader = Reader(ws)
            send(ws, "k1", LONG_QUESTION)
            wait_for_deltas(reader, "k1", 2, 60.0)
            serving = [s.label for s in pool.status() if s.in_flight == 1]
            assert len(serving) == 1, pool.status()
            stop(processes[serving[0]])
            final, _ = reader.final("k1", 30.0)
            assert_user_error(final, "k1", 30.0)
            assert final is not None and final["error"]["code"] == "llm_error"
            answers = []
            for n in range(2):  # one lands on the survivor, one fails over from the dead one
                send(ws, f"k{n + 2}", "파이썬 함수가 무엇인지 한 문장으로 설명하세요.")
                done, _ = reader.final(f"k{n + 2}", 60.0)
                assert done is not None and done["status"] == "completed", done
                answers.append(done["msg"])
        assert all(answer.strip() for answer in answers)
        dead = next(s for s in pool.status() if s.label == serving[0])
        assert dead.completed == 0 and dead.failed >= 1
        turns = client.get("/api/history").json()["turns"]
        assert [t["request_id"] for t in turns] == ["k2", "k3"]
    finally:
        for process in processes.values():
            stop(process)
