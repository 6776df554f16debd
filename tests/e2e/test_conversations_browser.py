"""Conversations in the browser (Playwright + Chromium, a scripted LLM that answers with the
memory it was given): two conversations keep their own history and memory across a reload,
rename (titles drawn as text, never HTML) and delete work, "기억 지우기" empties the memory
and keeps the history on screen, and an answer finishing in another conversation is not
drawn into the one shown."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.protocol import ChatMessage
from tests.browser_support import sign_up
from tests.scripted_llm import ScriptedLLM
from tests.server_support import make_server
from tests.web_server import running_server

pytestmark = pytest.mark.e2e
SLOW = "천천히"
HOSTILE_TITLE = '<img src=x onerror="window.__xss=1">배포'


def remembered(messages: Sequence[ChatMessage]) -> str:
    """The user turns of the memory the server gave (between system prompt and question)."""
    if SLOW in messages[-1].content:
        time.sleep(2.0)  # still answering after the user switched conversations
    return "기억=" + "|".join(m.content for m in messages[1:-1] if m.role == "user")


@pytest.fixture
def url(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[str]:
    core, api = make_server(tmp_path / "data", ScriptedLLM(remembered), embedder)
    with running_server(api) as base:
        yield base
    core.close()


def ask(page: Any, question: str) -> str:
    """Send in the conversation shown; the text of its answer."""
    answers = page.locator(".message.assistant .bubble:not(.typing)")
    before = answers.count()
    page.fill("#input", question)
    page.press("#input", "Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('.message.assistant .tools').length > n",
        arg=before, timeout=30000,
    )  # fmt: skip
    return str(page.locator(".message.assistant .bubble").last.inner_text())


def shown_questions(page: Any) -> list[str]:
    return [str(q) for q in page.locator(".message.user .bubble").all_inner_texts()]


def titles(page: Any) -> list[str]:
    return [str(t) for t in page.locator(".conversation-title").all_inner_texts()]


def open_conversation(page: Any, title: str) -> None:
    page.locator(".conversation-title", has_text=title).click()
    page.wait_for_selector(".conversation.current")
    page.wait_for_function(
        "t => document.querySelector('.conversation.current .conversation-title')"
        "?.textContent === t",
        arg=title,
    )
    page.wait_for_selector(".marker, .greeting")


def test_two_conversations_rename_delete_and_forget(browser: Any, url: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_up(page, url, "alice")
    assert page.locator(".conversation").count() == 0
    assert ask(page, "내 이름은 민수야") == "기억="
    page.wait_for_function("() => document.querySelectorAll('.conversation').length === 1")
    assert titles(page) == ["내 이름은 민수야"]

    page.click("#new-conversation")
    page.wait_for_function("() => document.querySelectorAll('.conversation').length === 2")
    page.wait_for_selector(".greeting")
    assert shown_questions(page) == []
    assert ask(page, "내 이름은 철수야") == "기억="
    assert ask(page, "내 이름이 뭐야?") == "기억=내 이름은 철수야"
    page.wait_for_function(
        "() => document.querySelector('.conversation-title')?.textContent === '내 이름은 철수야'"
    )

    page.reload()  # the same conversation comes back, with its own history only
    page.wait_for_selector(".marker")
    assert shown_questions(page) == ["내 이름은 철수야", "내 이름이 뭐야?"]
    assert titles(page) == ["내 이름은 철수야", "내 이름은 민수야"]
    open_conversation(page, "내 이름은 민수야")
    assert shown_questions(page) == ["내 이름은 민수야"]
    assert ask(page, "내 이름이 뭐야?") == "기억=내 이름은 민수야"

    # An answer still coming for one conversation is not drawn into another.
    open_conversation(page, "내 이름은 철수야")
    page.fill("#input", f"{SLOW} 답해 줘")
    page.press("#input", "Enter")
    open_conversation(page, "내 이름은 민수야")
    time.sleep(3.0)
    assert shown_questions(page) == ["내 이름은 민수야", "내 이름이 뭐야?"]
    assert "기억=내 이름은 철수야" not in page.locator("#messages").inner_text()
    open_conversation(page, "내 이름은 철수야")
    assert shown_questions(page)[-1] == f"{SLOW} 답해 줘"

    # Forget: the history stays shown, the memory starts afresh.
    open_conversation(page, "내 이름은 민수야")
    page.click("#forget-memory")
    page.wait_for_selector(".marker.forgotten")
    assert shown_questions(page) == ["내 이름은 민수야", "내 이름이 뭐야?"]
    assert ask(page, "내 이름이 뭐야?") == "기억="
    page.reload()
    page.wait_for_selector(".marker")
    assert shown_questions(page) == ["내 이름은 민수야", "내 이름이 뭐야?", "내 이름이 뭐야?"]

    # Rename: a hostile title stays text.
    page.once("dialog", lambda dialog: dialog.accept(HOSTILE_TITLE))
    page.locator(".conversation.current .conversation-rename").click()
    page.wait_for_function(
        "t => document.querySelector('.conversation.current .conversation-title')"
        "?.textContent === t",
        arg=HOSTILE_TITLE,
    )
    assert page.locator(".conversations img").count() == 0
    assert page.evaluate("() => window.__xss") is None

    # Delete (after the confirmation): the other conversation is shown.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".conversation.current .conversation-delete").click()
    page.wait_for_function("() => document.querySelectorAll('.conversation').length === 1")
    page.wait_for_selector(".marker")
    assert titles(page) == ["내 이름은 철수야"]
    assert shown_questions(page)[0] == "내 이름은 철수야"
    page.reload()
    page.wait_for_selector(".marker")
    assert titles(page) == ["내 이름은 철수야"]
    assert not errors, errors
    page.close()
