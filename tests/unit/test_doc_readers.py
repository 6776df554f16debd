"""Document readers and chunkers: every format, and the clear refusal of bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragcode.config import DocumentSettings
from ragcode.documents.blocks import Block, sections
from ragcode.documents.errors import DocumentError
from ragcode.documents.parse import DocumentParser, chunk_body
from ragcode.documents.scan import scan_documents
from ragcode.domain import Record, SkippedFile, UnitKind
from ragcode.ingest.files import FileLimits, SourceFile
from tests.doc_samples import docx_bytes, image_only_pdf, pdf_bytes

pytestmark = pytest.mark.unit

FAQ_CSV = (
    "번호,분류,질문,답변\n"
    "1,이체,이체 한도는 얼마인가요?,1일 5천만 원입니다.\n"
    '2,카드,"카드를 잃어버렸어요, 어떡하죠?","즉시 분실 신고를 하세요.\n재발급은 앱에서."\n'
    "3,계좌,통장 재발행은?,영업점에서 합니다.\n"
)


def parse(tmp_path: Path, name: str, content: str | bytes, **settings: object) -> list[Record]:
    """The file's chunks as the indexer gets them: records."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    scan = scan_documents(path, FileLimits(max_bytes=10_000_000))
    source = next(scan.items)
    assert isinstance(source, SourceFile), source
    return DocumentParser(DocumentSettings(**settings))(name, source)


def test_csv_faq_one_record_per_chunk_with_lines(tmp_path: Path) -> None:
    units = parse(tmp_path, "faq.csv", FAQ_CSV)
    assert [u.title for u in units] == [
        "이체 한도는 얼마인가요?", "카드를 잃어버렸어요, 어떡하죠?", "통장 재발행은?",
    ]  # fmt: skip
    assert all(u.kind == UnitKind.FAQ and u.language == "csv" for u in units)
    assert [(u.start_line, u.end_line) for u in units] == [(2, 2), (3, 4), (5, 5)]
    assert units[1].body == (
        "질문: 카드를 잃어버렸어요, 어떡하죠?\n답변: 즉시 분실 신고를 하세요.\n재발급은 앱에서."
    )
    assert [u.metadata for u in units] == [{"category": c} for c in ("이체", "카드", "계좌")]
    assert chunk_body(units[0]) == "1일 5천만 원입니다."


def test_csv_columns_are_configurable_and_cp949_is_read(tmp_path: Path) -> None:
    content = "Q,A\nWhat is OTP?,A one-time password device.\n"
    assert [u.title for u in parse(tmp_path, "en.csv", content)] == ["What is OTP?"]
    custom = "문항,설명\n환전은?,앱에서 신청합니다.\n"
    with pytest.raises(DocumentError, match="질문 열이 없습니다"):
        parse(tmp_path, "custom.csv", custom)
    units = parse(
        tmp_path, "custom.csv", custom, question_columns=["문항"], answer_columns=["설명"]
    )
    assert units[0].body == "질문: 환전은?\n답변: 앱에서 신청합니다."
    units = parse(tmp_path, "legacy.csv", "질문,답변\n환전은?,앱에서.\n".encode("cp949"))
    assert units[0].title == "환전은?"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("번호,질문\n1,이체 한도는?\n", "답변 열이 없습니다"),
        ("질문,답변\n이체 한도는?,5천만 원,추가 값\n", "2행의 열 개수"),
        ("질문,답변,분류\n이체 한도는?,5천만 원\n", "2행의 열 개수"),
        ("질문,답변\n이체 한도는?,\n", "2행에 질문이나 답변이 비어"),
        ("질문,답변\n", "레코드가 하나도 없습니다"),
        ('질문,답변\n"닫히지 않은 따옴표,값\n', "CSV 형식 오류"),
    ],
)
def test_malformed_csv_is_refused_whole(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        parse(tmp_path, "bad.csv", content)


def test_json_and_jsonl_faq(tmp_path: Path) -> None:
    records = [{"question": "OTP란?", "answer": "일회용 비밀번호 기기입니다."},
               {"질문": "환전은?", "답변": "앱에서 신청합니다.", "분류": "외환"}]  # fmt: skip
    units = parse(tmp_path, "faq.json", json.dumps({"faq": records}, ensure_ascii=False))
    assert [(u.title, u.start_line, u.language) for u in units] == [
        ("OTP란?", 1, "json"), ("환전은?", 2, "json"),
    ]  # fmt: skip
    assert [u.metadata for u in units] == [{}, {"category": "외환"}]
    lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    units = parse(tmp_path, "faq.jsonl", "\n" + lines + "\n")
    assert [(u.title, u.start_line) for u in units] == [("OTP란?", 2), ("환전은?", 3)]
    with pytest.raises(DocumentError, match="JSONL 2행"):
        parse(tmp_path, "broken.jsonl", lines[:-1])
    with pytest.raises(DocumentError, match="JSON 형식 오류"):
        parse(tmp_path, "broken.json", "[{")


MARKDOWN = """\
---
title: 안내서
---
# 인터넷뱅킹 안내

처음 쓰는 분을 위한 안내입니다.

## 가입

영업점이나 앱에서 가입합니다.

```bash
# 이 줄은 제목이 아닙니다
```

인증서
------

공동인증서와 금융인증서가 있습니다.

# 카드
## 분실

바로 신고하세요.
"""


def test_markdown_sections_carry_their_heading_path(tmp_path: Path) -> None:
    units = parse(tmp_path, "guide.md", MARKDOWN)
    assert [(u.title, u.start_line, u.end_line) for u in units] == [
        ("인터넷뱅킹 안내", 4, 6),
        ("인터넷뱅킹 안내 > 가입", 8, 14),
        ("인터넷뱅킹 안내 > 인증서", 16, 19),
        ("카드 > 분실", 22, 24),
    ]
    assert "# 이 줄은 제목이 아닙니다" in units[1].body
    assert units[1].body.startswith("인터넷뱅킹 안내 > 가입\n\n영업점이나")
    assert all(u.kind == UnitKind.SECTION and u.language == "markdown" for u in units)
    assert all(u.metadata == {} for u in units)


def test_long_sections_split_at_paragraphs_never_inside(tmp_path: Path) -> None:
    paragraphs = [f"{n}번째 문단입니다. " + "내용이 이어집니다. " * 20 for n in range(1, 7)]
    text = "# 긴 절\n\n" + "\n\n".join(paragraphs) + "\n"
    units = parse(tmp_path, "long.md", text, chunk_chars=500)
    assert len(units) > 2
    assert {u.title for u in units} == {"긴 절"}
    bodies = [chunk_body(u) for u in units]
    for paragraph in paragraphs:  # each paragraph whole in exactly one chunk
        assert sum(paragraph.strip() in body for body in bodies) == 1
    assert units[0].start_line == 1 and units[-1].end_line == 13


def test_oversized_paragraph_is_cut_at_sentence_ends() -> None:
    sentence = "이 문장은 꽤 길게 이어지는 한 문장입니다."
    block = Block(" ".join([sentence] * 30), 1, 1)
    chunks = sections([block], max_chars=200)
    assert len(chunks) > 1
    assert all(chunk.body.endswith("입니다.") for chunk in chunks)


def test_plain_text_paragraphs(tmp_path: Path) -> None:
    text = "공지사항\n시스템 점검 안내\n\n점검 시간에는 이체가 중단됩니다.\n"
    units = parse(tmp_path, "notice.txt", text, chunk_chars=200)
    assert [(u.title, u.kind, u.start_line, u.end_line) for u in units] == [
        ("공지사항", UnitKind.PARAGRAPH, 1, 4)
    ]
    with pytest.raises(DocumentError, match="빈 문서"):
        parse(tmp_path, "empty.txt", "\n\n")


def test_pdf_pages_with_page_numbers(tmp_path: Path) -> None:
    data = pdf_bytes([["Transfer limits", "Daily limit is 50 million won."], ["Card loss."]])
    units = parse(tmp_path, "guide.pdf", data)
    assert [(u.title, u.kind, u.start_line, u.end_line) for u in units] == [
        ("guide (1쪽)", UnitKind.PAGE, 1, 1), ("guide (2쪽)", UnitKind.PAGE, 2, 2),
    ]  # fmt: skip
    assert "Daily limit is 50 million won." in units[0].body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (pdf_bytes([["secret text"]], password="pw"), "암호로 보호된 PDF"),
        (image_only_pdf(), "텍스트를 추출할 수 없습니다"),
        (b"%PDF-1.7\nthis is not really a pdf", "PDF 파일이 손상"),
    ],
)
def test_unusable_pdf_is_refused_clearly(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        parse(tmp_path, "bad.pdf", data)


def test_docx_headings_from_styles_and_tables(tmp_path: Path) -> None:
    units = parse(tmp_path, "transfer.docx", docx_bytes())
    assert [u.title for u in units] == ["이체 안내", "이체 안내 > 예약이체", "이체 안내 > 수수료"]
    assert [(u.start_line, u.end_line) for u in units] == [(1, 2), (3, 4), (5, 6)]
    assert "창구 | 1,000원\n인터넷뱅킹 | 무료" in units[2].body
    with pytest.raises(DocumentError, match="DOCX 파일이 손상"):
        parse(tmp_path, "broken.docx", b"PK\x03\x04 not a real zip")


def test_scan_skips_unsupported_files_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "faq.csv").write_text("질문,답변\n a?, b.\n", encoding="utf-8")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\0")
    (tmp_path / ".hidden.md").write_text("# x\n", encoding="utf-8")
    items = list(scan_documents(tmp_path, FileLimits()).items)
    assert [item.path for item in items] == ["faq.csv", "logo.png"]
    assert isinstance(items[1], SkippedFile) and "지원하지 않는 문서 형식" in items[1].reason
