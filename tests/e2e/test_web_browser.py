"""The web client in headless Chromium (Playwright) against a real uvicorn on loopback.

The flows use a scripted LLM (fast, deterministic); one test goes through the real model.
Screenshots of the main screens are written to tests/artifacts.py's folder (not docs/).
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from ragcode.app import App
from ragcode.chat.prompts.rewrite import REWRITE_SYSTEM
from ragcode.embeddings.local import LocalEmbedder
from ragcode.ingest.summary_prompt import SUMMARY_SYSTEM
from ragcode.llm.protocol import ChatMessage
from ragcode.server.eta import remaining_text
from ragcode.server.factory import create_app
from tests.artifacts import artifacts_dir
from tests.browser_support import GREETER_PY, sign_up
from tests.server_support import make_server
from tests.web_server import free_port, running_server

pytestmark = pytest.mark.e2e
SCREENSHOTS = artifacts_dir()  # never docs/: docs/take_screenshots.py takes those
SUMMARIES = {
    "greet": "이름을 받아 인사말을 만들어 출력하고 돌려준다.",
    "farewell": "이름을 받아 작별 인사를 출력하고 돌려준다.",
}
CODE_ANSWER = (
    "```python\ndef greet_all(names):\n    # 팀의 greet 를 재사용합니다\n"
    "    return [greet(name) for name in names]\n```\n"
    "[1]의 `greet` 함수를 **그대로** 재사용해 여러 사람에게 인사합니다."
)


class PacedLLM:
    """Scripted answers streamed slowly enough that a person (and the test) sees them arrive."""

    name = "paced"

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:  # fmt: skip
        system = messages[0].content
        if system == REWRITE_SYSTEM:  # a follow-up made standalone: the question as it is
            yield messages[-1].content.split("후속 질문: ", 1)[-1].split("\n", 1)[0]
            return
        if system == SUMMARY_SYSTEM:  # a unit summary during ingestion
            match = re.search(r"이름: (\S+)", messages[-1].content)
            name = match.group(1) if match else ""
            description = SUMMARIES.get(name, "어떤 일을 하는 함수이다.")
            yield f"설명: {description}\n검색어: 인사, 이름\n질문: 인사는 어떻게 하나요?"
            return
        text = (
            CODE_ANSWER if "```" in system else "안녕하세요! ragcode 입니다. 무엇을 도와드릴까요?"
        )
        for start in range(0, len(text), 4):
            time.sleep(0.04)
            yield text[start : start + 4]


@pytest.fixture
def scripted_url(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[str]:
    core, api = make_server(tmp_path / "data", PacedLLM(), embedder)
    with running_server(api) as url:
        yield url
    core.close()


def test_chat_upload_code_and_history(browser: object, scripted_url: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(scripted_url)
    page.wait_for_selector("#auth:not([hidden])")
    assert page.inner_text("#login-button") == "로그인"
    page.fill("#auth-username", "jiwoo")
    page.screenshot(path=str(SCREENSHOTS / "login.png"))
    sign_up(page, scripted_url, "jiwoo")

    # A message streams into a bubble, delta by delta, then renders as a whole.
    page.fill("#input", "안녕하세요")
    page.press("#input", "Enter")
    stream = page.wait_for_selector(".message.assistant .bubble .stream")
    partial = stream.inner_text()
    page.wait_for_selector(".message.assistant .tools .copy")
    final = page.inner_text(".message.assistant .bubble")
    assert partial and len(partial) < len(final) and final.startswith("안녕하세요! ragcode")

    # Upload a Python file: each function's Korean summary appears as it completes.
    page.set_input_files(
        "#upload-input",
        files=[{"name": "greeter.py", "mimeType": "text/x-python", "buffer": GREETER_PY}],
    )
    page.wait_for_selector(".unit-summary >> nth=1", state="attached", timeout=30000)
    page.click(".upload-card .unit-toggle")  # the summaries are collapsed in the card
    summaries = page.inner_text(".unit-summaries")
    assert SUMMARIES["greet"] in summaries and SUMMARIES["farewell"] in summaries
    page.wait_for_selector(".document .state-ready")
    page.screenshot(path=str(SCREENSHOTS / "upload.png"))

    # Switch to code mode, ask, open a reference in the code viewer.
    page.select_option("#mode-select", "code")
    page.fill("#input", "여러 사람에게 인사하는 함수를 만들어줘")
    page.press("#input", "Enter")
    page.wait_for_selector(".references .reference-toggle", timeout=30000)
    assert "greet_all" in page.inner_text(".message.assistant >> nth=-1")
    toggle = page.locator(".references .reference-toggle").first
    assert "greet" in toggle.inner_text()
    toggle.click()
    viewer = page.locator(".reference-viewer").first
    assert "def greet(name):" in viewer.inner_text()
    assert viewer.locator(".tok-keyword").count() > 0  # highlighted with spans
    page.screenshot(path=str(SCREENSHOTS / "chat.png"), full_page=True)

    # Reload: still logged in, mode remembered, history shown.
    page.reload()
    page.wait_for_selector("#main:not([hidden])")
    page.wait_for_selector(".message.assistant .references")
    assert page.input_value("#mode-select") == "code"
    history = page.inner_text("#messages")
    assert "안녕하세요" in history and "greet_all" in history
    page.click("#main .lang-toggle")
    assert page.inner_text("#logout") == "Log out"
    page.screenshot(path=str(SCREENSHOTS / "history-en.png"))
    page.click("#main .lang-toggle")
    assert not errors, errors
    page.close()


def test_model_text_is_never_markup(browser: object, scripted_url: str) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    sign_up(page, scripted_url, "minsu")
    page.evaluate("window.__pwned = false")
    page.fill("#input", '<img src=x onerror="window.__pwned=true"> **굵게**')
    page.press("#input", "Enter")
    page.wait_for_selector(".message.assistant .tools .copy")
    assert page.locator(".message.user .bubble img").count() == 0
    assert "<img src=x" in page.inner_text(".message.user .bubble")
    assert page.evaluate("window.__pwned") is False
    page.close()


def test_reconnect_resends_unsent_message(
    browser: object, tmp_path: Path, embedder: LocalEmbedder
) -> None:
    core, api = make_server(tmp_path / "data", PacedLLM(), embedder)
    port = free_port()
    page = browser.new_page()  # type: ignore[attr-defined]
    with running_server(api, port) as url:
        sign_up(page, url, "yuna")
    page.wait_for_selector("#notice:not([hidden])")  # the server went away: a notice
    assert page.get_attribute("#connection", "data-status") == "reconnecting"
    page.fill("#input", "끊긴 동안 보낸 메시지")
    page.press("#input", "Enter")
    with running_server(create_app(core), port):
        page.wait_for_selector("#connection[data-status=reconnected]", timeout=20000)
        page.wait_for_selector(".message.assistant .tools .copy", timeout=20000)
        assert page.inner_text(".message.assistant .bubble").startswith("안녕하세요! ragcode")
        page.close()
    core.close()


def test_real_model_answers_in_the_browser(
    browser: object, make_app: Callable[..., App], tmp_path: Path
) -> None:
    core = make_app()  # the real embedded 0.5B model
    core.settings.server.chat_max_tokens = 24
    core.settings.generation.temperature = 0.0  # greedy: the same answer every run
    with running_server(create_app(core)) as url:
        page = browser.new_page()  # type: ignore[attr-defined]
        sign_up(page, url, "real")
        page.fill("#input", "파이썬에서 리스트의 길이를 구하는 내장 함수 이름은 무엇인가요?")
        page.press("#input", "Enter")
        page.wait_for_selector(".message.assistant .bubble .stream", timeout=120000)
        page.wait_for_selector(".message.assistant .tools .copy", timeout=120000)
        answer = page.inner_text(".message.assistant .bubble")
        # The model's answer to this question, rendered: the function's name (not "length").
        assert re.search(r"\blen\b", answer), answer
        assert not page.locator(".bubble.failed").count()
        page.close()


def test_logout_elsewhere_shows_the_login_form(browser: object, scripted_url: str) -> None:
    """The session ends outside this page (another tab logs out): the server closes the
    socket with 4401 and the page shows the login form instead of reconnecting."""
    page = browser.new_page()  # type: ignore[attr-defined]
    sockets: list[object] = []
    page.on("websocket", lambda socket: sockets.append(socket))
    sign_up(page, scripted_url, "dahye")
    assert page.context.request.post(f"{scripted_url}/api/logout").status == 204
    page.wait_for_selector("#auth:not([hidden])", timeout=10000)
    assert "다시 로그인" in page.inner_text("#auth-error")
    page.wait_for_timeout(1500)
    assert len(sockets) == 1, "no reconnection after 4401"
    page.close()


def test_a_socket_refused_with_4401_shows_the_login_form(
    browser: object, tmp_path: Path, embedder: LocalEmbedder
) -> None:
    """The server restarts without the session (expired, logged out on another replica): the
    reconnect is answered with 4401, and the page stops retrying and asks for a login."""
    core, api = make_server(tmp_path / "data", PacedLLM(), embedder)
    port = free_port()
    page = browser.new_page()  # type: ignore[attr-defined]
    sockets: list[object] = []
    page.on("websocket", lambda socket: sockets.append(socket))
    with running_server(api, port) as url:
        sign_up(page, url, "sora")
    page.wait_for_selector("#connection[data-status=reconnecting]")
    with sqlite3.connect(core.settings.data_dir / "web.sqlite3") as database:
        database.execute("DELETE FROM sessions")
    with running_server(create_app(core), port):
        page.wait_for_selector("#auth:not([hidden])", timeout=20000)
        assert "로그인" in page.inner_text("#auth-error")
        seen = len(sockets)
        page.wait_for_timeout(2000)
        assert len(sockets) == seen, "the client kept reconnecting after 4401"
        page.close()
    core.close()


def test_too_many_sockets_shows_the_reason(
    browser: object, tmp_path: Path, embedder: LocalEmbedder
) -> None:
    core, api = make_server(tmp_path / "data", PacedLLM(), embedder, max_sockets_per_user=1)
    with running_server(api) as url:
        context = browser.new_context()  # type: ignore[attr-defined]
        first = context.new_page()
        sign_up(first, url, "taeho")
        second = context.new_page()  # same cookies: a second tab
        second.goto(url)
        second.wait_for_selector("#connection[data-status=refused]", timeout=10000)
        assert "열린 연결이 너무 많습니다" in second.inner_text("#notice")
        assert second.is_visible("#notice")
        context.close()
    core.close()


class HeldSummaries:
    """Summaries (prompts with a unit's code) take half a second each; after the first two
    calls they wait for `release`, so the page is seen mid-summary. Chat answers at once."""

    name = "held"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:  # fmt: skip
        if any("def " in message.content for message in messages):
            self.calls += 1
            time.sleep(0.5)
            if self.calls > 2:
                self.release.wait(60)
            yield "설명: 카드 결제와 관련된 일을 처리한다.\n검색어: 카드, 결제\n질문: 카드 결제는?"
            return
        yield "월 500만원입니다 [1]"


CARD_PY = b'''def charge_card(amount, card_number):
    """Charge a credit card payment."""
    return post_payment(amount, card_number)


def refund_card(card_id, amount):
    """Give money back to a card."""
    return open_ledger(card_id).credit(amount)


def card_statement(card_id, month):
    """List the payments of a card in one month."""
    return [row for row in load_payments(card_id, month) if row.amount > 0]
'''
FAQ_CSV = "질문,답변\n법인카드 한도는 얼마인가요?,월 500만원입니다.\n".encode()
ETA_CASES = [None, 0, 12, 150, 4801, 60 * 3600]


def test_a_document_is_ready_while_code_is_summarized_with_an_estimate(
    browser: object, tmp_path: Path, embedder: LocalEmbedder
) -> None:
    llm = HeldSummaries()
    core, api = make_server(tmp_path / "data", llm, embedder)
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        with running_server(api) as url:
            sign_up(page, url, "hana")
            # The client words the estimate as `ragcode status` does (server/eta.py).
            worded = page.evaluate(
                """async (cases) => {
                    const { remainingText } = await import("/static/js/eta.js");
                    return [cases.map((s) => remainingText(s)), remainingText(150, "en"),
                            remainingText(null, "en"), remainingText(undefined)];
                }""",
                ETA_CASES,
            )
            assert worded[0] == [remaining_text(s) for s in ETA_CASES]
            assert worded[1:] == ["about 3 min left", "estimating time left", "남은 시간 측정 중"]

            page.set_input_files(
                "#upload-input",
                files=[{"name": "cards.py", "mimeType": "text/x-python", "buffer": CARD_PY}],
            )
            status = ".upload-card .upload-status"
            # Settled units and the time the rest take, measured from their rate.
            page.wait_for_function(
                f"""() => /[12]\\/3 · 남은 시간 (1분 미만|약 \\d+분)/.test(
                    document.querySelector("{status}")?.textContent ?? "")""",
                timeout=30000,
            )
            assert "검색 가능 · 요약 중" in page.inner_text(status)
            page.set_input_files(
                "#upload-input",
                files=[{"name": "policy.csv", "mimeType": "text/csv", "buffer": FAQ_CSV}],
            )
            faq = page.locator(".document", has_text="policy.csv")
            faq.locator(".state-ready").wait_for(timeout=30000)
            code = page.locator(".document", has_text="cards.py")
            assert code.locator(".state-summarizing").count() == 1
            assert "검색 가능 · 요약 중" in code.inner_text()
            llm.release.set()
            code.locator(".state-ready").wait_for(timeout=30000)
            assert page.locator(f"{status} >> nth=0").inner_text().startswith("완료")
            assert page.locator(".upload-card .unit-summary").count() == 3
            assert not errors, errors
    finally:
        llm.release.set()
        page.close()
        core.close()
