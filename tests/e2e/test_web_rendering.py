"""How answers and references look in the browser (Playwright + Chromium, scripted LLM):
Markdown rendered as DOM nodes and never as markup from the model, code blocks that download,
and references with path:lines, the retrievers that found them, the score and the summary's
description only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ragcode.embeddings.local import LocalEmbedder
from ragcode.ingest.summary_prompt import SUMMARY_SYSTEM
from ragcode.llm.protocol import ChatMessage
from tests.browser_support import GREETER_PY, sign_up
from tests.server_support import make_server
from tests.web_server import running_server

pytestmark = pytest.mark.e2e
SNIPPET = 'def hello(name):\n    return f"안녕, {name}"'
MARKDOWN = f"""## 정리

다음 순서로 합니다:

1. 첫째 단계
2. 둘째 단계
   - 하위 항목 A
   - 하위 항목 B
3. 셋째 단계

| 함수 | 줄 수 |
| --- | ---: |
| greet | 5 |
| farewell | 5 |

> 메모: *기울임*과 **굵게**, `inline()`

[공식 문서](https://docs.python.org/3/)와 [위험](javascript:window.__pwned=true) 그리고
[자료](data:text/html,<script>window.__pwned=true</script>)

<img src=x onerror="window.__pwned=true"> <script>window.__pwned=true</script>

```python
{SNIPPET}
```
"""
DESCRIPTIONS = {
    "greet": "이름을 받아 인사말을 만들어 출력하고 돌려준다.",
    "farewell": "이름을 받아 작별 인사를 출력하고 돌려준다.",
}
CODE_ANSWER = (
    "```python\ndef greet_all(names):\n    return [greet(name) for name in names]\n```\n"
    "[1]의 `greet` 함수를 재사용합니다."
)


class MarkdownLLM:
    """Summaries with search terms and expected questions; a Markdown answer when asked for
    one; a code answer in code mode."""

    name = "markdown"

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:  # fmt: skip
        system = messages[0].content
        if system == SUMMARY_SYSTEM:
            match = re.search(r"이름: (\S+)", messages[-1].content)
            description = DESCRIPTIONS.get(match.group(1) if match else "", "무언가를 한다.")
            yield (
                f"설명: {description}\n검색어: 인사, 이름\n"
                "예상 질문: 인사말은 어떻게 만드나요? / 이름으로 인사하기"
            )
            return
        if "```" in system:
            text = CODE_ANSWER
        elif "마크다운" in messages[-1].content:
            text = MARKDOWN
        else:
            text = "안녕하세요!"
        for start in range(0, len(text), 16):
            yield text[start : start + 16]


@pytest.fixture
def url(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[str]:
    core, api = make_server(tmp_path / "data", MarkdownLLM(), embedder)
    with running_server(api) as base:
        yield base
    core.close()


def open_chat(browser: Any, url: str, username: str) -> Any:
    page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 900})
    sign_up(page, url, username)
    return page


def ask(page: Any, text: str) -> Any:
    before = page.locator(".message.assistant .tools").count()
    page.fill("#input", text)
    page.press("#input", "Enter")
    page.locator(".message.assistant .tools").nth(before).wait_for(timeout=30000)
    return page.locator(".message.assistant .bubble").nth(before)


def downloaded(page: Any, button: Any) -> tuple[str, str]:
    with page.expect_download() as info:
        button.click()
    download = info.value
    return download.suggested_filename, Path(download.path()).read_text(encoding="utf-8")


def test_markdown_renders_as_elements_and_model_markup_stays_text(browser: Any, url: str) -> None:
    page = open_chat(browser, url, "rendering")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.evaluate("window.__pwned = false")
    bubble = ask(page, "마크다운으로 정리해줘")

    assert bubble.locator("h2").inner_text() == "정리"
    items = bubble.locator(":scope > ol > li")
    assert items.count() == 3 and items.nth(0).inner_text() == "첫째 단계"
    nested = items.nth(1).locator(":scope > ul > li")
    assert nested.all_inner_texts() == ["하위 항목 A", "하위 항목 B"]

    table = bubble.locator("table")
    assert table.locator("th").all_inner_texts() == ["함수", "줄 수"]
    assert table.locator("tbody tr").count() == 2
    assert table.locator("tbody tr >> nth=0").locator("td").all_inner_texts() == ["greet", "5"]
    assert table.locator("td >> nth=1").evaluate("td => td.style.textAlign") == "right"

    quote = bubble.locator("blockquote")
    assert quote.locator("em").inner_text() == "기울임"
    assert quote.locator("strong").inner_text() == "굵게"
    assert quote.locator("code").inner_text() == "inline()"

    # One link: the https one, in a new tab that cannot reach this page.
    links = bubble.locator("a")
    assert links.count() == 1
    assert links.get_attribute("href") == "https://docs.python.org/3/"
    assert links.get_attribute("target") == "_blank"
    assert set((links.get_attribute("rel") or "").split()) >= {"noopener", "noreferrer"}
    assert links.inner_text() == "공식 문서"
    text = bubble.inner_text()
    assert "[위험](javascript:window.__pwned=true)" in text  # shown, not a link
    assert "[자료](data:text/html,<script>" in text
    # Markup in the model's text is text: no element, no handler ran.
    assert '<img src=x onerror="window.__pwned=true">' in text
    assert "<script>window.__pwned=true</script>" in text
    assert bubble.locator("img, script, iframe").count() == 0
    assert page.evaluate("window.__pwned") is False

    # The code block keeps its label and copy button and downloads as a file named by language.
    block = bubble.locator(".code-block")
    assert block.locator(".code-lang").inner_text() == "python"
    assert block.locator(".copy").count() == 1
    assert downloaded(page, block.locator(".download")) == ("code.py", SNIPPET)
    assert not errors, errors
    page.close()


def test_inline_links_only_http_or_relative(browser: Any, url: str) -> None:
    """The URL check itself, with the tricks that turn text into a script URL in a browser."""
    page = open_chat(browser, url, "links")
    hrefs = page.evaluate(
        """async () => {
            const { safeHref } = await import("/static/js/inline.js");
            return ["https://a.example/x", "/api/docs", "./a.py", "#top", "JaVaScRiPt:alert(1)",
                    " javascript:alert(1)", "\\u0001javascript:alert(1)", "java\\tscript:alert(1)",
                    "data:text/html,x", "vbscript:x", "file:///etc/passwd"].map(safeHref);
        }"""
    )
    origin = url.rstrip("/")
    assert hrefs[:4] == [
        "https://a.example/x", f"{origin}/api/docs", f"{origin}/a.py", f"{origin}/#top",
    ]  # fmt: skip
    assert hrefs[4:] == [None] * 7
    page.close()


MARKUP_CASES = {
    "## C#": "<h2>C#</h2>",
    "the __init__ of snake_case_name, a * b * c": (
        "<p>the __init__ of snake_case_name, a * b * c</p>"
    ),
    "3. 셋\n4. 넷": '<ol start="3"><li>셋</li><li>넷</li></ol>',
    "2025. 3. 14. 회의": "<p>2025. 3. 14. 회의</p>",
    "- a\n  - b\n- c": "<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>",
    "&lt;b&gt; <b>x</b>": "<p>&amp;lt;b&amp;gt; &lt;b&gt;x&lt;/b&gt;</p>",
}


def test_markdown_details(browser: Any, url: str) -> None:
    """Identifiers, dates and entities stay what they are; what Markdown means is built."""
    page = open_chat(browser, url, "details")
    built = page.evaluate(
        """async (cases) => {
            const { renderMarkdown } = await import("/static/js/markdown.js");
            return cases.map((text) => {
                const box = document.createElement("div");
                box.append(renderMarkdown(text));
                return box.innerHTML;
            });
        }""",
        list(MARKUP_CASES),
    )
    assert built == list(MARKUP_CASES.values())
    page.close()


def completed_references(frames: list[str]) -> list[dict[str, Any]]:
    for frame in reversed(frames):
        message = json.loads(frame)
        if message.get("status") == "completed" and message.get("references"):
            return list(message["references"])
    raise AssertionError("no completed answer with references")


def test_references_show_lines_retrievers_score_and_the_description(browser: Any, url: str) -> None:
    page = open_chat(browser, url, "references")
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: frames.append(frame)))
    page.reload()  # the socket opened after the listener, so its frames are seen
    page.wait_for_selector("#connection[data-status]")
    page.set_input_files(
        "#upload-input",
        files=[{"name": "greeter.py", "mimeType": "text/x-python", "buffer": GREETER_PY}],
    )
    page.wait_for_selector(".document .state-ready", timeout=30000)
    page.wait_for_selector(".unit-summary >> nth=1", state="attached", timeout=30000)
    page.click(".upload-card .unit-toggle")  # the summaries are collapsed in the card
    card = page.inner_text(".unit-summaries")
    assert DESCRIPTIONS["greet"] in card and DESCRIPTIONS["farewell"] in card
    assert "검색어" not in card and "예상 질문" not in card

    page.select_option("#mode-select", "code")
    ask(page, "여러 사람에게 인사하는 함수를 만들어줘")
    sent = completed_references(frames)
    greet = next(n for n, ref in enumerate(sent) if ref["name"] == "greet")
    ref = sent[greet]
    assert ref["summary"] == DESCRIPTIONS["greet"]  # the server sends the description only
    assert "vector" in ref["retrievers"] and set(ref["retrievers"]) <= {"vector", "lexical"}

    item = page.locator(".message.assistant >> nth=-1").locator(".reference").nth(greet)
    location = item.locator("a.reference-location")
    assert location.inner_text() == "greeter.py:1-5"
    labels = {"vector": "벡터", "lexical": "키워드"}
    assert item.locator(".retriever").all_inner_texts() == [labels[r] for r in ref["retrievers"]]
    assert item.locator(".reference-score").inner_text() == f"점수 {ref['score']:.3f}"

    # path:lines opens the code view at those lines, with the description above the code.
    viewer = item.locator(".reference-viewer")
    assert viewer.is_hidden()
    location.click()
    assert viewer.is_visible()
    assert "def greet(name):" in viewer.locator("pre.code").inner_text()
    assert viewer.locator(".line-numbers").inner_text().split("\n")[:2] == ["1", "2"]
    summary = viewer.locator(".summary").inner_text()
    assert summary == DESCRIPTIONS["greet"]
    name, code = downloaded(page, viewer.locator(".download"))
    assert name == "greeter.py" and code == ref["code"]

    # A language switch relabels the references already on screen, without a reload.
    page.click("#main .lang-toggle")
    english = {"vector": "vector", "lexical": "keyword"}
    answer = page.locator(".message.assistant >> nth=-1")
    assert answer.locator(".references-title").inner_text() == "References"
    item = answer.locator(".reference").nth(greet)
    assert item.locator(".retriever").all_inner_texts() == [english[r] for r in ref["retrievers"]]
    assert item.locator(".reference-score").inner_text() == f"score {ref['score']:.3f}"

    # From history, in English: the same details, labelled in English.
    page.reload()
    page.wait_for_selector(".message.assistant .references")
    item = page.locator(".message.assistant >> nth=-1").locator(".reference").nth(greet)
    assert item.locator("a.reference-location").inner_text() == "greeter.py:1-5"
    assert item.locator(".retriever").all_inner_texts() == [english[r] for r in ref["retrievers"]]
    assert item.locator(".reference-score").inner_text() == f"score {ref['score']:.3f}"
    item.locator(".reference-toggle").click()
    assert item.locator(".reference-viewer .summary").inner_text() == DESCRIPTIONS["greet"]
    page.click("#main .lang-toggle")
    page.close()
