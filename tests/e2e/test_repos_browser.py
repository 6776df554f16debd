"""Git repositories in the browser (Playwright + Chromium, a real repository made by `git`, a
scripted LLM): the sidebar lists the team's repositories, an admin syncs one and sees its
indexed commit and units, a member gets no sync button, and a code answer's reference names
the repository and commit and opens the whole file as it was indexed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ragcode.app import build_repo_registry, build_repo_sources
from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.protocol import ChatMessage
from tests.browser_support import sign_up
from tests.git_repos import GitRepo
from tests.server_support import make_server
from tests.web_server import running_server

pytestmark = pytest.mark.e2e
GREETER = '''def greet(name):
    """Return a friendly greeting for a person."""
    message = "Hello, " + name
    print(message)
    return message


def farewell(name):
    """Say goodbye to a person."""
    return "Bye, " + name
'''


class AnswerLLM:
    name = "answer"

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:  # fmt: skip
        yield "```python\ndef greet_all(names):\n    return [greet(n) for n in names]\n```\n"


@pytest.fixture
def project(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "shop")
    repo.commit({"src/greeter.py": GREETER})
    return repo


@pytest.fixture
def url(tmp_path: Path, project: GitRepo, embedder: LocalEmbedder) -> Iterator[str]:
    core, api = make_server(tmp_path / "data", AnswerLLM(), embedder, summarize=False)
    registry = build_repo_registry(core.settings)
    build_repo_sources(core, registry).add(str(project.path))
    registry.close()
    with running_server(api) as base:
        yield base
    core.close()


def open_page(browser: Any, url: str, username: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_up(page, url, username)
    return page


def test_an_admin_syncs_a_repository_and_references_open_its_files(
    browser: Any, url: str, project: GitRepo
) -> None:
    admin = open_page(browser, url, "admin")  # the first account is an admin
    errors: list[str] = []
    admin.on("pageerror", lambda error: errors.append(str(error)))
    row = admin.locator('.repo[data-repo="shop"]')
    row.wait_for()
    assert row.locator(".repo-commit").inner_text() == "-"
    row.locator(".repo-sync").click()
    head = project.head()
    admin.wait_for_function(
        "short => document.querySelector('.repo-commit')?.textContent === short", arg=head[:12],
        timeout=60000,
    )  # fmt: skip
    assert "2 단위" in row.inner_text()

    admin.select_option("#mode-select", "code")
    admin.fill("#input", "사람 이름으로 인사말을 만드는 함수")
    admin.press("#input", "Enter")
    reference = admin.locator(".reference").filter(has_text="greet").first
    reference.wait_for(timeout=30000)
    assert reference.locator(".reference-repo code").inner_text() == f"shop@{head[:7]}"
    reference.locator(".reference-file").click()
    whole = reference.locator(".reference-whole-file")
    whole.wait_for()
    assert "def farewell" in whole.inner_text() and "def greet" in whole.inner_text()
    assert not errors, errors
    admin.close()

    member = open_page(browser, url, "member")
    member.locator('.repo[data-repo="shop"]').wait_for()
    assert member.locator(".repo-sync").count() == 0
    assert member.locator(".repo-commit").inner_text() == head[:12]
    member.close()
