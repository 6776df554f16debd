"""Choosing the code language (issue 15.2) as a person does it (Playwright + Chromium over a
real uvicorn, the real store and embedder; a scripted LLM): the choice shows in code mode
only, lists "자동" and the languages the user's code holds with their unit counts, is kept
across a reload, and a question asked with JavaScript chosen shows JavaScript references
only (the same question on auto shows Python too)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.protocol import ChatMessage
from tests.browser_support import sign_up
from tests.mixed_languages import QUESTION, write_mixed_project
from tests.scripted_llm import ScriptedLLM
from tests.server_support import make_server
from tests.web_server import running_server

pytestmark = pytest.mark.e2e


def scripted(messages: Sequence[ChatMessage]) -> str:
    # The system prompt names the language the answer is asked in.
    language = "javascript" if "javascript" in messages[0].content else "python"
    return f"```{language}\n# 예시\n```"


@pytest.fixture
def web(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[str]:
    core, api = make_server(tmp_path / "data", ScriptedLLM(scripted), embedder)
    core.indexer.index(write_mixed_project(tmp_path / "project"))
    with running_server(api) as base:
        yield base
    core.close()


def ask_code(page: Any, n: int) -> list[str]:
    """Ask QUESTION and wait for the n-th answer; the paths of its references."""
    page.fill("#input", QUESTION)
    page.press("#input", "Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('.message.assistant .references').length === n",
        arg=n, timeout=60000,
    )  # fmt: skip
    last = page.locator(".message.assistant").nth(n - 1)
    places = last.locator(".reference-location").all_inner_texts()
    return [str(where).split(":")[0] for where in places]


def test_a_chosen_language_shows_only_its_references(browser: Any, web: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_up(page, web, "alice")
    choice = page.locator("#code-language")
    assert choice.is_hidden()  # not a code question: no language to choose
    page.select_option("#mode-select", "code")
    assert choice.is_visible()
    assert choice.locator("span").inner_text() == "코드 언어"
    options = page.locator("#code-language-select option").all_inner_texts()
    assert options == ["자동", "Python (2)", "JavaScript (2)"]
    assert page.input_value("#code-language-select") == "auto"

    paths = ask_code(page, 1)
    assert {path.rsplit(".", 1)[-1] for path in paths} == {"py", "js"}, paths

    page.select_option("#code-language-select", "javascript")
    paths = ask_code(page, 2)
    assert paths and all(path.endswith(".js") for path in paths), paths
    # The answer was asked in JavaScript (the scripted model writes what the prompt names).
    labels = page.locator(".message.assistant").nth(1).locator(".bubble .code-lang")
    assert labels.all_inner_texts() == ["javascript"]

    page.reload()
    page.wait_for_selector("#main:not([hidden])")
    page.wait_for_selector("#code-language:not([hidden])")  # code mode is remembered too
    assert page.input_value("#code-language-select") == "javascript"
    page.click("#main .lang-toggle")
    assert choice.locator("span").inner_text() == "Code language"
    assert page.locator("#code-language-select option").first.inner_text() == "Auto"
    assert page.input_value("#code-language-select") == "javascript"
    page.select_option("#mode-select", "normal")
    assert choice.is_hidden()
    assert errors == []
    page.close()
