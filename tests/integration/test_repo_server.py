"""Git repositories in `ragcode serve`, with real repositories made by the `git` binary: a
webhook (a shared secret as a token, or an HMAC signature of the body) or an admin queues a
sync; everyone else is refused before anything is looked up; the schedule syncs on its own;
the web app lists repositories and shows a file as it was indexed; hits name their repository
and commit."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragcode.app import App, build_app, build_repo_registry, build_repo_sources
from ragcode.config import Settings
from ragcode.embeddings.local import LocalEmbedder
from ragcode.repos.protocol import Repo, RepoError
from ragcode.repos.sources import RepoSources
from ragcode.server.factory import create_app
from ragcode.server.repo_sync import RepoSyncService
from ragcode.server.routes_repos import SYNC_FAILED
from ragcode.store.protocol import StoreError
from tests.git_repos import GitRepo, module
from tests.scripted_llm import ScriptedLLM
from tests.server_support import PASSWORD, TEST_HOSTS, signup

pytestmark = pytest.mark.integration

SECRET = "webhook-secret-0123456789"


@pytest.fixture
def project(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "shop")
    repo.commit({"src/orders.py": module("load_orders"), "src/users.py": module("find_user")})
    return repo


def settings_for(data_dir: Path, **repos: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        server={"allowed_hosts": TEST_HOSTS, "summarize": False},
        search={"expand_query": False},
        repos=repos,
    )


@pytest.fixture
def server(
    tmp_path: Path, project: GitRepo, embedder: LocalEmbedder, request: pytest.FixtureRequest
) -> Iterator[tuple[App, TestClient]]:
    repos = getattr(request, "param", {"webhook_secret": SECRET})
    settings = settings_for(tmp_path / "data", **repos)
    core = build_app(settings, llm=ScriptedLLM(lambda _m: "요약"), embedder=embedder)
    registry = build_repo_registry(settings)
    build_repo_sources(core, registry).add(str(project.path))
    registry.close()
    with TestClient(create_app(core)) as client:
        yield core, client
    core.close()


def listed(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/repos")
    assert response.status_code == 200, response.text
    return {repo["name"]: repo for repo in response.json()["repos"]}


def wait_commit(client: TestClient, commit: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        shop: dict[str, Any] = listed(client)["shop"]
        if shop["commit"] == commit and shop["sync"]["state"] == "idle":
            return shop
        time.sleep(0.1)
    raise AssertionError(f"shop was not synced to {commit}: {listed(client)}")


def webhook(client: TestClient, **headers: str) -> Any:
    return client.post("/api/repos/shop/sync", headers=headers)


def test_a_webhook_with_the_secret_syncs_and_hits_name_the_repository(
    server: tuple[App, TestClient], project: GitRepo
) -> None:
    core, client = server
    signup(client, "admin")  # the first account is an admin
    assert listed(client)["shop"]["commit"] is None
    client.cookies.clear()  # a git server has no session
    first = webhook(client, authorization=f"Bearer {SECRET}")
    assert first.status_code == 202, first.text
    client.post("/api/login", json={"username": "admin", "password": PASSWORD})
    shop = wait_commit(client, project.head())
    assert shop["units"] == 2 and shop["sync"]["error"] is None
    hits = core.searcher.search("find_user", top_k=3)
    assert hits[0].as_dict()["repo"] == "shop" and hits[0].as_dict()["commit"] == project.head()
    # GitLab's header works too; an edit is indexed at the new head
    new = project.commit({"src/users.py": module("find_user", "rename_user")})
    client.cookies.clear()
    assert webhook(client, **{"x-gitlab-token": SECRET}).status_code == 202
    client.post("/api/login", json={"username": "admin", "password": PASSWORD})
    assert wait_commit(client, new)["units"] == 3


def test_a_signed_body_is_accepted_and_a_forged_one_refused(
    server: tuple[App, TestClient], project: GitRepo
) -> None:
    _core, client = server
    body = b'{"ref": "refs/heads/main"}'
    good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    forged = "sha256=" + hmac.new(SECRET.encode(), body + b" ", hashlib.sha256).hexdigest()
    refused = client.post(
        "/api/repos/shop/sync", content=body, headers={"x-hub-signature-256": forged}
    )
    assert refused.status_code == 401
    accepted = client.post(
        "/api/repos/shop/sync", content=body, headers={"x-hub-signature-256": good}
    )
    assert accepted.status_code == 202, accepted.text
    signup(client, "admin")
    wait_commit(client, project.head())


def test_callers_without_the_secret_are_refused_before_any_lookup(
    server: tuple[App, TestClient],
) -> None:
    _core, client = server
    signup(client, "admin")
    signup(client, "member")  # logged in as a member now: not an admin
    assert webhook(client).status_code == 401
    assert listed(client)["shop"].get("path") is None  # where it lives: admins only
    client.cookies.clear()
    assert webhook(client, authorization="Bearer wrong-secret-0123456789").status_code == 401
    # an unknown name is not told to a caller without the secret
    assert client.post("/api/repos/nothing/sync").status_code == 401
    assert (
        client.post("/api/repos/nothing/sync", headers={"authorization": f"Bearer {SECRET}"})
    ).status_code == 404
    big = client.post(
        "/api/repos/shop/sync", content=b"x" * 2_000_000,
        headers={"authorization": f"Bearer {SECRET}"},
    )  # fmt: skip
    assert big.status_code == 413


def test_failed_proofs_are_limited_per_client(server: tuple[App, TestClient]) -> None:
    _core, client = server
    codes = [webhook(client, authorization="Bearer nope").status_code for _ in range(25)]
    assert codes[0] == 401 and codes[-1] == 429
    body = b"{}"
    signed = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    limited = client.post(
        "/api/repos/shop/sync", content=body, headers={"x-hub-signature-256": signed}
    )
    assert limited.status_code == 429  # a signature is checked only within the limit
    # the secret itself still passes: behind a proxy every caller may share one address
    assert webhook(client, authorization=f"Bearer {SECRET}").status_code == 202


def test_a_failed_sync_tells_members_only_that_it_failed(
    server: tuple[App, TestClient], project: GitRepo
) -> None:
    _core, client = server
    signup(client, "admin")
    shutil.rmtree(project.path / ".git")  # the repository is gone
    assert webhook(client).status_code == 202
    deadline = time.monotonic() + 30
    while (shop := listed(client)["shop"])["sync"]["error"] is None:
        assert time.monotonic() < deadline, shop
        time.sleep(0.1)
    assert str(project.path) in shop["sync"]["error"]  # the admin sees git's own words
    signup(client, "member")
    shown = listed(client)["shop"]["sync"]["error"]
    assert shown == SYNC_FAILED and str(project.path) not in str(listed(client))


def test_the_sync_thread_outlives_a_registry_failure(
    tmp_path: Path, project: GitRepo, embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tmp_path / "data", sync_interval_s=0.2)
    core = build_app(settings, llm=ScriptedLLM(lambda _m: "요약"), embedder=embedder)
    registry = build_repo_registry(settings)
    build_repo_sources(core, registry).add(str(project.path))
    registry.close()
    failures = iter([StoreError("데이터베이스 연결이 끊겼습니다")] * 3)
    real_get = RepoSources.get

    def flaky_get(self: RepoSources, name: str) -> Repo:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real_get(self, name)

    monkeypatch.setattr(RepoSources, "get", flaky_get)
    service = RepoSyncService(core, summarize=False)
    service.start()
    try:
        deadline = time.monotonic() + 60
        while service.statuses()[0][0].repo.commit != project.head():
            assert time.monotonic() < deadline, "the schedule stopped after the failures"
            time.sleep(0.1)
    finally:
        service.stop()
        core.close()
    with pytest.raises(RepoError):  # stopped: never opened again
        service.request("shop")


@pytest.mark.parametrize("server", [{}], indirect=True)
def test_without_a_configured_secret_only_an_admin_syncs(
    server: tuple[App, TestClient], project: GitRepo
) -> None:
    _core, client = server
    client.cookies.clear()
    assert webhook(client, authorization=f"Bearer {SECRET}").status_code == 401
    signup(client, "admin")
    assert webhook(client).status_code == 202
    shop = wait_commit(client, project.head())
    assert shop["path"] == str(project.path)


@pytest.mark.parametrize("server", [{"sync_interval_s": 0.5}], indirect=True)
def test_the_schedule_syncs_registered_repositories(
    server: tuple[App, TestClient], project: GitRepo
) -> None:
    _core, client = server
    signup(client, "member0")
    wait_commit(client, project.head())
    new = project.commit({"src/orders.py": module("load_orders", "cancel_order")})
    wait_commit(client, new)


def test_the_file_view_shows_the_indexed_version_only(
    server: tuple[App, TestClient], project: GitRepo
) -> None:
    _core, client = server
    signup(client, "admin")
    assert webhook(client).status_code == 202
    indexed = wait_commit(client, project.head())["commit"]
    project.commit({"src/users.py": module("find_user", "unsynced_edit")})  # not synced
    shown = client.get("/api/repos/shop/file", params={"path": "src/users.py"})
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["commit"] == indexed and body["language"] == "python"
    assert "def find_user" in body["text"] and "unsynced_edit" not in body["text"]
    for path in (
        "../shop/src/users.py", "/etc/passwd", "src/../../x", "src/nothing.py", "a" * 300,
        "/".join(["d" * 200] * 30), ".git/config",
    ):  # fmt: skip
        refused = client.get("/api/repos/shop/file", params={"path": path})
        assert refused.status_code == 404, path
    client.cookies.clear()
    assert client.get("/api/repos/shop/file", params={"path": "src/users.py"}).status_code == 401
