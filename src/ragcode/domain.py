"""Plain data shared by every layer: what a code unit is, what a search hit carries."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

# Owner scopes: who may find an indexed file. The team knowledge base (`ragcode index`,
# `ragcode docs add`, uploads shared with the team) is visible to every user; a private
# upload only to its owner. Searches filter by scope inside the store query.
TEAM_SCOPE = "team"
TEAM_ONLY: tuple[str, ...] = (TEAM_SCOPE,)


def user_scope(user_id: int) -> str:
    """The scope of one user's private uploads."""
    return f"user:{user_id}"


def visible_scopes(user_id: int) -> tuple[str, ...]:
    """What one user's searches may return: the team's files and their own."""
    return (TEAM_SCOPE, user_scope(user_id))


class UnitKind(StrEnum):
    FUNCTION = "function"
    METHOD = "method"
    CLASS = "class"
    # Document chunks (`ragcode docs`): cut by the structure of the document, never by size alone.
    FAQ = "faq"  # one question/answer record of a CSV/JSON/JSONL FAQ
    SECTION = "section"  # a Markdown/DOCX section under its heading path
    PAGE = "page"  # a PDF page (or part of a long page)
    PARAGRAPH = "paragraph"  # paragraphs of a plain text file


class SummaryState(StrEnum):
    PENDING = "pending"  # waiting for the LLM
    DONE = "done"  # written by the LLM (or taken from the cache)
    TRIVIAL = "trivial"  # too small to be worth an LLM call; searchable by code alone
    FAILED = "failed"  # the LLM failed; retried on the next run


def content_hash(text: str) -> str:
    """Stable hash of a text; the summary cache and unit ids are keyed by it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class CodeUnit:
    """One function, method or class header cut out of a source file by a real parser."""

    path: str  # relative to the indexed root, always with "/" separators
    name: str  # qualified: "Class.method", "outer.inner"
    kind: UnitKind
    language: str  # "python", "javascript", "typescript", "tsx", "java", "go"
    start_line: int  # 1-based, first decorator or the def/function line
    end_line: int  # 1-based, inclusive
    code: str
    docstring: str | None = None  # docstring, or the doc comment just above the unit

    @property
    def code_hash(self) -> str:
        """Hash of what the summary depends on: the language and the code itself."""
        return content_hash(f"{self.language}\n{self.code}")

    @property
    def unit_id(self) -> str:
        """Content-addressed id: same path, name and code give the same id (exact GC)."""
        return content_hash(f"{self.path}\n{self.name}\n{self.start_line}\n{self.code_hash}")[:32]


@dataclass(frozen=True, slots=True)
class SkippedFile:
    path: str
    reason: str  # short, user-readable (Korean): "바이너리 파일입니다", "파일이 너무 큽니다 (...)"


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """The result of reading one source file: its units and the hash of its bytes."""

    path: str
    language: str
    file_hash: str
    units: list[CodeUnit]


@dataclass(frozen=True, slots=True)
class StoredUnit:
    """A unit as the store holds it: the code unit plus its summary state."""

    unit: CodeUnit
    summary: str | None
    summary_state: SummaryState


@dataclass(slots=True)
class Scores:
    """Why a hit was chosen: every retriever's contribution, so a user can see it."""

    vector: float | None = None  # best cosine similarity over the unit's vectors
    lexical: float | None = None  # best BM25 score over the unit's fields
    fused: float = 0.0  # reciprocal rank fusion over every (retriever, field) list
    rerank: float = 0.0  # cosine of the question to the stored vectors ("priority search")
    final: float = 0.0
    ranks: dict[str, int] = field(default_factory=dict)  # "lexical:summary" -> 1-based rank

    def as_dict(self) -> dict[str, object]:
        return {
            "vector": self.vector,
            "lexical": self.lexical,
            "fused": self.fused,
            "rerank": self.rerank,
            "final": self.final,
            "ranks": dict(self.ranks),
        }


@dataclass(slots=True)
class Hit:
    unit: CodeUnit
    summary: str | None
    scores: Scores

    @property
    def score(self) -> float:
        return self.scores.final

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.unit.path,
            "name": self.unit.name,
            "kind": str(self.unit.kind),
            "language": self.unit.language,
            "start_line": self.unit.start_line,
            "end_line": self.unit.end_line,
            "score": self.scores.final,
            "scores": self.scores.as_dict(),
            "summary": self.summary,
            "code": self.unit.code,
        }


@dataclass(frozen=True, slots=True)
class IndexStatus:
    files: int
    units: int
    summaries_done: int
    summaries_pending: int
    summaries_failed: int
    summaries_trivial: int
    skipped: list[SkippedFile]
    embedder: str | None = None  # the embedding model the collection was indexed with


@dataclass(frozen=True, slots=True)
class ChatTurn:
    """One question and its answer, as kept in conversation memory."""

    question: str
    answer: str
    standalone_question: str | None = None  # the question after follow-up rewriting
