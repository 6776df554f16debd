"""The shared zip-container guard: repository zips and .docx files, checked before opening."""

from __future__ import annotations

import dataclasses
import io
import random
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest

from ragcode.config import DocumentSettings
from ragcode.documents.errors import DocumentError
from ragcode.documents.parse import DocumentParser
from ragcode.documents.word import docx_blocks
from ragcode.ingest.containers import (
    DOCUMENT_LIMITS,
    ContainerLimits,
    ContainerRejectedError,
    CorruptContainerError,
    check_archive,
    check_container,
    is_zip_container,
)
from ragcode.ingest.files import SourceFile
from ragcode.server.uploads import (
    UploadRejectedError,
    ZipLimits,
    check_document_container,
    extract_zip,
)
from tests.doc_samples import docx_bytes
from tests.zip_samples import (
    bomb_docx,
    call_bounded,
    docx_with_body,
    padded_bomb_docx,
    zip_bytes,
)

pytestmark = pytest.mark.unit
LIMITS = ContainerLimits(max_members=5, max_total_bytes=3_000_000, max_member_bytes=2_000_000)
NOISE = random.Random(0).randbytes(3_200_000)  # does not compress: only sizes can trip


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = bomb_docx()
    assert len(data) < 1_000_000  # 200 MB of XML in well under 1 MB
    return data


@pytest.fixture(scope="module")
def padded_bomb() -> bytes:
    return padded_bomb_docx()


def check(members: list[tuple[str, bytes]], limits: ContainerLimits = LIMITS) -> None:
    with zipfile.ZipFile(io.BytesIO(zip_bytes(members))) as archive:
        check_archive(archive, limits)


def test_ordinary_archives_pass() -> None:
    check([("a.py", b"x = 1\n" * 1000), ("b/c.txt", b"hello")])
    check([("blank.txt", b" " * 900_000)])  # small members may compress as well as they like
    check_container(io.BytesIO(docx_bytes()), DOCUMENT_LIMITS)


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ([(f"f{i}.py", b"1") for i in range(6)], "파일이 너무 많습니다"),
        ([("big.bin", NOISE[:2_100_000])], "파일 하나 최대"),
        ([("p1.bin", NOISE[:1_600_000]), ("p2.bin", NOISE[1_600_000:])], "압축을 푼 크기가 너무"),
        ([("zeros.txt", b"0" * 1_500_000)], "압축률이 비정상적으로"),
    ],
)
def test_declared_limits_are_enforced(members: list[tuple[str, bytes]], reason: str) -> None:
    with pytest.raises(ContainerRejectedError, match=reason):
        check(members)


def test_not_a_zip_is_corrupt() -> None:
    with pytest.raises(CorruptContainerError, match="읽을 수 없습니다"):
        check_container(io.BytesIO(b"PK\x03\x04 not really"), DOCUMENT_LIMITS)


def test_zip_based_formats_are_recognised() -> None:
    assert all(is_zip_container(n) for n in ["a.DOCX", "b.xlsx", "c.pptx", "d.zip", "x/e.odt"])
    assert not any(is_zip_container(n) for n in ["a.pdf", "b.md", "docx", "c.doc"])


def test_docx_bomb_is_refused_fast_with_bounded_memory(bomb: bytes) -> None:
    outcome = call_bounded(lambda: docx_blocks(bomb))
    assert outcome.error is not None
    assert outcome.error.startswith("DocumentError: DOCX 파일을 열지 않았습니다: 압축을 푼 크기")
    assert outcome.elapsed_s < 2.0
    assert outcome.peak_bytes < 20_000_000  # the XML alone would be 200 MB


def test_docx_bomb_through_the_document_parser(tmp_path: Path, bomb: bytes) -> None:
    path = tmp_path / "bomb.docx"
    path.write_bytes(bomb)
    parser = DocumentParser(DocumentSettings())
    source = SourceFile("bomb.docx", path, "docx", "", "hash")
    outcome = call_bounded(lambda: parser("bomb.docx", source))
    assert outcome.error is not None and "DOCX 파일을 열지 않았습니다" in outcome.error
    assert outcome.elapsed_s < 2.0 and outcome.peak_bytes < 20_000_000


def test_real_docx_still_reads_and_broken_one_is_explained() -> None:
    assert [b.text for b in docx_blocks(docx_bytes())][:2] == [
        "이체 안내",
        "이 문서는 이체 서비스를 설명합니다.",
    ]
    with pytest.raises(DocumentError, match="DOCX 파일이 손상"):
        docx_blocks(b"PK\x03\x04 not a real zip")


# Parse cost: bytes and ratios cannot bound it, the node budget does.
TOO_MANY_NODES = "DOCX 파일을 열지 않았습니다: 문서 구조가 비정상적으로 큽니다"
SPLIT = b"<a>" + b"<b/>" * 500_000 + b"</a>"


def test_padded_bomb_passes_every_byte_limit_but_not_the_node_budget(padded_bomb: bytes) -> None:
    info = zipfile.ZipFile(io.BytesIO(padded_bomb)).getinfo("word/document.xml")
    assert len(padded_bomb) < 300_000 and info.file_size > 30_000_000  # 5 million paragraphs
    assert info.file_size / info.compress_size < DOCUMENT_LIMITS.max_ratio
    bytes_only = dataclasses.replace(DOCUMENT_LIMITS, max_xml_nodes=None)
    check_container(io.BytesIO(padded_bomb), bytes_only)  # what the guard checked before
    with pytest.raises(ContainerRejectedError, match="XML 요소·속성 1,000,000개 초과"):
        check_container(io.BytesIO(padded_bomb), DOCUMENT_LIMITS)


def test_padded_docx_bomb_is_refused_fast_with_flat_memory(padded_bomb: bytes) -> None:
    # python-docx took 458 s and 1.2 GB on it; capped at +512 MB a regression fails in seconds.
    outcome = call_bounded(lambda: docx_blocks(padded_bomb), headroom=1 << 29, trace=False)
    assert outcome.error is not None and outcome.error.startswith(
        f"DocumentError: {TOO_MANY_NODES}"
    )
    assert outcome.elapsed_s < 3.0
    assert outcome.rss_growth < 32_000_000  # the XML is 30 MB; its tree would be 1.1 GB


def test_padded_bomb_is_refused_by_the_parser_and_on_upload(
    tmp_path: Path, padded_bomb: bytes
) -> None:
    path = tmp_path / "manual.docx"
    path.write_bytes(padded_bomb)
    parser = DocumentParser(DocumentSettings())
    source = SourceFile("manual.docx", path, "docx", "", "hash")
    outcome = call_bounded(lambda: parser("manual.docx", source), headroom=1 << 29, trace=False)
    assert outcome.error is not None and outcome.error.startswith(
        f"DocumentError: {TOO_MANY_NODES}"
    )
    with pytest.raises(UploadRejectedError, match="DOCX 파일을 받지 않았습니다: 문서 구조가"):
        check_document_container(path)  # the upload route answers 400 with this


def plus(data: bytes, name: str, body: bytes) -> bytes:
    """The .docx with one more member (and the content type of .svg files, as Word has it)."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    svg = b'<Default Extension="svg" ContentType="image/svg+xml"/></Types>'
    types = [(n, b.replace(b"</Types>", svg)) for n, b in members if n == "[Content_Types].xml"]
    return zip_bytes(
        types + [(n, b) for n, b in members if n != "[Content_Types].xml"] + [(name, body)]
    )


@pytest.mark.parametrize(
    ("make", "reason"),
    [  # each just over the budget, or refused whatever its size
        (lambda: padded_bomb_docx(count=1_050_000, part="word/body.bin"), "word/body.bin"),
        (lambda: padded_bomb_docx(b"<!---->", 1_050_000), "문서 구조가"),
        (lambda: padded_bomb_docx(b'<w:p a="" b="" c="" d="" e=""/>', 180_000), "문서 구조가"),
        (lambda: docx_with_body(b"&e;", prolog=b'<!DOCTYPE d [<!ENTITY e "x">]>'), "DTD"),
        (  # the budget is the archive's: the reader holds every part at once
            lambda: plus(padded_bomb_docx(count=600_000), "customXml/item9.xml", SPLIT),
            "customXml/item9.xml",
        ),
    ],
    ids=["renamed-part", "comments", "attributes", "dtd", "split-over-parts"],
)
def test_disguised_parse_bombs_are_refused(make: Callable[[], bytes], reason: str) -> None:
    data = make()
    outcome = call_bounded(lambda: docx_blocks(data), headroom=1 << 29, timeout_s=30, trace=False)
    assert outcome.error is not None and outcome.elapsed_s < 3.0
    assert re.match(f"DocumentError: DOCX 파일을 열지 않았습니다: .*{reason}", outcome.error)


def test_broken_xml_is_damage_and_images_are_not_parsed() -> None:
    svg = b'<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "svg11.dtd"><svg/>'
    with_svg = plus(docx_bytes(), "word/media/image1.svg", svg)
    assert docx_blocks(with_svg)[0].text == "이체 안내"  # SVGs may carry a DTD
    with pytest.raises(DocumentError, match="DOCX 파일이 손상"):
        docx_blocks(docx_with_body(b"<w:p><w:r></w:p>"))


def test_a_long_real_docx_reads_within_the_budget() -> None:
    document = docx.Document()
    for chapter in range(30):  # 3,000 paragraphs of ~110 characters, headings, a table
        document.add_heading(f"제{chapter + 1}장 이체 서비스", level=1)
        for _ in range(100):
            document.add_paragraph(
                "예약이체는 최대 1년 뒤까지 날짜와 시각을 정해 보낼 수 있습니다. " * 3
            )
    table = document.add_table(rows=40, cols=5)
    for row in range(40):
        for column in range(5):
            table.cell(row, column).text = f"{row}-{column}"
    table.cell(1, 0).merge(table.cell(3, 0)).text = "개인"  # down three rows
    table.cell(0, 1).merge(table.cell(0, 4)).text = "수수료"  # across four columns
    buffer = io.BytesIO()
    document.save(buffer)
    outcome = call_bounded(lambda: docx_blocks(buffer.getvalue()), trace=False)
    assert outcome.error is None and outcome.elapsed_s < 3.0
    blocks = docx_blocks(buffer.getvalue())
    assert len(blocks) == 30 * 101 + 1 and blocks[0].level == 1 and blocks[1].level == 0
    rows = blocks[-1].text.split("\n")
    assert rows[:5] == [
        "0-0 | 수수료",
        "개인 | 1-1 | 1-2 | 1-3 | 1-4",
        "개인 | 2-1 | 2-2 | 2-3 | 2-4",
        "개인 | 3-1 | 3-2 | 3-3 | 3-4",
        "4-0 | 4-1 | 4-2 | 4-3 | 4-4",
    ]


_CELL_X = b"<w:p><w:r><w:t>x</w:t></w:r></w:p></w:tc></w:tr>"


@pytest.mark.parametrize(
    "rows",
    [  # python-docx's row.cells: a tuple of a billion cells; a cubic walk up 2,000 rows
        b'<w:tr><w:tc><w:tcPr><w:gridSpan w:val="1000000000"/></w:tcPr>' + _CELL_X,
        b'<w:tr><w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr>'
        + _CELL_X
        + b"<w:tr><w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc></w:tr>" * 2000,
    ],
    ids=["grid-span", "vertical-merge"],
)
def test_merged_cells_cost_one_pass(rows: bytes) -> None:
    data = docx_with_body(b"<w:tbl>" + rows + b"</w:tbl>")
    outcome = call_bounded(lambda: docx_blocks(data), headroom=1 << 29, timeout_s=30, trace=False)
    assert outcome.error is None and outcome.elapsed_s < 2.0
    assert set(docx_blocks(data)[0].text.split("\n")) == {"x"}


ZIP_LIMITS = ZipLimits(max_files=10, max_uncompressed_bytes=100_000)


def extracted(tmp_path: Path, members: list[tuple[str, bytes]]) -> dict[str, bytes]:
    archive = tmp_path / "repo.zip"
    archive.write_bytes(zip_bytes(members))
    target = tmp_path / "out"
    count = extract_zip(archive, target, ZIP_LIMITS)
    paths = [path for path in target.rglob("*") if path.is_file()]
    found = {path.relative_to(target).as_posix(): path.read_bytes() for path in paths}
    assert count == len(found)
    return found


def test_names_that_clean_to_the_same_path_are_all_kept(tmp_path: Path) -> None:
    files = extracted(
        tmp_path, [("a b.py", b"first = 1\n"), ("a_b.py", b"second = 2\n"), ("pkg/x.py", b"3")]
    )
    assert files == {"a_b.py": b"first = 1\n", "a_b-2.py": b"second = 2\n", "pkg/x.py": b"3"}


def test_duplicate_members_and_numbered_names_do_not_overwrite(tmp_path: Path) -> None:
    members = [("m.py", b"1"), ("m.py", b"2"), ("m-2.py", b"3"), ("d i r/m.py", b"4")]
    members.append(("d_i_r/m.py", b"5"))
    files = extracted(tmp_path, members)
    assert sorted(files.values()) == [b"1", b"2", b"3", b"4", b"5"]
    assert files["m.py"] == b"1" and files["m-2.py"] == b"2" and files["m-2-2.py"] == b"3"


def test_a_file_where_a_folder_must_go_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "repo.zip"
    archive.write_bytes(zip_bytes([("a_b", b"file"), ("a b/c.py", b"x = 1")]))
    with pytest.raises(UploadRejectedError, match="겹칩니다"):
        extract_zip(archive, tmp_path / "out", ZIP_LIMITS)
    assert not (tmp_path / "out").exists()


def test_zip_upload_limits_use_the_shared_guard(tmp_path: Path) -> None:
    archive = tmp_path / "ratio.zip"
    archive.write_bytes(zip_bytes([("zeros.py", b"0" * 1_500_000)]))
    limits = ZipLimits(max_files=10, max_uncompressed_bytes=10_000_000)
    with pytest.raises(UploadRejectedError, match="압축률"):
        extract_zip(archive, tmp_path / "out", limits)
    assert not (tmp_path / "out").exists()
