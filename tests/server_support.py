"""Helpers of the web app tests: an app over a scripted LLM, accounts, reading a reply."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from ragcode.app import App, build_app
from ragcode.config import Settings
from ragcode.embeddings.protocol import Embedder
from ragcode.llm.protocol import LLM, ChatMessage
from ragcode.server.factory import create_app

PASSWORD = "correct horse battery"
# Starlette's TestClient sends `Host: testserver`; live servers in tests bind 127.0.0.1.
TEST_HOSTS = ["testserver", "127.0.0.1", "localhost"]


# Five units: the class, two trivial methods (no summary needed) and two worth a summary.
BANK_PY = b'''class Account:
    def balance(self):
        return self._balance

    def close(self):
        pass

    def deposit(self, amount, memo):
        """Add money to the account and record why."""
        if amount <= 0:
            raise ValueError("amount must be positive")
        self._balance += amount
        self._ledger.append((amount, memo))
        return self._balance


def transfer(source, target, amount):
    """Move money between two accounts."""
    source.withdraw(amount)
    target.deposit(amount, "transfer")
    return source.balance(), target.balance()
'''


def make_server(data_dir: Path, llm: LLM, embedder: Embedder, **server: Any) -> tuple[App, FastAPI]:
    settings = Settings(data_dir=data_dir, server={"allowed_hosts": TEST_HOSTS, **server})
    core = build_app(settings, llm=llm, embedder=embedder)
    return core, create_app(core)


def signup(client: TestClient, username: str, password: str = PASSWORD) -> None:
    response = client.post("/api/signup", json={"username": username, "password": password})
    assert response.status_code == 201, response.text


def wait_final(client: TestClient, doc_id: str, timeout_s: float = 60) -> dict[str, Any]:
    """Poll the document list until an upload is "ready" or "failed"; its last listing."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        docs = {d["id"]: d for d in client.get("/api/documents").json()["documents"]}
        if docs[doc_id]["state"] in ("ready", "failed"):
            return dict(docs[doc_id])
        time.sleep(0.1)
    raise AssertionError("ingestion did not finish")


def send(ws: WebSocketTestSession, request_id: str, body: str, mode: str = "normal") -> None:
    ws.send_text(
        json.dumps({"request_id": request_id, "type": "text", "conv_type": mode, "body": body})
    )


def reply(ws: WebSocketTestSession, request_id: str) -> list[dict[str, Any]]:
    """Messages of one request up to its final one (others are skipped)."""
    messages = []
    while True:
        message = ws.receive_json()
        if message.get("request_id") != request_id:
            continue
        messages.append(message)
        if message["status"] in ("completed", "error"):
            return messages


@dataclass
class SlowLLM:
    """Streams `tokens` deltas with a pause each; records whether its stream was closed."""

    tokens: int = 400
    pause_s: float = 0.02
    started: int = 0
    closed: int = 0
    finished: int = 0
    calls: list[Sequence[ChatMessage]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "slow"

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:  # fmt: skip
        import time

        self.calls.append(messages)
        self.started += 1
        try:
            for n in range(self.tokens):
                time.sleep(self.pause_s)
                yield f"{n} "
            self.finished += 1
        except GeneratorExit:
            self.closed += 1
            raise
