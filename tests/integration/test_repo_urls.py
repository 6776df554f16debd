"""Repositories added by URL, with a real bare "remote" made by the `git` binary in the test's
folder and reached by `file://` (no network): the clone becomes a mirror in the data
directory, each sync fetches first (new commits, a force-push that rewrites history), the
branch defaults to the remote's HEAD; URLs git could turn against the machine (`ext::`,
options, control characters) are refused before git runs; a failed clone leaves nothing; a
token in a URL is never printed by `repo list`, errors or `GET /api/repos`."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ragcode.app import App, build_app, build_repo_registry, build_repo_sources
from ragcode.cli import main
from ragcode.config import Settings
from ragcode.embeddings.local import LocalEmbedder
from ragcode.repos.protocol import RepoError, RepoRegistry
from ragcode.repos.sources import RepoSources
from ragcode.repos.sync import SyncMode
from ragcode.repos.urls import redact
from ragcode.server.factory import create_app
from tests.conftest import TEST_MODEL
from tests.git_repos import GitRepo, module
from tests.scripted_llm import ScriptedLLM
from tests.server_support import TEST_HOSTS, signup

pytestmark = pytest.mark.integration

TOKEN = "s3cret-token-0123"
# Nothing listens on port 1: a fetch from this URL fails at once, without a network.
SECRET_URL = f"https://alice:{TOKEN}@127.0.0.1:1/team/shop.git"


@dataclass
class Remote:
    """A developer's clone (`work`) pushing to a bare repository (`bare`), the "server"."""

    work: GitRepo
    bare: Path

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def push(self, *, force: bool = False) -> str:
        self.work.git("push", "-q", *(["--force"] if force else []), "origin", "HEAD:main")
        return self.work.head()


def bare_repo(path: Path, branch: str = "main") -> Path:
    subprocess.run(["git", "init", "-q", "--bare", "-b", branch, str(path)], check=True)
    return path


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    bare = bare_repo(tmp_path / "server" / "shop.git")
    work = GitRepo(tmp_path / "work")
    work.git("remote", "add", "origin", str(bare))
    work.commit({"src/orders.py": module("load_orders"), "src/users.py": module("find_user")})
    found = Remote(work, bare)
    found.push()
    return found


@dataclass
class Sources:
    app: App
    registry: RepoRegistry
    repos: RepoSources
    data: Path

    def units(self, name: str) -> set[tuple[str, str]]:
        root = self.repos.get(name).root
        stored = self.app.store.get_units(list(self.app.store.summary_states(root))).values()
        return {(s.record.path, s.record.title) for s in stored}


@pytest.fixture
def sources(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[Sources]:
    settings = Settings(data_dir=tmp_path / "data", search={"expand_query": False})
    app = build_app(settings, llm=ScriptedLLM(lambda _m: "요약"), embedder=embedder)
    registry = build_repo_registry(settings)
    yield Sources(app, registry, build_repo_sources(app, registry), settings.data_dir)
    registry.close()
    app.close()


def test_a_url_is_mirrored_and_each_sync_fetches_first(sources: Sources, remote: Remote) -> None:
    repo = sources.repos.add(remote.url)
    mirror = sources.data / "repos" / "shop" / "mirror.git"
    assert (repo.name, repo.branch, repo.path) == ("shop", "main", str(mirror.resolve()))
    assert sources.repos.mirror_url(repo) == remote.url
    first = sources.repos.sync("shop")
    assert first.mode is SyncMode.FIRST and first.commit == remote.work.head()
    assert sources.units("shop") == {
        ("src/orders.py", "load_orders"),
        ("src/users.py", "find_user"),
    }

    # New commits on the remote: one sync shows them (the mirror is fetched first).
    remote.work.commit({"src/cart.py": module("add_to_cart")}, delete=["src/users.py"])
    second = remote.push()
    report = sources.repos.sync("shop")
    assert (report.mode, report.previous, report.commit) == (SyncMode.CHANGES, first.commit, second)
    assert sources.units("shop") == {
        ("src/orders.py", "load_orders"),
        ("src/cart.py", "add_to_cart"),
    }

    # A force-push that rewrites history: the index ends equal to the new head.
    remote.work.git("reset", "-q", "--hard", first.commit)
    remote.work.commit({"src/payments.py": module("pay")}, message="다시 쓴 이력")
    rewritten = remote.push(force=True)
    report = sources.repos.sync("shop")
    assert report.commit == rewritten and report.rewritten
    assert sources.units("shop") == {
        ("src/orders.py", "load_orders"), ("src/users.py", "find_user"), ("src/payments.py", "pay"),
    }  # fmt: skip
    assert sources.repos.sync("shop").mode is SyncMode.UNCHANGED

    # Removing it removes the mirror with the rest of the repository's folder.
    sources.repos.remove("shop")
    assert not (sources.data / "repos" / "shop").exists()


def test_the_branch_defaults_to_the_remotes_head(sources: Sources, tmp_path: Path) -> None:
    bare = bare_repo(tmp_path / "server" / "lib.git", branch="develop")
    work = GitRepo(tmp_path / "lib", branch="develop")
    work.commit({"lib.py": module("on_develop")})
    work.git("push", "-q", str(bare), "develop")
    work.git("checkout", "-q", "-b", "main")
    work.commit({"lib.py": module("on_main")})
    work.git("push", "-q", str(bare), "main")
    assert sources.repos.add(bare.as_uri()).branch == "develop"
    chosen = sources.repos.add(bare.as_uri(), name="lib-main", branch="main")
    assert chosen.branch == "main"
    sources.repos.sync("lib-main")
    assert sources.units("lib-main") == {("lib.py", "on_main")}
    with pytest.raises(RepoError, match="브랜치를 찾을 수 없습니다: release"):
        sources.repos.add(bare.as_uri(), name="lib-release", branch="release")
    assert not (sources.data / "repos" / "lib-release").exists()


@pytest.mark.parametrize(
    "url",
    [
        "ext::sh -c touch% {sentinel}",
        "ext::sh%20-c%20touch%20{sentinel}",
        "fd::17",
        "file::{bare}",
        "-oProxyCommand=touch {sentinel}",
        "--upload-pack=touch {sentinel}",
        "ssh://-oProxyCommand=touch%20{sentinel}/x",
        "git@-oProxyCommand=x:team/shop.git",
        "https://example.com/a b.git",
        "https://example.com/a\nb.git",
        "https://example.com/a%0ab.git",
        "https://example.com/a\u200bb.git",
        "ftp://example.com/shop.git",
        "file://otherhost/srv/shop.git",
    ],
)
def test_dangerous_urls_are_refused_before_git_runs(
    sources: Sources, remote: Remote, tmp_path: Path, url: str
) -> None:
    sentinel = tmp_path / "pwned"
    url = url.format(sentinel=sentinel, bare=remote.bare)
    with pytest.raises(RepoError, match="저장소 URL 로 쓸 수 없습니다"):
        sources.repos.add(url, name="shop")
    assert not sentinel.exists()
    assert sources.repos.all() == []
    assert not (sources.data / "repos" / "shop").exists()


def test_a_failed_clone_leaves_nothing(sources: Sources, remote: Remote, tmp_path: Path) -> None:
    missing = (tmp_path / "nowhere" / "shop.git").as_uri()
    with pytest.raises(RepoError, match="git clone 실패"):
        sources.repos.add(missing)
    with pytest.raises(RepoError) as failed:  # a refused connection: a token is never shown
        sources.repos.add(SECRET_URL)
    assert TOKEN not in str(failed.value)
    assert sources.repos.all() == []
    assert not (sources.data / "repos" / "shop").exists()
    # A name already taken is refused before any network (the URL would fail otherwise).
    local = GitRepo(tmp_path / "local")
    local.commit({"a.py": module("a")})
    sources.repos.add(str(local.path), name="shop")
    with pytest.raises(RepoError, match="이미 등록된 저장소 이름입니다: shop"):
        sources.repos.add(missing)
    assert [repo.path for repo in sources.repos.all()] == [str(local.path)]


def test_a_remote_that_never_answers_times_out_and_leaves_nothing(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    settings = Settings(data_dir=tmp_path / "data", repos={"timeout_s": 2})
    app = build_app(settings, llm=ScriptedLLM(lambda _m: "요약"), embedder=embedder)
    registry = build_repo_registry(settings)
    with socket.socket() as silent:  # accepts the connection, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"git://127.0.0.1:{silent.getsockname()[1]}/team/shop.git"
        started = time.monotonic()
        try:
            with pytest.raises(RepoError, match="2초 안에 끝나지 않았습니다"):
                build_repo_sources(app, registry).add(url)
        finally:
            registry.close()
            app.close()
    assert time.monotonic() - started < 30
    assert not (settings.data_dir / "repos" / "shop").exists()


class AskForPassword(BaseHTTPRequestHandler):
    """A private repository: every request wants credentials."""

    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="private"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def test_a_private_repository_without_credentials_fails_at_once(
    sources: Sources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No prompt, and no askpass program inherited from the environment, can hold it up."""
    waiting = tmp_path / "askpass.sh"
    waiting.write_text("#!/bin/sh\nsleep 120\n")
    waiting.chmod(0o755)
    for variable in ("GIT_ASKPASS", "SSH_ASKPASS"):
        monkeypatch.setenv(variable, str(waiting))
    server = ThreadingHTTPServer(("127.0.0.1", 0), AskForPassword)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(RepoError, match="인증 정보가 필요합니다"):
            sources.repos.add(f"http://127.0.0.1:{server.server_port}/team/shop.git")
        assert time.monotonic() - started < 30
    finally:
        server.shutdown()
        server.server_close()
    assert sources.repos.all() == []
    assert not (sources.data / "repos" / "shop").exists()


def test_redaction() -> None:
    assert redact(SECRET_URL) == "https://alice:***@127.0.0.1:1/team/shop.git"
    assert redact(f"https://{TOKEN}@host/x.git") == "https://***@host/x.git"
    assert redact("ssh://git@host/x.git") == "ssh://git@host/x.git"  # a user name, no secret
    assert redact(f"오류: 'http://bob:{TOKEN}@h/x' 실패") == "오류: 'http://bob:***@h/x' 실패"


def with_token(sources: Sources) -> None:
    """The mirror as if added from a URL with a token (the token lives in its git config)."""
    mirror = sources.repos.get("shop").path
    subprocess.run(["git", "-C", mirror, "config", "remote.origin.url", SECRET_URL], check=True)


def test_credentials_are_never_shown(
    capsys: pytest.CaptureFixture[str], data_dir: Path, remote: Remote,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("RAGCODE_LLM__MODEL", TEST_MODEL)
    assert main(["repo", "add", "--data-dir", str(data_dir), remote.url]) == 0
    assert main(["repo", "sync", "shop", "--no-summaries", "--data-dir", str(data_dir)]) == 0
    mirror = data_dir / "repos" / "shop" / "mirror.git"
    subprocess.run(
        ["git", "-C", str(mirror), "config", "remote.origin.url", SECRET_URL], check=True
    )
    capsys.readouterr()
    assert main(["repo", "list", "--json", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    [listed] = json.loads(out)
    assert TOKEN not in out and listed["url"] == redact(SECRET_URL)
    assert listed["path"] == str(mirror.resolve())
    assert main(["repo", "list", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert TOKEN not in out and "https://alice:***@127.0.0.1:1/team/shop.git" in out
    # The fetch fails (nothing listens there): the error names the URL without its token.
    assert main(["repo", "sync", "shop", "--no-summaries", "--data-dir", str(data_dir)]) == 2
    captured = capsys.readouterr()
    assert "git fetch 실패" in captured.err and TOKEN not in captured.err + captured.out
    # Refused on the command line too (after `--`, argparse passes an option-like URL on).
    code = main(["repo", "add", "--data-dir", str(data_dir), "--", "-oProxyCommand=true"])
    assert code == 2 and "저장소 URL 로 쓸 수 없습니다" in capsys.readouterr().err


def test_the_api_shows_admins_the_url_without_its_token(
    tmp_path: Path, remote: Remote, embedder: LocalEmbedder
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", server={"allowed_hosts": TEST_HOSTS, "summarize": False},
        search={"expand_query": False},
    )  # fmt: skip
    core = build_app(settings, llm=ScriptedLLM(lambda _m: "요약"), embedder=embedder)
    registry = build_repo_registry(settings)
    repos = build_repo_sources(core, registry)
    repos.add(remote.url)
    with_token(Sources(core, registry, repos, settings.data_dir))
    registry.close()
    try:
        with TestClient(create_app(core)) as client:
            signup(client, "admin")
            response = client.get("/api/repos")
            assert response.status_code == 200 and TOKEN not in response.text
            [shop] = response.json()["repos"]
            assert shop["url"] == redact(SECRET_URL) and shop["path"].endswith("mirror.git")
            assert client.post("/api/repos/shop/sync").status_code == 202
            for _ in range(600):  # the fetch fails: its error is shown, without the token
                shop = client.get("/api/repos").json()["repos"][0]
                if shop["sync"]["error"]:
                    break
                time.sleep(0.05)
            assert "git fetch 실패" in shop["sync"]["error"] and TOKEN not in str(shop)
    finally:
        core.close()
