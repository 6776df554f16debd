"""DOCX (python-docx): paragraphs and tables in body order; headings from paragraph styles."""

from __future__ import annotations

import io
import logging
import re
from typing import TYPE_CHECKING

from ragcode.documents.blocks import Block
from ragcode.documents.errors import DocumentError

if TYPE_CHECKING:
    from docx.table import Table

log = logging.getLogger(__name__)

# Built-in style names are stored in English even by a Korean Word ("heading 1", "Title").
_HEADING = re.compile(r"^(?:heading|제목)\s*(\d)$", re.IGNORECASE)
_TITLE = frozenset({"title", "제목"})


def heading_level(style_name: str) -> int:
    name = style_name.strip()
    if name.casefold() in _TITLE:
        return 1
    match = _HEADING.match(name)
    return int(match.group(1)) if match else 0


def docx_blocks(data: bytes) -> list[Block]:
    """Blocks numbered by their position among the body's paragraphs and tables (1-based)."""
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        items = list(document.iter_inner_content())
    except Exception as exc:  # python-docx raises many kinds of errors on a damaged file
        log.info("docx unreadable error=%r", exc)
        raise DocumentError("DOCX 파일이 손상되었거나 Word 문서(.docx)가 아닙니다") from exc
    blocks: list[Block] = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, Table):
            text, level = _table_text(item), 0
        else:
            text = item.text.strip()
            level = heading_level(item.style.name or "") if item.style is not None else 0
        if text:
            blocks.append(Block(text, number, number, level))
    return blocks


def _table_text(table: Table) -> str:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = cell.text.strip()
            if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows)
