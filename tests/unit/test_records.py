"""The neutral record: code units and document chunks map onto it, and its ids and code hash
are those the units had before records existed (indexes, the summary cache and the
evaluation caches in eval/*.jsonl are keyed by them)."""

from __future__ import annotations

from typing import Any

import pytest

from ragcode.domain import (
    CATEGORY,
    DOCSTRING,
    CodeUnit,
    DocumentChunk,
    Metadata,
    Record,
    UnitKind,
    content_hash,
)
from ragcode.ingest.entries import CodeTexts, code_embedding_text, unit_uid
from ragcode.text.analyzer import TextAnalyzer

pytestmark = pytest.mark.unit

METHOD = CodeUnit(
    "pkg/mod.py", "Repo.load", UnitKind.METHOD, "python", 3, 5,
    'def load(self):\n    """Load."""\n    return 1\n', "Load.",
)  # fmt: skip
FAQ = DocumentChunk(
    "faq.csv", "인터넷뱅킹은 어떻게 가입하나요?", UnitKind.FAQ, "csv", 2, 2,
    "질문: 인터넷뱅킹은 어떻게 가입하나요?\n답변: 영업점에서", "가입",
)  # fmt: skip


def test_a_code_unit_maps_onto_a_record() -> None:
    record = METHOD.to_record()
    assert record == Record(
        "pkg/mod.py", "Repo.load", UnitKind.METHOD, "python", 3, 5, METHOD.code,
        {DOCSTRING: "Load."},
    )  # fmt: skip
    bare = CodeUnit("a.py", "f", UnitKind.FUNCTION, "go", 1, 1, "func f() {}")
    assert bare.to_record().metadata == {}
    assert CodeUnit("a.py", "f", UnitKind.FUNCTION, "go", 1, 1, "x", "").to_record().metadata == {}


def test_a_document_chunk_maps_onto_a_record() -> None:
    assert FAQ.to_record() == Record(
        "faq.csv", FAQ.title, UnitKind.FAQ, "csv", 2, 2, FAQ.text, {CATEGORY: "가입"}
    )
    section = DocumentChunk("guide.md", "안내 > 가입", UnitKind.SECTION, "markdown", 4, 6, "본문")
    assert section.to_record().metadata == {}
    assert section.to_record().language == "markdown"


def test_record_ids_and_hashes_are_the_code_units_of_before() -> None:
    """Pinned values, computed by CodeUnit before records existed: a change here would make
    every index re-embed and every cached summary miss."""
    record = METHOD.to_record()
    assert (record.code_hash, record.unit_id) == (METHOD.code_hash, METHOD.unit_id)
    assert record.code_hash == "36509126d53f199bd4a1462f3056f9fdf61fa518d7b3c991cd00ed75d4a6985c"
    assert record.unit_id == "e64e692591aef7e8064bcc0c317ffdc8"
    assert record.code_hash == content_hash(f"python\n{METHOD.code}")
    # A document chunk keeps the id it had as a CodeUnit (name = title, code = text).
    faq = FAQ.to_record()
    as_before = CodeUnit(
        FAQ.path, FAQ.title, FAQ.kind, FAQ.format, FAQ.start, FAQ.end, FAQ.text, FAQ.category
    )
    assert (faq.code_hash, faq.unit_id) == (as_before.code_hash, as_before.unit_id)
    assert faq.code_hash == "91534abe853e1dc51103bdf4c1066800bf3908fb04a6759485748b0afd8aa627"
    assert faq.unit_id == "0030c4c98b081e76f3e372eb771aea00"
    # Metadata is no part of either: the docstring is in the code already.
    assert record.unit_id == Record(**{**_fields(record), "metadata": {}}).unit_id
    assert unit_uid("code", "/r", record) == content_hash(f"code\n/r\n{record.unit_id}")[:32]


def _fields(record: Record) -> dict[str, Any]:
    return {name: getattr(record, name) for name in Record.__dataclass_fields__}


def test_metadata_is_read_only_and_hashable() -> None:
    record = Record("a.py", "f", UnitKind.FUNCTION, "python", 1, 2, "x", {"b": "2", "a": "1"})
    assert isinstance(record.metadata, Metadata)  # a dict given is frozen
    assert record.metadata == {"a": "1", "b": "2"} and list(record.metadata) == ["a", "b"]
    assert record.metadata.get("missing") is None
    with pytest.raises(TypeError):
        record.metadata["a"] = "changed"  # type: ignore[index]
    same = Record(
        "a.py", "f", UnitKind.FUNCTION, "python", 1, 2, "x", Metadata({"a": "1", "b": "2"})
    )
    assert same == record and hash(same) == hash(record)
    other = Record("a.py", "f", UnitKind.FUNCTION, "python", 1, 2, "x", {"a": "1"})
    assert other != record
    assert len({record, same, other}) == 2


def test_a_parsed_docstring_reaches_the_doc_field_and_the_code_vector_text() -> None:
    """The docstring travels in metadata now: the lexical `doc` field and the code embedding
    text must still get it (and a FAQ category must not become a docstring)."""
    unit = CodeUnit(
        "io.py", "read_config", UnitKind.FUNCTION, "python", 1, 3,
        "def read_config(path):\n    return {}\n", "설정 파일을 읽어 사전으로 돌려준다",
    )  # fmt: skip
    tokens = CodeTexts().tokens(TextAnalyzer(), unit.to_record(), None)
    assert {"설정", "파일"} <= set(tokens["doc"])
    assert "설정 파일을 읽어" in code_embedding_text(unit.to_record())
    faq_tokens = CodeTexts().tokens(TextAnalyzer(), FAQ.to_record(), None)
    assert faq_tokens["doc"] == []
