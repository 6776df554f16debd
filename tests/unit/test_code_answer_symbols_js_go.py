"""The symbol round of CodeAssistant.ask for JavaScript and Go answers (scripted LLM, real
tree-sitter parsing): the same report, repair round, note and `unknown_symbols` as Python."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ragcode.chat.code_answer import AnswerEvent, AnswerRestart, CodeAnswer, CodeAssistant
from ragcode.config import GenerationSettings
from ragcode.domain import TEAM_ONLY
from ragcode.store.protocol import Symbol
from tests.scripted_llm import ScriptedLLM
from tests.unit.test_code_answer import StubSearcher, hit

pytestmark = pytest.mark.unit

JS_QUESTION = "자바스크립트로 재시도하며 JSON 가져오기"
JS_INVENTED = '```javascript\nimport { fetchWithRetry } from "./http";\nfetchWithRetry("/a");\n```'
JS_FIXED = (
    '```js\nimport { fetchJson, withRetry } from "./http";\nwithRetry(() => fetchJson("/a"));\n```'
)
JS_BROKEN = '```javascript\nimport { fetchJson } from "./http";\nfunction (\n```'
GO_QUESTION = "golang 으로 캐시 열기"
GO_INVENTED = (
    '```go\npackage main\n\nimport "github.com/team/app/internal/store"\n\n'
    "func main() { store.OpenCached() }\n```"
)
GO_STILL = GO_INVENTED.replace("OpenCached", "OpenForever")


class FakeSymbols:
    """An index of `web/http.js` (fetchJson, withRetry) and `app/internal/store` (Open)."""

    def defined_names(self, names: Sequence[str], scopes: Sequence[str] = TEAM_ONLY) -> set[str]:
        return set(names) & {"fetchJson", "withRetry", "Open", "Cache"}

    def indexed_modules(self, names: Sequence[str], scopes: Sequence[str] = TEAM_ONLY) -> set[str]:
        return set(names) & {"http", "/app/internal/store"}

    def closest_symbols(
        self, names: Sequence[str], limit: int = 8, scopes: Sequence[str] = TEAM_ONLY
    ) -> list[Symbol]:
        return [Symbol("withRetry", "web/http.js"), Symbol("Open", "internal/store/store.go")]


def run(
    question: str, language: str, answers: list[str]
) -> tuple[list[AnswerEvent], CodeAnswer, ScriptedLLM]:
    replies = iter(answers)
    llm = ScriptedLLM(lambda m: next(replies))
    searcher = StubSearcher({question: [hit("withRetry", "web/http.js", language=language)]})
    assistant = CodeAssistant(llm, searcher, GenerationSettings(), symbols=FakeSymbols())
    events = list(assistant.ask(question))
    final = events[-1]
    assert isinstance(final, CodeAnswer)
    return events, final, llm


def test_an_invented_javascript_import_is_repaired_and_the_repair_kept() -> None:
    """Before, a repaired JavaScript answer was judged as Python ("Python 코드 블록 없음") and
    always thrown away."""
    events, final, llm = run(JS_QUESTION, "javascript", [JS_INVENTED, JS_FIXED])
    assert final.code_language == "javascript"
    restarts = [e for e in events if isinstance(e, AnswerRestart)]
    assert [r.kind for r in restarts] == ["symbols"]
    request = llm.calls[1][-1].content
    assert "`fetchWithRetry`" in request and "`withRetry` (web/http.js)" in request
    assert final.repaired and final.answer == JS_FIXED and final.unknown_symbols == []


def test_a_javascript_repair_that_does_not_parse_keeps_the_first_answer() -> None:
    events, final, _ = run(JS_QUESTION, "javascript", [JS_INVENTED, JS_BROKEN])
    restarts = [e for e in events if isinstance(e, AnswerRestart)]
    assert [r.kind for r in restarts] == ["symbols", "kept"]
    assert restarts[1].reason == "line 2: 구문 오류"  # of the block
    assert final.answer.startswith(JS_INVENTED) and not final.repaired
    assert final.unknown_symbols == ["fetchWithRetry"]


def test_a_go_name_still_unknown_is_noted_under_the_answer() -> None:
    _, final, llm = run(GO_QUESTION, "go", [GO_INVENTED, GO_STILL, "never asked"])
    assert final.code_language == "go" and len(llm.calls) == 2
    assert "`OpenCached`" in llm.calls[1][-1].content
    assert final.repaired and final.unknown_symbols == ["OpenForever"]
    assert final.answer.endswith("색인에 없는 이름: `OpenForever`")
    assert final.as_dict()["unknown_symbols"] == ["OpenForever"]


def test_a_repair_that_drops_the_checked_block_of_another_language_keeps_the_first() -> None:
    """A Java answer (not read by the check) whose JavaScript block invents an import starts
    the round; a repair that loses the JavaScript block is worse, not a Java answer to keep
    (before, a language the check does not read accepted any repair)."""
    java = "```java\nclass Client {}\n```"
    question = "java 로 재시도하며 JSON 가져오기"
    events, final, _ = run(question, "java", [f"{java}\n{JS_INVENTED}", java])
    restarts = [e for e in events if isinstance(e, AnswerRestart)]
    assert [r.kind for r in restarts] == ["symbols", "kept"]
    assert restarts[1].reason == "javascript 코드 블록 없음"
    assert final.answer.startswith(f"{java}\n{JS_INVENTED}") and not final.repaired
