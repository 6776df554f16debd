"""The parser strategy of the documents indexer: one read file in, structural chunks out.

Each chunk is a `DocumentChunk` (its title, text, format, position and a FAQ's category); the
indexer gets them as records (`DocumentChunk.to_record`), as the store, retrieval and
evaluation share them with code: `title` is the FAQ question or the section title, `body` the
chunk text shown to the LLM, `language` the file format, `metadata` the FAQ category.
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
from ragcode.domain import DocumentChunk, Record, UnitKind
from ragcode.ingest.files import SourceFile

EMPTY = "색인할 텍스트가 없는 빈 문서입니다"
_ANSWER = "\n답변: "


def faq_text(question: str, answer: str) -> str:
    return f"질문: {question}{_ANSWER}{answer}"


def chunk_text(chunk: Chunk) -> str:
    return chunk.body if chunk.body.startswith(chunk.title) else f"{chunk.title}\n\n{chunk.body}"


def chunk_body(record: Record) -> str:
    """The chunk without its title: the answer of a FAQ record, the text under a heading."""
    if record.kind == UnitKind.FAQ and _ANSWER in record.body:
        return record.body.split(_ANSWER, 1)[1]
    head = f"{record.title}\n\n"
    return record.body[len(head) :] if record.body.startswith(head) else record.body


class DocumentParser:
    def __init__(self, settings: DocumentSettings) -> None:
        self._settings = settings
        self._columns = faq.FaqColumns(
            question=settings.question_columns,
            answer=settings.answer_columns,
            category=settings.category_columns,
        )

    def __call__(self, path: str, source: SourceFile) -> list[Record]:
        """The indexer's parser strategy (ingest.indexer.UnitParser)."""
        return [chunk.to_record() for chunk in self.chunks(path, source)]

    def chunks(self, path: str, source: SourceFile) -> list[DocumentChunk]:
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
        return self._chunks(path, fmt, kind, sections(blocks, self._settings.chunk_chars))

    def _faq(self, path: str, fmt: str, text: str) -> list[DocumentChunk]:
        if fmt == "json":
            records = faq.read_json(text, self._columns)
        elif fmt == "jsonl":
            records = faq.read_jsonl(text, self._columns)
        else:
            records = faq.read_csv(text, self._columns, "\t" if fmt == "tsv" else ",")
        return [
            DocumentChunk(
                path=path,
                title=r.question,
                kind=UnitKind.FAQ,
                format=fmt,
                start=r.start,
                end=r.end,
                text=faq_text(r.question, r.answer),
                category=r.category,
            )
            for r in records
        ]

    def _pdf(self, path: str, data: bytes) -> list[DocumentChunk]:
        document = read_pdf(data)
        title = document.title or PurePosixPath(path).stem
        chunks: list[Chunk] = []
        for number, text in document.pages:
            blocks = [Block(b.text, number, number) for b in paragraphs(text)]
            for group in pack(blocks, self._settings.chunk_chars):
                body = "\n\n".join(block.text for block in group)
                chunks.append(Chunk(f"{title} ({number}쪽)", body, number, number))
        return self._chunks(path, "pdf", UnitKind.PAGE, chunks)

    def _chunks(
        self, path: str, fmt: str, kind: UnitKind, chunks: list[Chunk]
    ) -> list[DocumentChunk]:
        if not chunks:
            raise DocumentError(EMPTY)
        return [
            DocumentChunk(
                path=path,
                title=chunk.title or first_line(chunk.body),
                kind=kind,
                format=fmt,
                start=chunk.start,
                end=chunk.end,
                text=chunk_text(chunk),
            )
            for chunk in chunks
        ]
