"""What a new user sees in Chromium (Playwright): the welcome state with a line per mode and
example prompts that fill the input, a language switch that relabels what is on screen
without a reload; a compact upload card whose counts agree with the sidebar, its summaries
collapsed; and while an answer is prepared, its phase (검색 중 / 생성 중) with the seconds
elapsed and the send button disabled until the answer ends."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ragcode.app import App
from ragcode.embeddings.local import LocalEmbedder
from ragcode.ingest.summary_prompt import SUMMARY_SYSTEM
from ragcode.llm.protocol import ChatMessage
from ragcode.server.factory import create_app
from tests.artifacts import artifacts_dir
from tests.browser_support import sign_up
from tests.server_support import BANK_PY, make_server
from tests.web_server import running_server

pytestmark = pytest.mark.e2e
SCREENSHOTS = artifacts_dir()  # never docs/: docs/take_screenshots.py takes those
MODES = 10
ANSWER = "예시 답변입니다. 천천히 이어서 씁니다."


class SlowLLM:
    """Summaries 2.5 s apart (the card and the sidebar row are seen mid-way: the row comes
    with the document list the page fetches after the upload, which under a loaded CI came
    after the card's first progress); answers wait before their first token (the search
    phase is seen) and then stream slowly (the generation phase)."""

    name = "slow"

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:  # fmt: skip
        if messages[0].content == SUMMARY_SYSTEM:
            time.sleep(2.5)
            yield "설명: 계좌의 돈을 다루는 일을 한다.\n검색어: 계좌, 입금\n질문: 입금하려면?"
            return
        time.sleep(2.5)
        for start in range(0, len(ANSWER), 3):
            time.sleep(0.25)
            yield ANSWER[start : start + 3]


@pytest.fixture
def url(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[str]:
    core, api = make_server(tmp_path / "data", SlowLLM(), embedder)
    with running_server(api) as base:
        yield base
    core.close()


def test_a_new_user_sees_the_welcome_state_examples_and_relabels_without_reload(
    browser: Any, url: str
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_up(page, url, "saebom")
    welcome = page.locator(".message.welcome")
    welcome.wait_for()
    assert "ragcode는 팀의 코드와 문서를" in welcome.inner_text()
    # A line per mode, in the welcome state and under the selector.
    assert welcome.locator(".welcome-modes dt").count() == MODES
    descriptions = welcome.locator(".welcome-modes dd").all_inner_texts()
    assert len(set(descriptions)) == MODES and all(len(d) > 10 for d in descriptions)
    page.select_option("#mode-select", "translation")
    assert page.inner_text("#mode-description") == descriptions[1]

    # An example chooses its mode and fills the input (not sent).
    example = welcome.locator("button.example[data-mode='qa']").first
    text = example.inner_text()
    example.click()
    assert page.input_value("#input") == text
    assert page.input_value("#mode-select") == "qa"
    assert "올린 문서" in page.inner_text("#mode-description")
    assert page.locator(".message.user").count() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "welcome.png"))
    code_example = welcome.locator("button.example[data-mode='code']").first
    code_example.click()
    assert page.input_value("#input") == code_example.inner_text()
    assert page.input_value("#mode-select") == "code"

    # The language switch relabels what is on screen at once: no reload.
    page.evaluate("window.__sameDocument = true")
    page.click("#main .lang-toggle")
    page.wait_for_function(
        "document.querySelector('.welcome h3').textContent.startsWith('Welcome')"
    )
    assert page.evaluate("window.__sameDocument") is True
    assert "indexes your team's code and documents" in welcome.inner_text()
    assert page.inner_text("#mode-description").startswith("Finds the relevant functions")
    assert page.inner_text("#send") == "Send"
    assert page.inner_text("#connection") == "Connected"
    assert page.inner_text("#documents") == "No documents yet."
    assert page.inner_text("#repos") == "No repositories registered (ragcode repo add)."
    assert page.inner_text("#apikeys") == "No API keys yet."
    assert page.inner_text(".message.greeting .bubble").startswith("Hello, saebom")
    assert page.locator("#mode-select option:checked").inner_text() == "Code generation (RAG)"
    page.click("#main .lang-toggle")
    page.wait_for_function(
        "document.querySelector('.welcome h3').textContent.startsWith('ragcode')"
    )
    assert page.inner_text("#send") == "보내기" and page.inner_text("#connection") == "연결됨"
    assert not errors, errors
    page.close()


def card_and_row(page: Any) -> dict[str, str]:
    """Both texts in one look (one script turn: they cannot change in between)."""
    return dict(
        page.evaluate(
            """() => ({
                card: document.querySelector('.upload-card .upload-status')?.textContent ?? '',
                row: document.querySelector('.document .document-state')?.textContent ?? '',
            })"""
        )
    )


def test_the_upload_card_is_compact_and_the_answer_shows_its_phase(browser: Any, url: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_up(page, url, "dahye")
    page.set_input_files(
        "#upload-input",
        files=[{"name": "bank.py", "mimeType": "text/x-python", "buffer": BANK_PY}],
    )
    # Mid-way: the card and the sidebar count the same units, the card adds the time left.
    # (The row appears once the page's document list is back: wait for both.)
    page.wait_for_function(
        """() => /요약 중 · \\d+\\/5 · 남은 시간/.test(
            document.querySelector('.upload-card .upload-status')?.textContent ?? '')
            && /요약 중/.test(
                document.querySelector('.document .document-state')?.textContent ?? '')""",
        timeout=30000,
    )
    seen = card_and_row(page)
    counted = re.search(r"요약 중 · (\d+/\d+)", seen["card"])
    assert counted and f"요약 중 · {counted.group(1)}" in seen["row"], seen
    details = page.locator(".upload-card details.unit-details")
    page.locator(".upload-card .unit-summary").first.wait_for(state="attached", timeout=30000)
    assert details.get_attribute("open") is None
    assert page.locator(".upload-card .unit-summary").first.is_hidden()
    assert page.locator(".upload-card progress").is_visible()

    page.locator(".document .state-ready").wait_for(timeout=60000)
    final = card_and_row(page)
    assert final["card"] == final["row"] == "완료 · 5 단위", final
    toggle = page.locator(".upload-card .unit-toggle")
    assert toggle.inner_text() == "단위별 요약 (2)"  # the two units worth a summary
    card_height = page.locator(".upload-card").bounding_box()["height"]
    assert card_height < 140, card_height  # title, bar, status, one collapsed line
    toggle.click()
    assert page.locator(".upload-card .unit-summary").nth(1).is_visible()
    assert "계좌의 돈을 다루는 일을 한다." in page.inner_text(".upload-card .unit-summaries")

    # Asking: the phase label counts seconds, searching then generating; send is disabled.
    page.select_option("#mode-select", "code")
    page.fill("#input", "입금 함수를 재사용해 이체 내역을 남기는 함수를 만들어 줘")
    page.press("#input", "Enter")
    phase = page.locator("#phase")
    page.wait_for_function(
        "() => /^검색 중 · [1-9]\\d*초$/.test(document.querySelector('#phase')?.textContent ?? '')",
        timeout=10000,
    )
    assert page.locator("#send").is_disabled()
    assert page.locator(".message.welcome").count() == 0  # it gave way to the conversation
    page.fill("#input", "두 번째 질문")
    page.press("#input", "Enter")  # not sent while the first answer comes
    assert page.locator(".message.user").count() == 1
    page.wait_for_selector("#phase[data-phase='generating']", timeout=10000)
    assert re.fullmatch(r"생성 중 · \d+초", phase.inner_text())
    page.screenshot(path=str(SCREENSHOTS / "upload-and-phase.png"))
    page.wait_for_selector(".message.assistant .tools", timeout=30000)
    assert phase.is_hidden() and page.locator("#send").is_enabled()
    assert page.input_value("#input") == "두 번째 질문"  # kept for when sending is possible
    assert not errors, errors
    page.close()


FAQ_CSV = (
    "질문,답변\n"
    "법인카드 분실 신고는 어떻게 하나요?,고객센터 1588-0000으로 전화하면 바로 정지됩니다.\n"
)


def test_the_real_model_answer_shows_its_phases_and_holds_the_send_button(
    browser: Any, make_app: Callable[..., App]
) -> None:
    core = make_app()  # the real embedded 0.5B model
    core.settings.documents.max_answer_tokens = 48
    core.settings.documents.temperature = 0.0
    with running_server(create_app(core)) as base:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_up(page, base, "real")
        page.set_input_files(
            "#upload-input",
            files=[{"name": "card_faq.csv", "mimeType": "text/csv", "buffer": FAQ_CSV.encode()}],
        )
        page.locator(".document .state-ready").wait_for(timeout=60000)
        page.select_option("#mode-select", "qa")
        page.fill("#input", "법인카드를 잃어버리면 어떻게 신고하나요?")
        page.press("#input", "Enter")
        phase = page.locator("#phase")
        assert re.fullmatch(r"검색 중 · \d+초", phase.inner_text())
        assert page.locator("#send").is_disabled()
        page.wait_for_selector("#phase[data-phase='generating']", timeout=120000)
        assert re.fullmatch(r"생성 중 · \d+초", phase.inner_text())
        assert page.locator("#send").is_disabled()
        page.wait_for_selector(".message.assistant .tools .copy", timeout=120000)
        assert phase.is_hidden() and page.locator("#send").is_enabled()
        answer = page.inner_text(".message.assistant .bubble")
        assert "1588-0000" in answer or "고객센터" in answer, answer
        assert not errors, errors
        page.close()
