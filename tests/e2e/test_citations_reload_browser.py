"""A document answer's sentence -> source links survive a reload (issue 14): the history keeps
which sentence each [n] closes, the web client draws the reopened thread as it drew the live
answer, and a sentence citing two sources ("[1][2]") is highlighted by either marker."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
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
SAMPLE_FAQ = Path(__file__).resolve().parents[2] / "samples" / "bank_faq_ko.csv"
QUESTION = "OTP 기기는 어디에서 발급받을 수 있나요?"
# The first sentence has no marker (the server attaches one); the second cites two records.
FIRST = "OTP 기기는 가까운 영업점을 방문하시면 발급받을 수 있습니다."
SECOND = "자세한 절차는 두 안내를 함께 보시면 됩니다 [1][2]."


def answer(messages: Sequence[ChatMessage]) -> str:
    return f"{FIRST} {SECOND}"


def hovered(page: Any, link: Any) -> tuple[str, list[int]]:
    """The highlighted sentence text and the numbers of the highlighted cards while `link`
    is hovered."""
    link.hover()
    page.wait_for_timeout(50)
    state = page.evaluate(
        """() => {
          const bubble = [...document.querySelectorAll('.message.assistant')].at(-1);
          const cards = [...bubble.querySelectorAll('.references > ol > li')];
          return [
            [...bubble.querySelectorAll('.cited-sentence')].map(e => e.textContent).join('|'),
            cards.map((c, i) => c.classList.contains('cited-source') ? i + 1 : 0).filter(Boolean),
          ];
        }"""
    )
    page.mouse.move(0, 0)
    return str(state[0]), [int(n) for n in state[1]]


def check_links(page: Any) -> None:
    """The thread's last answer: three links ([k] attached, then [1][2]), each lighting up its
    own sentence and card."""
    answer_box = page.locator(".message.assistant").last
    links = answer_box.locator(".bubble a.cite")
    links.first.wait_for(timeout=60000)
    numbers = [int(n or 0) for n in (links.nth(i).get_attribute("data-source") for i in range(3))]
    assert links.count() == 3 and numbers[1:] == [1, 2]
    first_sentence, first_cards = hovered(page, links.nth(0))
    assert "영업점을 방문하시면" in first_sentence and "절차" not in first_sentence
    assert first_cards == [numbers[0]]
    for position, number in ((1, 1), (2, 2)):
        sentence, cards = hovered(page, links.nth(position))
        assert "두 안내를 함께 보시면" in sentence and "영업점" not in sentence, (number, sentence)
        assert cards == [number]


def test_sentence_links_come_back_after_a_reload(
    browser: Any, tmp_path: Path, embedder: LocalEmbedder
) -> None:
    core, api = make_server(tmp_path / "data", ScriptedLLM(answer), embedder)
    shutil.copy(SAMPLE_FAQ, tmp_path / "bank_faq_ko.csv")
    core.docs.indexer.index(tmp_path / "bank_faq_ko.csv")
    with running_server(api) as url:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_up(page, url, "minji")
        page.select_option("#mode-select", "qa")
        page.fill("#input", QUESTION)
        page.press("#input", "Enter")
        page.locator(".message.assistant .tools").last.wait_for(timeout=60000)
        check_links(page)  # live: the final frame's sentence map
        kept = page.evaluate(
            "async () => (await (await fetch('/api/history?limit=5')).json()).turns.at(-1)"
        )
        assert [s["sources"] for s in kept["sentences"]][-1] == [1, 2]
        page.reload()  # the thread comes back from the history
        page.locator(".message.assistant .references").last.wait_for(timeout=30000)
        check_links(page)
        assert not errors, errors
        page.close()
    core.close()
