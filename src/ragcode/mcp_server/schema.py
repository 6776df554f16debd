"""What the tools return: pydantic models, so each tool publishes an output schema and a
client gets both structured content and the same data as JSON text."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ragcode.chat.code_answer import CodeAnswer
from ragcode.chat.doc_answer import DocAnswer
from ragcode.chat.references import display_summary
from ragcode.documents.citations import location
from ragcode.domain import COMMIT, DOCSTRING, REPO, Hit, Record, StoredRecord


class HitScores(BaseModel):
    """Why a hit was chosen (domain.Scores)."""

    final: float = Field(description="최종 점수 (final score)")
    rerank: float = Field(description="질문과 저장된 벡터의 코사인 (re-rank cosine)")
    fused: float = Field(description="RRF 융합 점수, 0-1 (fused rank score)")
    vector: float | None = Field(description="가장 높은 벡터 유사도 (best vector score)")
    lexical: float | None = Field(description="가장 높은 BM25 점수 (best lexical score)")
    ranks: dict[str, int] = Field(description="검색기별 순위 (rank per retriever list)")


class CodeUnitOut(BaseModel):
    """One code unit of the team knowledge base."""

    path: str = Field(description="색인한 루트 기준 파일 경로 (path relative to its root)")
    name: str = Field(description="정규화된 이름, 예: Class.method (qualified name)")
    kind: str = Field(description="function, method 또는 class")
    language: str
    start_line: int = Field(description="첫 줄, 1부터 (1-based, inclusive)")
    end_line: int = Field(description="마지막 줄 (1-based, inclusive)")
    summary: str | None = Field(description="LLM 요약, 없으면 null (LLM description)")
    docstring: str | None = Field(description="독스트링/문서 주석 (docstring)")
    code: str
    repo: str | None = Field(default=None, description="git 저장소 이름 (registered repository)")
    commit: str | None = Field(
        default=None, description="이 파일을 색인한 커밋 (commit the file was read at)"
    )


class CodeHitOut(CodeUnitOut):
    scores: HitScores


class SearchCodeOut(BaseModel):
    query: str
    language: str | None = Field(description="걸러낸 언어 (language filter), 없으면 null")
    hits: list[CodeHitOut] = Field(description="관련도 순 (best first)")


class UnitOut(CodeUnitOut):
    summary_state: str = Field(description="pending, done, trivial 또는 failed")


class CodeBlockOut(BaseModel):
    language: str = Field(description="펜스에 적힌 언어, 없으면 빈 문자열 (fence language)")
    code: str


class CodeAnswerOut(BaseModel):
    answer: str = Field(description="생성된 답변 (Markdown, 코드 블록 포함)")
    code_blocks: list[CodeBlockOut] = Field(description="답변 속 코드 블록 (code blocks)")
    references: list[CodeHitOut] = Field(description="참고한 코드, 번호 순 (references)")
    rewritten_question: str | None
    code_language: str | None
    syntax_error: str | None = Field(description="고친 뒤에도 남은 문법 오류 (if any)")
    unknown_symbols: list[str] = Field(
        default_factory=list,
        description="고친 뒤에도 색인·표준 라이브러리 어디에도 없는 이름 (names found nowhere)",
    )


class DocHitOut(BaseModel):
    number: int = Field(description="인용 번호 [n] (citation number)")
    title: str = Field(description="FAQ 질문이나 절 제목 (title)")
    source: str = Field(description="문서 파일 경로 (document path)")
    location: str = Field(description="문서 안의 위치: 행, 쪽, 문단 (location)")
    kind: str
    format: str
    text: str
    scores: HitScores


class SearchDocsOut(BaseModel):
    query: str
    hits: list[DocHitOut]


class DocAnswerOut(BaseModel):
    answer: str
    answered: bool = Field(description="문서에서 답을 찾았는지 (false: 답 없음)")
    cited: list[int] = Field(description="답변이 인용한 [n] 번호 (cited numbers)")
    references: list[DocHitOut]


def _scores(hit: Hit) -> HitScores:
    s = hit.scores
    return HitScores(
        final=s.final, rerank=s.rerank, fused=s.fused, vector=s.vector, lexical=s.lexical,
        ranks=dict(s.ranks),
    )  # fmt: skip


def _unit_fields(record: Record, summary: str | None) -> dict[str, Any]:
    """The `CodeUnitOut` fields of a code unit's record and its summary."""
    return dict(
        path=record.path, name=record.title, kind=str(record.kind), language=record.language,
        start_line=record.start_line, end_line=record.end_line,
        summary=display_summary(summary),
        docstring=record.metadata.get(DOCSTRING), code=record.body,
        repo=record.metadata.get(REPO), commit=record.metadata.get(COMMIT),
    )  # fmt: skip


def code_hit(hit: Hit) -> CodeHitOut:
    return CodeHitOut(**_unit_fields(hit.record, hit.summary), scores=_scores(hit))


def unit(stored: StoredRecord) -> UnitOut:
    return UnitOut(
        **_unit_fields(stored.record, stored.summary), summary_state=str(stored.summary_state)
    )


def code_answer(result: CodeAnswer) -> CodeAnswerOut:
    blocks = [
        CodeBlockOut(language=block.language, code=block.code) for block in result.code_blocks
    ]
    return CodeAnswerOut(
        answer=result.answer, code_blocks=blocks,
        references=[code_hit(hit) for hit in result.references],
        rewritten_question=result.rewritten_question, code_language=result.code_language,
        syntax_error=result.syntax_error, unknown_symbols=result.unknown_symbols,
    )  # fmt: skip


def doc_hit(number: int, hit: Hit) -> DocHitOut:
    record = hit.record
    return DocHitOut(
        number=number, title=record.title, source=record.path, location=location(record),
        kind=str(record.kind), format=record.language, text=record.body, scores=_scores(hit),
    )  # fmt: skip


def doc_answer(result: DocAnswer) -> DocAnswerOut:
    return DocAnswerOut(
        answer=result.answer, answered=result.answered, cited=list(result.cited),
        references=[doc_hit(n, hit) for n, hit in enumerate(result.references, start=1)],
    )  # fmt: skip
