"""Helpers of the OpenAI-compatible API tests: a live server, accounts with API keys, clients.

The server is a real uvicorn on loopback (tests/web_server.py); clients are the official
`openai` package (no retries: a test must see the first answer) and httpx for raw requests.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from openai import OpenAI

from ragcode.app import App, build_app
from ragcode.config import Settings
from ragcode.embeddings.protocol import Embedder
from ragcode.llm.protocol import LLM, ChatMessage, FinishReason
from ragcode.server.factory import create_app
from ragcode.server.state import ServerState
from tests.server_support import PASSWORD, TEST_HOSTS
from tests.web_server import running_server


@dataclass
class LiveServer:
    url: str
    core: App
    api: FastAPI
    sessions: list[httpx.Client] = field(default_factory=list)

    @property
    def state(self) -> ServerState:
        state: ServerState = self.api.state.server
        return state

    def session(self, username: str) -> httpx.Client:
        """A logged-in web session of a new account (the cookie the web client holds)."""
        client = httpx.Client(base_url=self.url, timeout=60)
        self.sessions.append(client)
        response = client.post("/api/signup", json={"username": username, "password": PASSWORD})
        assert response.status_code == 201, response.text
        return client

    def new_key(self, session: httpx.Client, name: str = "") -> dict[str, Any]:
        response = session.post("/api/apikeys", json={"name": name})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def user_key(self, username: str) -> str:
        return str(self.new_key(self.session(username))["key"])

    def openai(self, key: str, **options: Any) -> OpenAI:
        return OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0, **options)

    def close(self) -> None:
        for session in self.sessions:
            session.close()


@contextmanager
def live_server(
    data_dir: Path, llm: LLM, embedder: Embedder, *, api: dict[str, Any] | None = None,
    store_url: str | None = None, **server: Any,
) -> Iterator[LiveServer]:  # fmt: skip
    """`server`: ServerSettings fields, `api`: ApiSettings fields, `store_url`: PostgreSQL
    (servers on one database are replicas). Documents use the code embedder (no second model
    to load); uploads are ready once indexed (no summaries)."""
    if store_url:  # replicas must share the key that signs their session cookies
        server = {"secret_key": "s" * 40, **server}
    settings = Settings(
        data_dir=data_dir,
        store={"url": store_url},
        server={"allowed_hosts": TEST_HOSTS, "summarize": False, **server},
        api=api or {},
        documents={"local_embedder": "use"},
        search={"expand_query": False},
    )
    core = build_app(settings, llm=llm, embedder=embedder)
    app = create_app(core)
    with running_server(app) as url:
        live = LiveServer(url, core, app)
        try:
            yield live
        finally:
            live.close()
    core.close()


# The team knowledge base of `indexed_live_server`.
TEAM_CODE = '''import json


def read_config(path):
    """Read a JSON configuration file and return it as a dict."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
'''


@contextmanager
def indexed_live_server(
    root: Path, llm: LLM, embedder: Embedder, docs: dict[str, str]
) -> Iterator[LiveServer]:
    """A live server on `root`/data whose team knowledge base holds TEAM_CODE (config.py) and
    whose documents hold `docs` (file name: text), both indexed."""
    team, docs_dir = root / "team", root / "docs"
    team.mkdir()
    docs_dir.mkdir()
    (team / "config.py").write_text(TEAM_CODE, encoding="utf-8")
    for name, text in docs.items():
        (docs_dir / name).write_text(text, encoding="utf-8")
    with live_server(root / "data", llm, embedder) as server:
        server.core.indexer.index(team)  # the team knowledge base, as `ragcode index`
        server.core.docs.indexer.index(docs_dir)  # as `ragcode docs add`
        yield server


@dataclass
class Recorded:
    messages: Sequence[ChatMessage]
    max_tokens: int
    temperature: float


@dataclass
class RecordingLLM:
    """Answers from `answer(messages)` in small deltas; records every call's settings."""

    answer: Any  # Callable[[Sequence[ChatMessage]], str]
    calls: list[Recorded] = field(default_factory=list)
    fail: bool = False
    cut: bool = False  # the backend says the answer stopped at max_tokens

    @property
    def name(self) -> str:
        return "recording"

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Generator[str, None, FinishReason]:  # fmt: skip
        from ragcode.llm.protocol import LLMError

        self.calls.append(Recorded(list(messages), max_tokens, temperature))
        if self.fail:
            raise LLMError("scripted failure")
        text = str(self.answer(messages))
        for start in range(0, len(text), 3):
            yield text[start : start + 3]
        return "length" if self.cut else "stop"
