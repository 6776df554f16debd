"""Property-based fuzzing of every document reader and code parser.

Whatever the bytes (random, or a valid file with bytes flipped, cut or inserted), reading a
file ends in units or in the one clean refusal, `FileRejectedError` (a Korean reason the
indexer shows in status), and never takes long. Derandomized so that CI runs the same
examples every time; a failure prints the example to add as a plain test.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragcode.config import DocumentSettings
from ragcode.documents.parse import DocumentParser
from ragcode.documents.scan import load_document
from ragcode.domain import Record, SkippedFile
from ragcode.ingest.files import FileLimits, load_source
from ragcode.ingest.indexer import FileRejectedError, parse_code
from tests.doc_samples import docx_bytes, pdf_bytes

pytestmark = pytest.mark.unit

FUZZ = settings(
    max_examples=100,
    deadline=timedelta(seconds=3),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SLOWEST_S = 3.0
PARSER = DocumentParser(DocumentSettings())
LIMITS = FileLimits(max_bytes=2_000_000)

SAMPLES: dict[str, bytes] = {
    "faq.csv": "질문,답변,분류\n이체 한도는?,1일 5천만 원입니다.,이체\n".encode(),
    "faq.tsv": b"question\tanswer\nWhat is OTP?\tA one-time password.\n",
    "faq.json": json.dumps([{"질문": "환전은?", "답변": "앱에서 합니다."}]).encode(),
    "faq.jsonl": '{"q": "분실 신고는?", "a": "즉시"}\n{"q": "재발급?", "a": "앱"}\n'.encode(),
    "guide.md": "---\nt: x\n---\n# 이체\n\n본문입니다.\n\n```py\n# not a title\n```\n".encode(),
    "notes.txt": "첫 문단입니다.\n둘째 줄.\n\n둘째 문단입니다.\n".encode(),
    "manual.pdf": pdf_bytes([["Transfer guide", "Fees are free online."], ["Page two"]]),
    "manual.docx": docx_bytes(),
}
CODE_SAMPLES: dict[str, str] = {
    "mod.py": 'class A:\n    """Doc."""\n    def f(self, x):\n        return [x, (x,)]\n',
    "app.js": "/** Doc */\nexport function f(a) { return () => ({ g() { return a; } }); }\n",
    "app.ts": "interface I { x: number }\nexport class C implements I { x = 1; m(): void {} }\n",
    "view.tsx": "export const V = (p: P) => <div onClick={() => p.f()}>{p.x}</div>;\n",
    "Main.java": "/** Doc */\nclass Main { @Override void run() { new Thread(() -> {}); } }\n",
    "main.go": "package m\n// F doc.\nfunc (s *S) F() int { return g(func() int { return 1 }) }\n",
}
CODE_TOKENS = st.sampled_from(
    ["def ", "class ", "function ", "func ", "=>", "(", ")", "{", "}", "[", "]", ":", ";",
     "\n", "    ", "@dec\n", "'''", '"', "/*", "*/", "//", "#", "return ", "x", "가", "\\", "<a>",
     "</a>", "package p\n", "interface ", "export default ", "async ", "lambda: ", "\0"]
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """The original with a few bytes replaced, a slice cut out or junk inserted."""
    data = bytearray(original)
    for _ in range(draw(st.integers(0, 6))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 4096)))
        del data[start:end]
    if draw(st.booleans()):
        position = draw(st.integers(0, len(data)))
        data[position:position] = draw(st.binary(max_size=64))
    return bytes(data)


# The parts python-docx parses into objects: where broken-but-well-formed XML hurts most.
DOCX_PARTS = (
    "[Content_Types].xml", "_rels/.rels", "docProps/core.xml", "word/_rels/document.xml.rels",
    "word/document.xml", "word/numbering.xml", "word/settings.xml", "word/styles.xml",
)  # fmt: skip


@st.composite
def docx_with_a_mutated_part(draw: st.DrawFn) -> bytes:
    """A well-formed zip whose XML inside is broken: reaches python-docx and lxml, which a
    flipped byte of the zip itself (a failing CRC) never does."""
    source = zipfile.ZipFile(io.BytesIO(SAMPLES["manual.docx"]))
    parts = {info.filename: source.read(info) for info in source.infolist()}
    victim = draw(st.sampled_from(DOCX_PARTS))
    parts[victim] = draw(st.one_of(mutated(parts[victim]), renamed_element(parts[victim])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@st.composite
def renamed_element(draw: st.DrawFn, xml: bytes) -> bytes:
    """One of the first elements renamed: still well-formed XML, no longer what the reader
    expects (a root that is not <w:styles>, a body that is not <w:body>...)."""
    starts = [m.start(1) for m in re.finditer(rb"<([A-Za-z][\w:]*)", xml[:4096])][:3]
    if not starts:
        return xml
    at = draw(st.sampled_from(starts))
    old = re.match(rb"[\w:]+", xml[at:])
    assert old is not None
    name = draw(st.sampled_from([b"w:x", b"w:body", b"w:p", b"w:style", b"w:tbl", b"x"]))
    renamed = xml[:at] + name + xml[at + old.end() :]
    return renamed.replace(b"</" + old.group() + b">", b"</" + name + b">", 1)


def read_document(name: str, data: bytes) -> None:
    """The scanner then the reader, as `ragcode docs add` runs them on one file."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, name)
        path.write_bytes(data)
        started = time.monotonic()
        item = load_document(path, path, LIMITS)
        if isinstance(item, SkippedFile):
            assert item.reason
            return
        try:
            units = PARSER(name, item)
        except FileRejectedError as exc:
            assert str(exc), "a refusal must say why"
            return
        finally:
            assert time.monotonic() - started < SLOWEST_S
        assert units and all(isinstance(unit, Record) for unit in units)


def read_code(name: str, data: bytes) -> None:
    """The scanner then the parser, as `ragcode index` runs them on one file."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, name)
        path.write_bytes(data)
        started = time.monotonic()
        item = load_source(path, path, LIMITS)
        if isinstance(item, SkippedFile):
            assert item.reason
            return
        try:
            units = parse_code(name, item)
        except FileRejectedError as exc:
            assert str(exc)
            return
        assert all(unit.start_line <= unit.end_line for unit in units)
        assert time.monotonic() - started < SLOWEST_S


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_samples_are_read(name: str) -> None:
    """The seeds of the mutations below are valid: the readers accept them."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, name)
        path.write_bytes(SAMPLES[name])
        item = load_document(path, path, LIMITS)
        assert not isinstance(item, SkippedFile) and PARSER(name, item)


@pytest.mark.parametrize("name", sorted(SAMPLES))
@FUZZ
@given(data=st.data())
def test_documents_mutated_are_read_or_refused(name: str, data: st.DataObject) -> None:
    read_document(name, data.draw(mutated(SAMPLES[name])))


@FUZZ
@given(raw=docx_with_a_mutated_part())
def test_docx_with_broken_xml_is_read_or_refused(raw: bytes) -> None:
    read_document("manual.docx", raw)


@pytest.mark.parametrize("name", sorted(SAMPLES))
@FUZZ
@given(raw=st.binary(max_size=2048))
def test_documents_of_random_bytes_are_read_or_refused(name: str, raw: bytes) -> None:
    read_document(name, raw)


@pytest.mark.parametrize("name", sorted(CODE_SAMPLES))
@FUZZ
@given(data=st.data())
def test_code_mutated_or_random_is_parsed_or_refused(name: str, data: st.DataObject) -> None:
    seed = CODE_SAMPLES[name].encode()
    choice = data.draw(st.integers(0, 2))
    if choice == 0:
        raw = data.draw(mutated(seed))
    elif choice == 1:
        raw = "".join(data.draw(st.lists(CODE_TOKENS, max_size=200))).encode()
    else:
        raw = data.draw(st.binary(max_size=1024))
    read_code(name, raw)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("faq.json", b'[{"q": "x", "a": ' + b"9" * 5000 + b"}]"),  # past int's digit limit
        ("faq.json", b"[" * 100_000),  # past the stack of json's decoder
        ("faq.jsonl", b'{"q": "x", "a": "y"}\n' + b'{"q": ' * 50_000),
        ("faq.jsonl", b'{"q": "x", "a": ' + b"1" * 5000 + b"}\n"),
    ],
    ids=["long-number", "deep-array", "deep-jsonl-line", "long-number-jsonl"],
)
def test_json_past_the_decoders_limits_is_refused_cleanly(name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, name)
        path.write_bytes(data)
        item = load_document(path, path, LIMITS)
        assert not isinstance(item, SkippedFile)
        with pytest.raises(FileRejectedError, match="숫자가 너무 길거나 중첩이 너무 깊습니다"):
            PARSER(name, item)
