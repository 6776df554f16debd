"""A document answer in Chromium: the [n] the server attached to a sentence the model left
unmarked is a link to its reference card, and hovering it highlights the sentence and card."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.protocol import ChatMessage
from tests.artifacts import artifacts_dir
from tests.browser_support import sign_up
from tests.scripted_llm import ScriptedLLM
from tests.server_support import make_server
from tests.web_server import running_server

pytestmark = pytest.mark.e2e
SAMPLE_FAQ = Path(__file__).resolve().parents[2] / "samples" / "bank_faq_ko.csv"
OTP_RECORD = "OTP는 어디서 발급받나요?"
# No [n] (as the small model often writes), and markup that must stay text.
ANSWER = (
    "OTP 기기는 가까운 영업점을 방문하시면 발급받을 수 있습니다. <b>오늘</b> 점심은 김치찌개입니다."
)


def unmarked(messages: Sequence[ChatMessage]) -> str:
    return ANSWER


def test_a_doc_answer_links_each_sentence_to_its_source(
    browser: Any, tmp_path: Path, embedder: LocalEmbedder
) -> None:
    core, api = make_server(tmp_path / "data", ScriptedLLM(unmarked), embedder)
    shutil.copy(SAMPLE_FAQ, tmp_path / "bank_faq_ko.csv")
    core.docs.indexer.index(tmp_path / "bank_faq_ko.csv")
    with running_server(api) as url:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_up(page, url, "jiwoo")
        page.select_option("#mode-select", "qa")
        page.fill("#input", "OTP 기기는 어디에서 발급받을 수 있나요?")
        page.press("#input", "Enter")
        answer = page.locator(".message.assistant").last
        cite = answer.locator(".bubble a.cite")
        cite.first.wait_for(timeout=60000)
        assert cite.count() == 1  # the lunch sentence has no source
        number = int(cite.first.get_attribute("data-source") or "0")
        cards = answer.locator(".references > ol > li")
        card = cards.nth(number - 1)
        assert OTP_RECORD in card.inner_text()
        assert cite.first.inner_text() == f"[{number}]"
        assert OTP_RECORD in (cite.first.get_attribute("title") or "")
        sentence = answer.locator(".bubble .cited-text")
        assert "영업점을 방문하시면" in sentence.inner_text()
        assert "김치찌개" not in sentence.inner_text()
        cite.first.hover()
        assert "cited-source" in (card.get_attribute("class") or "")
        assert "cited-sentence" in (sentence.get_attribute("class") or "")
        artifacts_dir().mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(artifacts_dir() / "doc-citations.png"))
        cite.first.click()  # opens the card's text
        assert card.locator(".reference-viewer").is_visible()
        assert answer.locator(".bubble b").count() == 0  # the model's markup stays text
        assert "<b>오늘</b>" in answer.locator(".bubble").inner_text()
        assert not errors, errors
        page.close()
    core.close()
