"""The symbol check of generated code through the real embedded 0.5B model, embeddings and
store, over real code nobody wrote for this test (three modules of the installed requests).

The model's answers vary; what the product guarantees does not: every name reported as
unknown is really absent from the index, the standard library and the answer's own code;
the repair request offers symbols that exist in the index; never more than one symbol round.
"""

from __future__ import annotations

import ast
import builtins
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import requests

from ragcode.app import App, build_app
from ragcode.chat.code_answer import AnswerEvent, AnswerRestart, CodeAnswer, CodeAssistant
from ragcode.chat.grounding import check_blocks
from ragcode.config import Settings
from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.protocol import LLM, ChatMessage
from tests.conftest import TEST_MODEL, data_dir_with_models

pytestmark = pytest.mark.e2e

FILES = ("sessions.py", "adapters.py", "structures.py")
QUESTION = "requests 세션에서 재시도 횟수를 설정하는 방법을 코드로 보여줘"
# What a user saw in the wild (issue 14): a method that exists nowhere.
INVENTED = (
    "```python\nimport requests\n\nsession = requests.Session()\n"
    "session.set_max_redirects(5)\nresponse = session.get('https://example.com')\n```\n"
    "[1]을 참고했습니다."
)
OFFERED = re.compile(r"^- `([^`]+)` \(([^)]+)\)$", re.MULTILINE)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Path:
    return data_dir_with_models(tmp_path_factory.mktemp("grounding") / "data", models_dir)


@pytest.fixture(scope="module")
def indexed(data_dir: Path, embedder: LocalEmbedder) -> Path:
    """requests' own modules under `requests/`, indexed (summaries are not needed: the check
    reads names, not descriptions)."""
    project = data_dir.parent / "project"
    (project / "requests").mkdir(parents=True)
    source = Path(requests.__file__).parent
    for name in FILES:
        shutil.copy(source / name, project / "requests" / name)
    settings = Settings(data_dir=data_dir, llm={"model": TEST_MODEL, "n_threads": 2})
    app = build_app(settings, embedder=embedder)
    try:
        app.indexer.index(project)
        assert app.store.status().units >= 40, app.store.status()
    finally:
        app.close()
    return project


@pytest.fixture
def real_app(make_app: Callable[..., App], settings: Settings, indexed: Path) -> App:
    settings.generation.temperature = 0.0  # greedy: the same answer every run
    settings.generation.max_answer_tokens = 200
    return make_app()


class FirstAnswer:
    """The real model, except that the first answer is given (`first`, None: the model's
    too); every call's messages are kept."""

    def __init__(self, llm: LLM, first: str | None) -> None:
        self._llm, self._first = llm, first
        self.calls: list[list[ChatMessage]] = []

    @property
    def name(self) -> str:
        return self._llm.name

    def stream(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Iterator[str]:
        self.calls.append(list(messages))
        if self._first is not None and len(self.calls) == 1:
            return iter([self._first])
        return self._llm.stream(messages, **kwargs)


def run(
    app: App, first: str | None, question: str = QUESTION
) -> tuple[list[AnswerEvent], CodeAnswer, FirstAnswer]:
    """`question` asked through the real assistant, with `first` as its first answer."""
    llm = FirstAnswer(app.llm.get(), first)
    assistant = CodeAssistant(llm, app.searcher, app.settings.generation, symbols=app.store)
    events = list(assistant.ask(question))
    final = events[-1]
    assert isinstance(final, CodeAnswer)
    return events, final, llm


def answer_definitions(final: CodeAnswer) -> set[str]:
    names: set[str] = set()
    for block in final.code_blocks:
        try:
            tree = ast.parse(block.code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                names.add(node.id)
    return names


def assert_guarantees(
    app: App, events: list[AnswerEvent], final: CodeAnswer, llm: FirstAnswer
) -> None:
    restarts = [e for e in events if isinstance(e, AnswerRestart) and e.kind == "symbols"]
    assert len(restarts) <= 1
    # Every unknown name is really absent: not in the index, not a builtin, not the answer's.
    assert app.store.defined_names(final.unknown_symbols) == set()
    assert not set(final.unknown_symbols) & (set(dir(builtins)) | answer_definitions(final))
    # ...and the list is what the check finds in the final code, read again independently.
    store = app.store
    recheck = check_blocks(final.code_blocks, "python", store.defined_names, store.indexed_modules)
    assert final.unknown_symbols == recheck.unknown
    assert final.as_dict()["unknown_symbols"] == final.unknown_symbols
    if final.unknown_symbols:
        assert "색인에 없는 이름: " in final.answer.rsplit("\n", 1)[-1]
    else:
        assert "색인에 없는 이름" not in final.answer
    if restarts:
        request = llm.calls[-1][-1].content
        offered = OFFERED.findall(request)
        for title, path in offered:  # each offered symbol is a real unit at that path
            assert title in {unit.record.title for unit in app.store.units_in_file(path)}


def test_an_invented_method_is_repaired_with_real_symbols(real_app: App) -> None:
    events, final, llm = run(real_app, INVENTED)
    restarts = [e for e in events if isinstance(e, AnswerRestart)]
    # One symbol round; "kept" follows only when the model's repair broke the Python, and
    # then the first answer stays with its unknown name noted.
    assert [r.kind for r in restarts] in (["symbols"], ["symbols", "kept"]), restarts
    assert "set_max_redirects" in restarts[0].reason
    assert len(llm.calls) == 2  # the given answer, then one repair by the real model
    request = llm.calls[1][-1].content
    assert "`set_max_redirects`" in request
    offered = OFFERED.findall(request)
    assert offered and any("redirect" in title.lower() for title, _ in offered), request
    if restarts[-1].kind == "kept":
        assert not final.repaired and "set_max_redirects" in final.unknown_symbols
    else:
        assert final.repaired and final.answer != INVENTED
    assert_guarantees(real_app, events, final, llm)
    print(f"repair offered={offered} unknown_after={final.unknown_symbols}")


def test_a_real_answer_is_checked_end_to_end(real_app: App) -> None:
    events, final, llm = run(real_app, None)
    assert final.code_blocks and final.code_language == "python", final.answer
    assert 1 <= len(llm.calls) <= 3  # the answer, at most one syntax and one symbol round
    assert_guarantees(real_app, events, final, llm)
    print(f"calls={len(llm.calls)} unknown={final.unknown_symbols} answer={final.answer!r}")
