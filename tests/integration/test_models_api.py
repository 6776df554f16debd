"""`GET /api/models`: names and health for every user, where endpoints are for admins only,
never a secret; health follows the pool's circuit breakers after real failed requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragcode.app import LazyLLM, build_app
from ragcode.config import Settings
from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.protocol import ChatMessage, LLMError
from ragcode.server.factory import create_app
from tests.conftest import TEST_MODEL
from tests.scripted_llm import ScriptedLLM
from tests.server_support import PASSWORD, TEST_HOSTS, signup

pytestmark = pytest.mark.integration

SECRETS = ("hunter2", "sk-live-123", "qkey")
# Nothing listens on port 1: a request there fails at once (connection refused).
ENDPOINTS = [
    {"kind": "openai", "url": "http://ops:hunter2@127.0.0.1:1/v1?api_key=qkey", "model": "qwen-a",
     "api_key": "sk-live-123"},
    {"kind": "openai", "url": "http://127.0.0.1:1/v2", "model": "qwen-b"},
]  # fmt: skip


def login(client: TestClient, username: str) -> None:
    client.cookies.clear()
    response = client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text


@pytest.fixture
def pool_client(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[tuple[TestClient, Any]]:
    settings = Settings(
        data_dir=tmp_path,
        server={"allowed_hosts": TEST_HOSTS},
        llm={"endpoints": ENDPOINTS, "max_attempts": 1, "failure_threshold": 1,
             "cooldown_s": 600, "strategy": "round_robin"},
    )  # fmt: skip
    core = build_app(settings, embedder=embedder)
    with TestClient(create_app(core)) as client:
        signup(client, "admin")
        signup(client, "member")
        client.app.state.server.accounts.set_admin("admin", True)  # type: ignore[attr-defined]
        yield client, core
    core.close()


def test_members_see_names_and_health_admins_also_where(pool_client: Any) -> None:
    client, _ = pool_client
    login(client, "member")
    member = client.get("/api/models")
    assert member.status_code == 200
    body = member.json()
    assert body["model"] == "qwen-a+qwen-b"
    assert [(e["name"], e["kind"], e["health"]) for e in body["endpoints"]] == [
        ("qwen-a", "openai", "unknown"),
        ("qwen-b", "openai", "unknown"),
    ]  # fmt: skip  (no request yet: the pool is not built, nor built to answer this)
    assert all(e["location"] is None for e in body["endpoints"])
    assert "127.0.0.1" not in member.text
    login(client, "admin")
    admin = client.get("/api/models")
    locations = [e["location"] for e in admin.json()["endpoints"]]
    assert locations == ["http://127.0.0.1:1/v1", "http://127.0.0.1:1/v2"]
    for text in (member.text, admin.text):
        assert not any(secret in text for secret in SECRETS), text


def test_the_route_builds_no_llm(tmp_path: Path, embedder: LocalEmbedder) -> None:
    """A pool with a llama.cpp endpoint would load its model on the event loop."""
    endpoints = [{"kind": "llamacpp", "model": TEST_MODEL}, *ENDPOINTS[1:]]
    settings = Settings(
        data_dir=tmp_path,
        server={"allowed_hosts": TEST_HOSTS},
        llm={"endpoints": endpoints},
    )
    built: list[int] = []

    def factory() -> Any:
        built.append(1)
        raise AssertionError("the models route built the LLM")

    core = build_app(settings, embedder=embedder)
    core.llm = LazyLLM(factory)
    try:
        with TestClient(create_app(core)) as client:
            signup(client, "admin")
            response = client.get("/api/models")
        assert response.status_code == 200, response.text
        body = response.json()
        assert [(e["name"], e["kind"], e["health"]) for e in body["endpoints"]] == [
            (TEST_MODEL, "llamacpp", "unknown"), ("qwen-b", "openai", "unknown"),
        ]  # fmt: skip
        assert built == [] and core.llm.loaded is None
    finally:
        core.close()


def test_members_see_no_sagemaker_endpoint_or_region(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    endpoints = [
        {"kind": "sagemaker", "region": "ap-northeast-2", "endpoint_name": "secret-tgi-prod"},
        {"kind": "sagemaker", "region": "us-west-2", "endpoint_name": "tgi-b", "model": "qwen-s"},
        {"kind": "bedrock", "region": "eu-west-1", "model_id": "arn:aws:bedrock:eu-west-1:1:x"},
    ]
    settings = Settings(
        data_dir=tmp_path,
        server={"allowed_hosts": TEST_HOSTS},
        llm={"endpoints": endpoints},
    )
    core = build_app(settings, embedder=embedder)
    try:
        with TestClient(create_app(core)) as client:
            signup(client, "admin")
            signup(client, "member")
            client.app.state.server.accounts.set_admin("admin", True)  # type: ignore[attr-defined]
            login(client, "member")
            member = client.get("/api/models")
            login(client, "admin")
            admin = client.get("/api/models")
    finally:
        core.close()
    body = member.json()
    assert body["model"] == "bedrock+qwen-s+sagemaker"
    assert [(e["name"], e["kind"]) for e in body["endpoints"]] == [
        ("sagemaker", "sagemaker"), ("qwen-s", "sagemaker"), ("bedrock", "bedrock"),
    ]  # fmt: skip
    for hidden in ("secret-tgi-prod", "tgi-b", "ap-northeast-2", "us-west-2", "eu-west-1", "arn:"):
        assert hidden not in member.text, (hidden, member.text)
    # admins see where they are
    assert "secret-tgi-prod" in admin.json()["model"]
    assert [e["location"] for e in admin.json()["endpoints"]] == [
        "ap-northeast-2/secret-tgi-prod", "us-west-2/tgi-b",
        "eu-west-1/arn:aws:bedrock:eu-west-1:1:x",
    ]  # fmt: skip


def test_health_follows_failed_requests(pool_client: Any) -> None:
    client, core = pool_client
    llm = core.llm.get()
    with pytest.raises(LLMError):
        list(llm.stream([ChatMessage("user", "안녕")], max_tokens=4))
    login(client, "member")
    endpoints = client.get("/api/models").json()["endpoints"]
    assert sorted(e["health"] for e in endpoints) == ["down", "ok"], endpoints
    down = next(e for e in endpoints if e["health"] == "down")
    assert down["failed"] == 1 and down["in_flight"] == 0


def test_the_embedded_model_is_named_without_loading_it(make_app: Any) -> None:
    loads: list[int] = []
    core = make_app(ScriptedLLM(lambda m: loads.append(1) or "답"))  # type: ignore[func-returns-value]  # counts the call, then answers
    with TestClient(create_app(core)) as client:
        assert client.get("/api/models").status_code == 401  # logged-in users only
        signup(client, "member")
        body = client.get("/api/models").json()
    assert body == {
        "model": TEST_MODEL,
        "endpoints": [
            {"name": TEST_MODEL, "kind": "embedded", "health": "ok", "in_flight": None,
             "completed": None, "failed": None, "location": None},
        ],
    }  # fmt: skip
    assert loads == []
