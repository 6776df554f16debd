"""Document Q&A asked while the asker's uploads are still being indexed names them ("… 처리
중입니다") instead of answering "no answer": real registry, real store and embeddings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ragcode.app import App
from ragcode.chat.doc_answer import DocAnswer, processing_notice
from ragcode.chat.prompts import qa
from ragcode.domain import visible_scopes
from ragcode.uploads.pending import RegistryPendingDocuments
from ragcode.uploads.sqlite import SqliteRegistry
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.integration

ALICE, BOB = 1, 2


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[SqliteRegistry]:
    opened = SqliteRegistry(tmp_path / "web.db")
    yield opened
    opened.close()


def ask(app: App, registry: SqliteRegistry, question: str, user: int = ALICE) -> DocAnswer:
    assistant = app.document_assistant(pending=RegistryPendingDocuments(registry))
    events = list(assistant.ask(question, scopes=visible_scopes(user)))
    final = events[-1]
    assert isinstance(final, DocAnswer)
    # What streamed is what is kept.
    assert "".join(e.text for e in events[:-1] if not isinstance(e, DocAnswer)) == final.answer
    return final


def test_a_question_without_an_answer_names_the_askers_uploads_still_indexing(
    make_app: Callable[..., App], registry: SqliteRegistry, tmp_path: Path
) -> None:
    llm = ScriptedLLM(lambda m: "쓰이면 안 되는 답")
    app = make_app(llm)
    registry.add("a1", ALICE, "bank_faq_ko.csv", "document", tmp_path / "a1")
    registry.add("b1", BOB, "bob_private.md", "document", tmp_path / "b1")
    registry.add("c1", ALICE, "project.zip", "code", tmp_path / "c1")  # not a Q&A document
    question = "계좌 해지 수수료는 얼마인가요?"

    answer = ask(app, registry, question)
    assert not answer.answered and not llm.calls
    assert "bank_faq_ko.csv 처리 중" in answer.answer
    assert "bob_private.md" not in answer.answer and "project.zip" not in answer.answer
    assert qa.NO_ANSWER_KO not in answer.answer

    english = ask(app, registry, "What is the fee for closing an account?")
    assert "bank_faq_ko.csv is still being processed" in english.answer

    # Bob's upload is his own until shared: then the team's searches wait for it too.
    registry.set_shared("b1", True)
    assert "bob_private.md" in ask(app, registry, question).answer

    for doc_id in ("a1", "b1"):
        registry.update(doc_id, state="ready", units=10)
    done = ask(app, registry, question)
    assert done.answer == qa.NO_ANSWER_KO


def test_a_refusal_from_the_documents_read_adds_the_notice(
    make_app: Callable[..., App], registry: SqliteRegistry, tmp_path: Path
) -> None:
    app = make_app(ScriptedLLM(lambda m: f"{qa.REFUSAL_KO}."))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "fees.md").write_text(
        "# 계좌 수수료 안내\n\n계좌 이체 수수료와 해지 수수료는 영업점에서 안내합니다.\n",
        encoding="utf-8",
    )
    app.docs.indexer.index(docs)
    registry.add("a1", ALICE, "bank_faq_ko.csv", "document", tmp_path / "a1")
    registry.update("a1", state="indexing")

    answer = ask(app, registry, "계좌 해지 수수료는 얼마인가요?")
    assert answer.references  # the documents read stay with the answer
    assert not answer.answered
    assert answer.answer.startswith(qa.REFUSAL_KO)
    assert "bank_faq_ko.csv 처리 중" in answer.answer
    assert answer.answer.endswith("\n\n" + processing_notice(["bank_faq_ko.csv"], "ko"))
