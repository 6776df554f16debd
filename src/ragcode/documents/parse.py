"""The parser strategy of the documents indexer: one read file in, structural chunks out.

Each chunk becomes a `CodeUnit` so that the store, retrieval and evaluation stay shared:
`name` is the FAQ question or the section title, `code` the chunk text shown to the LLM,
`language` the file format, and `start_line`/`end_line` the position (lines of a text file
or CSV, record index of a JSON FAQ, pages of a PDF, body paragraphs of a DOCX).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from ragcode.config import DocumentSettings
from ragcode.documents import faq
from ragcode.documents.blocks import Block, Chunk, first_line, pack, sections
from ragcode.documents.errors import DocumentError
from ragcode.documents.formats import detect_format
from ragcode.documents.markdown import markdown_blocks
from ragcode.documents.pdf import read_pdf
from ragcode.documents.plain import paragraphs
from ragcode.documents.word import docx_blocks
from ragcode.domain import CodeUnit, UnitKind
from ragcode.ingest.files import SourceFile

EMPTY = "색인할 텍스트가 없는 빈 문서입니다"
_ANSWER = "\n답변: "


def faq_text(question: str, answer: str) -> str:
    return f"질문: {question}{_ANSWER}{answer}"


def chunk_text(chunk: Chunk) -> str:
    return chunk.body if chunk.body.startswith(chunk.title) else f"{chunk.title}\n\n{chunk.body}"


def chunk_body(unit: CodeUnit) -> str:
    """The chunk without its title: the answer of a FAQ record, the text under a heading."""
    if unit.kind == UnitKind.FAQ and _ANSWER in unit.code:
        return unit.code.split(_ANSWER, 1)[1]
    head = f"{unit.name}\n\n"
    return unit.code[len(head) :] if unit.code.startswith(head) else unit.code


class DocumentParser:
    def __init__(self, settings: DocumentSettings) -> None:
        self._settings = settings
        self._columns = faq.FaqColumns(
            question=settings.question_columns,
            answer=settings.answer_columns,
            category=settings.category_columns,
        )

    def __call__(self, path: str, source: SourceFile) -> list[CodeUnit]:
        fmt = detect_format(path) or source.language
        if fmt in {"csv", "tsv", "json", "jsonl"}:
            return self._faq(path, fmt, source.text)
        if fmt == "pdf":
            return self._pdf(path, source.abs_path.read_bytes())
        if fmt == "docx":
            blocks = docx_blocks(source.abs_path.read_bytes())
        elif fmt == "markdown":
            blocks = markdown_blocks(source.text)
        else:
            blocks = paragraphs(source.text)
        kind = UnitKind.PARAGRAPH if fmt == "text" else UnitKind.SECTION
        return self._units(path, fmt, kind, sections(blocks, self._settings.chunk_chars))

    def _faq(self, path: str, fmt: str, text: str) -> list[CodeUnit]:
        if fmt == "json":
            records = faq.read_json(text, self._columns)
        elif fmt == "jsonl":
            records = faq.read_jsonl(text, self._columns)
        else:
            records = faq.read_csv(text, self._columns, "\t" if fmt == "tsv" else ",")
        return [
            CodeUnit(
                path=path,
                name=r.question,
                kind=UnitKind.FAQ,
                language=fmt,
                start_line=r.start,
                end_line=r.end,
                code=faq_text(r.question, r.answer),
                docstring=r.category,
            )
            for r in records
        ]

    def _pdf(self, path: str, data: bytes) -> list[CodeUnit]:
        document = read_pdf(data)
        title = document.title or PurePosixPath(path).stem
        chunks: list[Chunk] = []
        for number, text in document.pages:
            blocks = [Block(b.text, number, number) for b in paragraphs(text)]
            for group in pack(blocks, self._settings.chunk_chars):
                body = "\n\n".join(block.text for block in group)
                chunks.append(Chunk(f"{title} ({number}쪽)", body, number, number))
        return self._units(path, "pdf", UnitKind.PAGE, chunks)

    def _units(self, path: str, fmt: str, kind: UnitKind, chunks: list[Chunk]) -> list[CodeUnit]:
        if not chunks:
            raise DocumentError(EMPTY)
        return [
            CodeUnit(
                path=path,
                name=chunk.title or first_line(chunk.body),
                kind=kind,
                language=fmt,
                start_line=chunk.start,
                end_line=chunk.end,
                code=chunk_text(chunk),
            )
            for chunk in chunks
        ]
