"""PDF: the text of each page (pypdf); encrypted and image-only files are refused clearly."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from ragcode.documents.errors import DocumentError

log = logging.getLogger(__name__)

ENCRYPTED = "암호로 보호된 PDF입니다. 암호를 해제한 PDF로 다시 저장해서 넣어 주세요"
NO_TEXT = (
    "PDF에서 텍스트를 추출할 수 없습니다 (스캔한 이미지만 있는 PDF로 보입니다). "
    "OCR로 텍스트를 입힌 PDF를 넣어 주세요"
)


@dataclass(frozen=True, slots=True)
class PdfText:
    title: str | None  # from the document information, if any
    pages: list[tuple[int, str]]  # (1-based page number, text) of the pages with text


def read_pdf(data: bytes) -> PdfText:
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # an owner-only password still opens for reading
            except (DependencyError, NotImplementedError, PyPdfError):
                opened = PasswordType.NOT_DECRYPTED
            if opened == PasswordType.NOT_DECRYPTED:
                raise DocumentError(ENCRYPTED)
        pages = [(number, page.extract_text() or "") for number, page in enumerate(reader.pages, 1)]
        title = reader.metadata.title if reader.metadata else None
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on a damaged file
        log.info("pdf unreadable error=%r", exc)
        raise DocumentError(f"PDF 파일이 손상되었거나 PDF가 아닙니다 ({exc})") from exc
    with_text = [(number, text) for number, text in pages if text.strip()]
    if not with_text:
        raise DocumentError(NO_TEXT)
    return PdfText(title=str(title).strip() if title else None, pages=with_text)
