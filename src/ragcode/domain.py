"""Plain data shared by every layer: what the parsers cut out of a file (code units, document
chunks), the neutral record the store keeps of either, what a search hit carries."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
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


# Metadata keys: a code unit's docstring, a FAQ record's category. Stored as they are (the
# store migrations map the old `docstring` column onto them).
DOCSTRING = "docstring"
CATEGORY = "category"
# A unit read from a registered git repository: its name, and the commit whose version of the
# file was indexed (the file is unchanged from it up to the repository's indexed commit).
REPO = "repo"
COMMIT = "commit"
# A Python unit indexed from a root that is itself a package (`toolz/` holding `__init__.py`):
# the dotted package of that root ("toolz"), which the unit's root-relative path lacks.
PYTHON_PACKAGE = "python_package"


class Metadata(Mapping[str, str]):
    """A record's metadata: read-only and hashable, so that a record stays a frozen value."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items: dict[str, str] = dict(sorted((items or {}).items()))

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __repr__(self) -> str:
        return f"Metadata({self._items!r})"


@dataclass(frozen=True, slots=True)
class Record:
    """What the store holds of a code unit or a document chunk, whichever it came from.

    The store, retrieval and evaluation only see records; each parser's output maps onto one
    in a single function (`CodeUnit.to_record`, `DocumentChunk.to_record`).
    """

    path: str  # the source file, relative to its indexed root, with "/" separators
    title: str  # a code unit's qualified name; a section title or a FAQ question
    kind: UnitKind
    language: str  # programming language ("python", "go"...) or document format ("csv", "pdf")
    start_line: int  # 1-based, inclusive: lines, or a document's records, pages, paragraphs
    end_line: int
    body: str  # the code, or the chunk text shown to the LLM
    # {"docstring": ...} of a documented code unit, {"category": ...} of a FAQ record, or empty.
    metadata: Mapping[str, str] = field(default_factory=Metadata)

    def __post_init__(self) -> None:
        if not isinstance(self.metadata, Metadata):  # a plain dict would make the record unhashable
            object.__setattr__(self, "metadata", Metadata(self.metadata))

    @property
    def code_hash(self) -> str:
        """Hash of what a summary depends on: the language and the body. The summary cache
        (and eval/*_summaries.jsonl) is keyed by it: the formula must never change."""
        return content_hash(f"{self.language}\n{self.body}")

    @property
    def unit_id(self) -> str:
        """Content-addressed id: same path, title and body give the same id (exact GC).
        Existing indexes are keyed by it: the formula must never change."""
        return content_hash(f"{self.path}\n{self.title}\n{self.start_line}\n{self.code_hash}")[:32]


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

    def to_record(self) -> Record:
        metadata = {DOCSTRING: self.docstring} if self.docstring else {}
        return Record(
            self.path, self.name, self.kind, self.language, self.start_line, self.end_line,
            self.code, metadata,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class DocumentChunk:
    """One chunk of a document (`ragcode docs`), cut by the document's structure: a FAQ
    record, a Markdown/DOCX section under its heading path, a PDF page, a text's paragraphs."""

    path: str  # relative to the indexed root, always with "/" separators
    title: str  # the FAQ question, the section title, "<document> (<n>쪽)"
    kind: UnitKind  # FAQ, SECTION, PAGE or PARAGRAPH
    format: str  # "csv", "tsv", "json", "jsonl", "markdown", "docx", "pdf", "text"
    # Where it is, 1-based and inclusive: lines of a text file or CSV, the record index of a
    # JSON FAQ, pages of a PDF, body paragraphs of a DOCX.
    start: int
    end: int
    text: str  # what the LLM reads: "질문: ...\n답변: ..." of a FAQ, the title and what it heads
    category: str | None = None  # a FAQ record's category

    def to_record(self) -> Record:
        metadata = {CATEGORY: self.category} if self.category else {}
        return Record(
            self.path, self.title, self.kind, self.format, self.start, self.end, self.text,
            metadata,
        )  # fmt: skip


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
class StoredRecord:
    """A record as the store holds it, with its description: the LLM summary of a code unit
    (None while it is pending, trivial or failed). Documents get none: they are written
    TRIVIAL, their title and body are what search reads."""

    record: Record
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
    record: Record
    summary: str | None  # the record's description (StoredRecord.summary)
    scores: Scores

    @property
    def score(self) -> float:
        return self.scores.final

    def as_dict(self) -> dict[str, object]:
        """The wire shape the web client and `--json` read (keys kept from before records)."""
        record = self.record
        return {
            "path": record.path,
            "name": record.title,
            "kind": str(record.kind),
            "language": record.language,
            "start_line": record.start_line,
            "end_line": record.end_line,
            "score": self.scores.final,
            "scores": self.scores.as_dict(),
            "summary": self.summary,
            "code": record.body,
            "repo": record.metadata.get(REPO),
            "commit": record.metadata.get(COMMIT),
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
