"""The symbol check of generated JavaScript through the real embedded 0.5B model, embeddings
and store, over real code nobody wrote for this test (semver as npm ships it).

The model's answers vary; what the product guarantees does not: every name reported as
unknown is really absent from the index, the JS globals and the answer's own code; the
repair request offers symbols that exist in the index; never more than one symbol round.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ragcode.app import App, build_app
from ragcode.chat.code_answer import AnswerDelta, AnswerEvent, AnswerRestart, CodeAnswer
from ragcode.chat.grounding import check_blocks
from ragcode.chat.js_globals import JS_GLOBALS
from ragcode.config import Settings
from ragcode.embeddings.local import LocalEmbedder
from tests.conftest import TEST_MODEL, data_dir_with_models
from tests.e2e.test_grounding_real_model import FirstAnswer
from tests.e2e.test_grounding_real_model import run as ask_with_first_answer

pytestmark = pytest.mark.e2e

# npm's own copy of semver: real CommonJS (`const satisfies = (...) => ...`).
SEMVER = Path("/usr/lib/node_modules/npm/node_modules/semver")
PARTS = ("index.js", "functions", "classes", "ranges", "internal")
QUESTION = "semver로 버전이 범위를 만족하는지 확인하는 자바스크립트 코드를 보여줘"
# An answer that calls functions semver does not have.
INVENTED = (
    "```javascript\nconst semver = require('semver');\n\n"
    "if (semver.satisfiesRange('1.2.3', '^1.0.0')) {\n"
    "  console.log(semver.maxVersion(['1.0.0', '2.0.0']));\n}\n```\n"
    "[1]을 참고했습니다."
)
OFFERED = re.compile(r"^- `([^`]+)` \(([^)]+)\)$", re.MULTILINE)
DEFINES = re.compile(r"(?:function\s*\*?\s*|class\s+|(?:const|let|var)\s+)([A-Za-z_$][\w$]*)")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Path:
    return data_dir_with_models(tmp_path_factory.mktemp("grounding_js") / "data", models_dir)


@pytest.fixture(scope="module")
def indexed(data_dir: Path, embedder: LocalEmbedder) -> Path:
    """semver's modules under `semver/`, indexed (summaries are not needed: the check reads
    names, not descriptions)."""
    project = data_dir.parent / "project"
    for part in PARTS:
        source, target = SEMVER / part, project / "semver" / part
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
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


def run(app: App, first: str | None) -> tuple[list[AnswerEvent], CodeAnswer, FirstAnswer]:
    return ask_with_first_answer(app, first, QUESTION)


def assert_guarantees(
    app: App, events: list[AnswerEvent], final: CodeAnswer, llm: FirstAnswer
) -> None:
    restarts = [e for e in events if isinstance(e, AnswerRestart) and e.kind == "symbols"]
    assert len(restarts) <= 1
    # Every unknown name is really absent: not in the index, not a global, not the answer's.
    assert app.store.defined_names(final.unknown_symbols) == set()
    defined = {name for block in final.code_blocks for name in DEFINES.findall(block.code)}
    assert not set(final.unknown_symbols) & (JS_GLOBALS | defined)
    # ...and the list is what the check finds in the final code, read again.
    store = app.store
    recheck = check_blocks(
        final.code_blocks, "javascript", store.defined_names, store.indexed_modules
    )
    assert final.unknown_symbols == recheck.unknown
    if final.unknown_symbols:
        assert "색인에 없는 이름: " in final.answer.rsplit("\n", 1)[-1]
    else:
        assert "색인에 없는 이름" not in final.answer
    if restarts:
        offered = OFFERED.findall(llm.calls[-1][-1].content)
        for title, path in offered:  # each offered symbol is a real unit at that path
            assert title in {unit.record.title for unit in app.store.units_in_file(path)}


def test_an_invented_function_is_repaired_with_real_symbols(real_app: App) -> None:
    events, final, llm = run(real_app, INVENTED)
    assert final.code_language == "javascript"
    restarts = [e for e in events if isinstance(e, AnswerRestart)]
    # One symbol round; "kept" follows only when the model's repair has no JavaScript block
    # or one that does not parse, and then the first answer stays with its names noted.
    assert [r.kind for r in restarts] in (["symbols"], ["symbols", "kept"]), restarts
    assert "satisfiesRange" in restarts[0].reason and "maxVersion" in restarts[0].reason
    assert len(llm.calls) == 2  # the given answer, then one repair by the real model
    request = llm.calls[1][-1].content
    assert "`satisfiesRange`" in request and "`maxVersion`" in request
    offered = OFFERED.findall(request)
    titles = {title for title, _ in offered}
    assert {"satisfies", "maxSatisfying"} & titles, request
    assert all(path.startswith("semver/") for _, path in offered), offered
    if restarts[-1].kind == "kept":
        assert not final.repaired and "satisfiesRange" in final.unknown_symbols
    else:
        assert final.repaired and final.answer != INVENTED
    assert_guarantees(real_app, events, final, llm)
    start = events.index(restarts[0]) + 1
    end = events.index(restarts[1]) if len(restarts) > 1 else len(events)
    repair = "".join(e.text for e in events[start:end] if isinstance(e, AnswerDelta))
    print(f"repair offered={offered} restarts={restarts} unknown_after={final.unknown_symbols}")
    print(f"repair answer={repair!r}")


def test_a_real_answer_is_checked_end_to_end(real_app: App) -> None:
    events, final, llm = run(real_app, None)
    assert final.code_language == "javascript", final.answer
    assert 1 <= len(llm.calls) <= 2  # the answer, at most one symbol round (no JS syntax round)
    assert_guarantees(real_app, events, final, llm)
    print(f"calls={len(llm.calls)} unknown={final.unknown_symbols} answer={final.answer!r}")
