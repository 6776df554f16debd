"""Choosing the code language (issue 15.2) through the real embedded model, embedder and
store: on a project that does the same job in Python and JavaScript, a code question asked
with JavaScript chosen retrieves JavaScript alone and is answered in a JavaScript block,
while the same question on auto retrieves the Python too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ragcode.app import App
from ragcode.chat.code_answer import CodeAnswer
from tests.mixed_languages import QUESTION, write_mixed_project

pytestmark = pytest.mark.e2e


def final(app: App, code_language: str | None) -> CodeAnswer:
    events = list(app.code_assistant().ask(QUESTION, code_language=code_language))
    answer = events[-1]
    assert isinstance(answer, CodeAnswer)
    return answer


def test_a_javascript_question_on_a_mixed_index(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    app = make_app()
    app.indexer.index(write_mixed_project(tmp_path / "project"))
    auto = final(app, None)
    assert {hit.record.language for hit in auto.references} == {"python", "javascript"}
    chosen = final(app, "javascript")
    assert chosen.code_language == "javascript"
    assert chosen.references and {h.record.language for h in chosen.references} == {"javascript"}
    assert "```javascript" in chosen.answer, chosen.answer
    print(f"javascript answer:\n{chosen.answer}")
