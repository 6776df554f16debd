"""DOCX (python-docx): paragraphs and tables in body order; headings from paragraph styles.

Reading is linear in the size of the XML: the container guard bounds how many nodes
python-docx may build, and nothing here may cost more than a constant per node. Two of
python-docx's conveniences do not: `Paragraph.style` scans every style for each paragraph
without a style of its own (1 ms each), and `_Row.cells` repeats a cell once per grid column
it spans (`gridSpan="1000000000"`) and walks up the rows again for each vertically merged one.
"""

from __future__ import annotations

import io
import logging
import re
from typing import TYPE_CHECKING

from ragcode.documents.blocks import Block
from ragcode.documents.errors import DocumentError
from ragcode.ingest.containers import (
    DOCUMENT_LIMITS,
    ContainerRejectedError,
    CorruptContainerError,
    check_container,
)

if TYPE_CHECKING:
    from docx.styles.styles import Styles
    from docx.table import Table

log = logging.getLogger(__name__)

# Built-in style names are stored in English even by a Korean Word ("heading 1", "Title").
_HEADING = re.compile(r"^(?:heading|제목)\s*(\d)$", re.IGNORECASE)
_TITLE = frozenset({"title", "제목"})
CORRUPT = "DOCX 파일이 손상되었거나 Word 문서(.docx)가 아닙니다"


def heading_level(style_name: str) -> int:
    name = style_name.strip()
    if name.casefold() in _TITLE:
        return 1
    match = _HEADING.match(name)
    return int(match.group(1)) if match else 0


def docx_blocks(data: bytes) -> list[Block]:
    """Blocks numbered by their position among the body's paragraphs and tables (1-based)."""
    _guard(data)
    try:
        return _blocks(data)
    except Exception as exc:  # python-docx raises many kinds of errors on a damaged file
        log.info("docx unreadable error=%r", exc)
        raise DocumentError(CORRUPT) from exc


def _guard(data: bytes) -> None:
    """python-docx builds every XML part in memory: a bomb (too many bytes or too many XML
    nodes) is refused before it opens."""
    try:
        check_container(io.BytesIO(data), DOCUMENT_LIMITS)
    except CorruptContainerError as exc:
        raise DocumentError(CORRUPT) from exc
    except ContainerRejectedError as exc:
        raise DocumentError(f"DOCX 파일을 열지 않았습니다: {exc}") from exc


def _blocks(data: bytes) -> list[Block]:
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    levels, default_level = _style_levels(document.styles)
    blocks: list[Block] = []
    for number, item in enumerate(document.iter_inner_content(), start=1):
        if isinstance(item, Table):
            text, level = _table_text(item), 0
        else:
            text = item.text.strip()
            # The style id as Paragraph.style would resolve it, without its scan of all styles.
            level = levels.get(item._p.style or "", default_level)
        if text:
            blocks.append(Block(text, number, number, level))
    return blocks


def _style_levels(styles: Styles) -> tuple[dict[str, int], int]:
    """Heading level by style id, read once, and the level of a paragraph without a (known)
    paragraph style: python-docx's rules (the first style with an id wins; an id of another
    style type means the default paragraph style, the last one marked default)."""
    from docx.enum.style import WD_STYLE_TYPE

    default = styles.default(WD_STYLE_TYPE.PARAGRAPH)
    default_level = heading_level(default.name or "") if default is not None else 0
    levels: dict[str, int] = {}
    for style in styles:
        if style.style_id and style.style_id not in levels:
            paragraph = style.type == WD_STYLE_TYPE.PARAGRAPH
            levels[style.style_id] = heading_level(style.name or "") if paragraph else default_level
    return levels, default_level


def _table_text(table: Table) -> str:
    """A line per row, its cells joined by " | "; a merged cell's text once per row it spans.

    One pass over the XML: a cell continuing a vertical merge takes the text found at its
    grid column in the row above (python-docx's `_Row.cells` would look it up again)."""
    from docx.table import _Cell

    above: dict[int, str] = {}  # grid column -> text of the cell that starts there
    rows: list[str] = []
    for tr in table._tbl.tr_lst:
        column = tr.grid_before
        cells: list[str] = []
        current: dict[int, str] = {}  # this row's, for the row below
        for tc in tr.tc_lst:
            if tc.vMerge == "continue":
                text = above.get(column, "")
            else:
                text = _Cell(tc, table).text.strip()
            current[column] = text
            column += tc.grid_span
            if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                cells.append(text)
        above = current
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows)
