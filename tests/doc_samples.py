"""Documents written in the test: PDFs with pypdf's writer, DOCX files with python-docx."""

from __future__ import annotations

import io

import docx
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
)


def _text_page(writer: PdfWriter, lines: list[str]) -> None:
    page = writer.add_blank_page(width=612, height=792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    fonts = DictionaryObject({NameObject("/F1"): writer._add_object(font)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({escaped}) Tj T*")
    ops.append("ET")
    stream = DecodedStreamObject()
    stream.set_data("\n".join(ops).encode("latin-1"))
    page[NameObject("/Contents")] = ArrayObject([writer._add_object(stream)])


def pdf_bytes(pages: list[list[str]], password: str | None = None) -> bytes:
    """A PDF whose pages hold the given lines of (Latin-1) text; encrypted if password."""
    writer = PdfWriter()
    for lines in pages:
        _text_page(writer, lines)
    if password is not None:
        writer.encrypt(user_password=password, owner_password=password, algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def image_only_pdf() -> bytes:
    """A PDF with pages but no text layer at all (what a scanner without OCR produces)."""
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx_bytes() -> bytes:
    document = docx.Document()
    document.add_heading("이체 안내", level=1)
    document.add_paragraph("이 문서는 이체 서비스를 설명합니다.")
    document.add_heading("예약이체", level=2)
    document.add_paragraph("예약이체는 최대 1년 뒤까지 날짜와 시각을 정해 보낼 수 있습니다.")
    document.add_heading("수수료", level=2)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "창구"
    table.cell(0, 1).text = "1,000원"
    table.cell(1, 0).text = "인터넷뱅킹"
    table.cell(1, 1).text = "무료"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
