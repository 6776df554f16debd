"""What a person sees of connection health, answer limits and message times, in Chromium.

- A half-open socket (frames stop arriving, nothing closes): the page notices the missing
  pong, says so, reconnects, and a message typed meanwhile is answered exactly once.
- An answer cut at its mode's budget: a notice under it and "계속", which continues it.
- Times on messages (the history's stored time for old turns, in the reader's zone), a
  greeting on a first login and "대화를 다시 시작합니다" where a restored history ends.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ragcode.chat.prompts import continuation
from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.protocol import ChatMessage, FinishReason
from tests.server_support import PASSWORD, make_server
from tests.web_server import running_server

pytestmark = pytest.mark.e2e
ZONE = "Asia/Seoul"

# Every WebSocket of the page can be made deaf: its incoming frames (pongs, answers) stop
# reaching the page while what the page sends still goes out, as on a half-open connection.
DEAF_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  class Deafenable extends Native {
    constructor(...args) { super(...args); this.__deaf = false; window.__sockets.push(this); }
    addEventListener(type, listener, options) {
      if (type !== "message") return super.addEventListener(type, listener, options);
      const gated = (event) => { if (!this.__deaf) listener.call(this, event); };
      return super.addEventListener(type, gated, options);
    }
  }
  window.WebSocket = Deafenable;
  window.__deafen = () => { for (const socket of window.__sockets) socket.__deaf = true; };
})();
"""
# Records every status the connection label takes (some last only a moment).
WATCH_LABEL = """
(() => {
  const label = document.getElementById("connection");
  window.__statuses = [label.dataset.status];
  new MutationObserver(() => window.__statuses.push(label.dataset.status))
    .observe(label, { attributes: true, attributeFilter: ["data-status"] });
})();
"""


class WordsLLM:
    """Chat answers of 30 words (one a token), cut at `max_tokens` with "length"; asked to
    continue, the rest in a few words. Records the questions it was asked."""

    name = "words"

    def __init__(self) -> None:
        self.calls: list[list[ChatMessage]] = []

    def questions(self) -> list[str]:
        return [call[1].content for call in self.calls if len(call) > 1]

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Generator[str, None, FinishReason]:  # fmt: skip
        self.calls.append(list(messages))
        if messages[-1].content in (continuation.CONTINUE_KO, continuation.CONTINUE_EN):
            words = ["나머지", "번역", "끝."]
        else:
            words = [f"단어{n}" for n in range(30)]
        for n, word in enumerate(words[:max_tokens]):
            yield word if n == 0 else " " + word
        return "length" if len(words) > max_tokens else "stop"


@pytest.fixture
def served(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[tuple[str, WordsLLM]]:
    llm = WordsLLM()
    core, api = make_server(
        tmp_path / "data",
        llm,
        embedder,
        mode_max_tokens={"translation": 12},
    )
    with running_server(api) as url:
        yield url, llm
    core.close()


def new_page(browser: Any) -> tuple[Any, list[str]]:
    context = browser.new_context(timezone_id=ZONE, locale="ko-KR")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def sign_up(page: Any, url: str, username: str) -> None:
    page.goto(url)
    page.fill("#auth-username", username)
    page.fill("#auth-password", PASSWORD)
    page.click("#signup-button")
    page.wait_for_selector("#main:not([hidden])")
    page.wait_for_selector("#connection[data-status=connected]")


def ask(page: Any, text: str) -> None:
    page.fill("#input", text)
    page.press("#input", "Enter")


def test_a_half_open_socket_is_noticed_and_a_message_typed_meanwhile_answered_once(
    browser: Any, served: tuple[str, WordsLLM]
) -> None:
    url, llm = served
    page, errors = new_page(browser)
    page.add_init_script(DEAF_SOCKETS)
    opened: list[Any] = []
    page.on("websocket", lambda socket: opened.append(socket))
    sign_up(page, url, "halfopen")
    page.evaluate(WATCH_LABEL)
    page.evaluate("window.__deafen()")  # the socket stays open, but nothing arrives any more
    ask(page, "끊긴 줄 모르고 보낸 메시지")
    # The server got it and answered, into the void: the page still waits for it.
    page.wait_for_timeout(1000)
    assert llm.questions() == ["끊긴 줄 모르고 보낸 메시지"]
    assert page.locator(".message.assistant .tools").count() == 0
    # No pong within 5 s of a ping (every 10 s): stalled, a new socket, the answer arrives.
    page.wait_for_selector("#connection[data-status=reconnected]", timeout=25000)
    statuses = page.evaluate("window.__statuses")
    assert statuses[:3] == ["connected", "stalled", "reconnected"], statuses
    assert len(opened) == 2
    page.wait_for_selector(".message.assistant .tools .copy", timeout=10000)
    assert page.locator(".message.assistant").count() == 1
    assert page.inner_text(".message.assistant .bubble").startswith("단어0 단어1")
    # Answered once: the resent request was replayed from the history, not generated again.
    assert llm.questions() == ["끊긴 줄 모르고 보낸 메시지"]
    turns = page.evaluate("fetch('/api/history').then((r) => r.json())")["turns"]
    assert [turn["question"] for turn in turns] == ["끊긴 줄 모르고 보낸 메시지"]
    # The new socket is healthy: the next message is answered at once, on it.
    ask(page, "다시 연결된 뒤의 메시지")
    page.locator(".message.assistant .tools").nth(1).wait_for(timeout=10000)
    assert page.get_attribute("#connection", "data-status") == "reconnected"
    assert not errors, errors
    page.context.close()


def test_a_cut_answer_shows_a_notice_and_계속_continues_it(
    browser: Any, served: tuple[str, WordsLLM]
) -> None:
    url, llm = served
    page, errors = new_page(browser)
    sign_up(page, url, "limits")
    page.select_option("#mode-select", "translation")
    ask(page, "이 긴 글을 영어로 번역해 주세요")
    notice = page.wait_for_selector(".message.assistant .truncated")
    assert "길이 제한에서 끊겼습니다" in notice.inner_text()
    first = page.inner_text(".message.assistant .bubble")
    assert first.startswith("단어0") and "단어11" in first and "단어12" not in first
    page.click(".truncated .continue")
    page.locator(".message.assistant .tools").nth(1).wait_for(timeout=10000)
    assert page.is_disabled(".truncated .continue")  # once only
    assert page.locator(".message.user .bubble").nth(1).inner_text() == "계속"
    assert page.locator(".message.assistant .bubble").nth(1).inner_text() == "나머지 번역 끝."
    assert page.locator(".truncated").count() == 1  # the continuation ended by itself
    # The model was given the question and the cut answer, then asked to go on.
    asked = llm.calls[-1]
    assert asked[1].content == "이 긴 글을 영어로 번역해 주세요"
    assert asked[2].role == "assistant" and asked[2].content == first
    assert asked[3].content == continuation.CONTINUE_KO
    # The history keeps the continuation as a turn of its own, shown after a reload.
    page.reload()
    page.wait_for_selector(".marker")
    users = page.locator(".message.user .bubble").all_inner_texts()
    assert users == ["이 긴 글을 영어로 번역해 주세요", "계속"]
    assert page.locator(".message.assistant .bubble").nth(1).inner_text() == "나머지 번역 끝."
    page.click("#main .lang-toggle")
    assert page.inner_text(".marker .marker-text") == "Resuming the conversation"
    page.click("#main .lang-toggle")
    assert not errors, errors
    page.context.close()


def local_time(stored: str, english: bool = False) -> str:
    """The clock time the page shows for a stored UTC time, in the page's zone (today)."""
    when = datetime.fromisoformat(stored).astimezone(ZoneInfo(ZONE))
    hour = when.hour % 12 or 12
    if english:
        return f"{hour}:{when.minute:02d} {'AM' if when.hour < 12 else 'PM'}"
    return f"{'오전' if when.hour < 12 else '오후'} {hour}:{when.minute:02d}"


def test_times_a_greeting_and_the_restored_marker(
    browser: Any, served: tuple[str, WordsLLM]
) -> None:
    url, _ = served
    page, errors = new_page(browser)
    sign_up(page, url, "minji")
    # First login: a greeting by name, and no marker (there is nothing to restore).
    greeting = page.inner_text(".message.greeting .bubble")
    assert greeting.startswith("안녕하세요, minji님!"), greeting
    assert page.locator(".marker").count() == 0
    ask(page, "안녕하세요")
    page.wait_for_selector(".message.assistant .msg-time")
    clock = re.compile(r"^(오전|오후) \d{1,2}:\d\d$")
    user_time = page.inner_text(".message.user .msg-time")
    assert clock.match(user_time), user_time
    assert clock.match(page.inner_text(".message.assistant .msg-time"))

    # Restored on the next visit: the stored times, the marker after them, no greeting.
    page.reload()
    page.wait_for_selector(".marker")
    turn = page.evaluate("fetch('/api/history').then((r) => r.json())")["turns"][0]
    assert page.locator(".message.greeting").count() == 0
    assert "대화를 다시 시작합니다" in page.inner_text(".marker")
    for side in ("user", "assistant"):
        shown = page.inner_text(f".message.{side} .msg-time")
        assert shown == local_time(turn["time"]), (side, shown, turn["time"])
        stamp = page.get_attribute(f".message.{side} .msg-time", "datetime")
        offset = datetime.fromisoformat(stamp) - datetime.fromisoformat(turn["time"])
        assert abs(offset.total_seconds()) < 0.001, (stamp, turn["time"])  # ms in JS
    order = page.locator("#messages > *").evaluate_all("nodes => nodes.map(n => n.className)")
    assert order == ["message user", "message assistant", "marker"], order
    # English: the same times in English, relabelled in place.
    page.click("#main .lang-toggle")
    shown = page.inner_text(".message.user .msg-time").replace("\u202f", " ")  # ICU's NNBSP
    assert shown == local_time(turn["time"], english=True)
    assert page.inner_text(".message.user .meta").startswith("You · Conversation")
    page.click("#main .lang-toggle")
    # Clearing the history starts over with a greeting.
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#clear-history")
    page.wait_for_selector(".message.greeting")
    assert not errors, errors
    page.context.close()
