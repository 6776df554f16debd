"""One guard for every zip container (repository zips, .docx ...) before anything inflates it.

A few hundred KB of deflated XML can hold gigabytes; a reader that trusts the archive
(python-docx reads whole parts into memory) then takes the server down. zipfile never yields
more than a member's declared size (it stops at `file_size`, then the CRC check fails), so
the sizes declared in the central directory bound what any reader can inflate: checking them
here, before a reader opens the archive, inflates nothing.

Bytes do not bound what parsing costs, though: 31 MB of `<w:p/>` padded with an
incompressible comment passes the size and ratio limits, and python-docx builds five million
elements from it (1.2 GB, minutes). For documents the XML members are therefore also streamed
through a parser that builds no tree and stops at a budget of nodes (elements, attributes ...):
its own cost is bounded by the declared sizes and the budget.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from lxml import etree

from ragcode.ingest.indexer import FileRejectedError

# Zip-based formats: the guard applies to each before its reader opens it.
ZIP_CONTAINER_SUFFIXES: frozenset[str] = frozenset(
    {".zip", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".epub", ".jar"}
)
_MB = 1_000_000
_CHUNK = 1 << 16
_CONTENT_TYPES = "[Content_Types].xml"
# A member that cannot be inflated: damaged, truncated, encrypted, an unknown compression.
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError)


class ContainerRejectedError(FileRejectedError):
    """The archive is refused before it is opened; the message is Korean, for the user."""


class CorruptContainerError(ContainerRejectedError):
    """Not a readable zip, or XML in it that does not parse (as opposed to a zip that passes
    a limit)."""


@dataclass(frozen=True, slots=True)
class ContainerLimits:
    max_members: int
    max_total_bytes: int  # declared uncompressed size of all members together
    max_member_bytes: int  # declared uncompressed size of one member
    # Deflate tops out near 1032:1; real XML or source rarely passes 30:1. Small members are
    # exempt: a 100 KB file of blanks is harmless whatever its ratio.
    max_ratio: float = 200.0
    ratio_from_bytes: int = _MB
    # Nodes (elements, attributes ...) of all XML members together: what a reader that parses
    # them holds in memory. None for archives that are unpacked, not parsed.
    max_xml_nodes: int | None = None


# Office documents: a long .docx holds a few MB of XML, its images barely compress, and the
# reader parses every XML part in memory, so members stay well below the repository limits.
# XML nodes, counted on Word-like markup (run properties, rsid attributes): a 300-page report
# has ~170,000; ~590,000 when every third page is a full-page table; 1.45 million when every
# page is (split such a file). At the budget python-docx holds ~230 MB more and reads the worst
# shapes (a flood of empty paragraphs) in ~14 s; the padded bomb had 5 million: 1.2 GB, 458 s.
DOCUMENT_LIMITS = ContainerLimits(
    max_members=2000,
    max_total_bytes=100 * _MB,
    max_member_bytes=32 * _MB,
    max_xml_nodes=1_000_000,
)


def is_zip_container(name: str) -> bool:
    return PurePosixPath(name.replace("\\", "/")).suffix.lower() in ZIP_CONTAINER_SUFFIXES


def check_archive(archive: zipfile.ZipFile, limits: ContainerLimits) -> list[zipfile.ZipInfo]:
    """The archive's members, or ContainerRejectedError when any limit is passed: the declared
    ones first (nothing inflated), then the XML node budget when the limits set one."""
    members = archive.infolist()
    files = sum(1 for info in members if not info.is_dir())  # folders hold no data
    if files > limits.max_members:
        raise ContainerRejectedError(
            f"압축 파일 안의 파일이 너무 많습니다 ({files:,}개, 최대 {limits.max_members:,}개)"
        )
    total = 0
    for info in members:
        if info.file_size > limits.max_member_bytes:
            raise ContainerRejectedError(
                f"압축을 푼 크기가 너무 큽니다: {info.filename} "
                f"({_mb(info.file_size)}, 파일 하나 최대 {_mb(limits.max_member_bytes)})"
            )
        total += info.file_size
        if total > limits.max_total_bytes:
            raise ContainerRejectedError(
                f"압축을 푼 크기가 너무 큽니다 (최대 {_mb(limits.max_total_bytes)})"
            )
        _check_ratio(info, limits)
    if limits.max_xml_nodes is not None:
        _check_xml(archive, members, limits.max_xml_nodes)
    return members


def _check_ratio(info: zipfile.ZipInfo, limits: ContainerLimits) -> None:
    if info.file_size < limits.ratio_from_bytes:
        return
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > limits.max_ratio:
        raise ContainerRejectedError(
            f"압축률이 비정상적으로 높습니다: {info.filename} ({ratio:,.0f}:1). "
            "압축 폭탄으로 보여 열지 않았습니다"
        )


def _check_xml(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], budget: int) -> None:
    """Parse every member a reader may parse as XML, building nothing, until the archive has
    spent its node budget. A member is XML by name (`*.xml`, `*.rels`) or by the content type
    [Content_Types].xml gives it, whatever its name. Images are left alone, SVG included: no
    reader parses them, and an SVG may well carry a DTD."""
    types = _ContentTypes({"/" + info.filename.lower() for info in members})
    try:
        types_info: zipfile.ZipInfo | None = archive.getinfo(_CONTENT_TYPES)  # what readers open
    except KeyError:
        types_info = None
    spent = 0 if types_info is None else _count_nodes(archive, types_info, types, 0, budget)
    for info in members:
        if info is not types_info and not info.is_dir() and types.is_xml(info.filename):
            spent = _count_nodes(archive, info, _NodeCounter(), spent, budget)


class _DoctypeError(Exception):
    pass


class _NodeCounter:
    """A parser target counting what a tree of the XML would hold (elements, attributes,
    namespace declarations, comments, processing instructions) and keeping none of it.
    A DTD stops it: OOXML parts have none, and without it no entity reference can add a node
    (python-docx keeps `&e;` unexpanded, one node each)."""

    def __init__(self) -> None:
        self.nodes = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.nodes += 1 + len(attrib)

    def start_ns(self, prefix: str | None, uri: str) -> None:
        self.nodes += 1

    def comment(self, text: str) -> None:
        self.nodes += 1

    def pi(self, target: str, data: str | None = None) -> None:
        self.nodes += 1

    def doctype(self, name: str, public_id: str | None, system_url: str | None) -> None:
        raise _DoctypeError

    def close(self) -> int:
        return self.nodes


class _ContentTypes(_NodeCounter):
    """[Content_Types].xml, counted like any part, remembers which members it makes XML
    (matched without case, as OPC readers do); only names in the archive are kept."""

    def __init__(self, partnames: set[str]) -> None:
        super().__init__()
        self._partnames = partnames
        self._extensions = {PurePosixPath(name).suffix[1:] for name in partnames}
        self._xml_parts: set[str] = set()
        self._xml_extensions: set[str] = set()

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        super().start(tag, attrib)
        content_type = attrib.get("ContentType", "").lower()
        if "xml" not in content_type or content_type.startswith("image/"):
            return
        kind = tag.rpartition("}")[2]
        part = attrib.get("PartName", "").lower()
        extension = attrib.get("Extension", "").lower()
        if kind == "Override" and part in self._partnames:
            self._xml_parts.add(part)
        elif kind == "Default" and extension in self._extensions:
            self._xml_extensions.add(extension)

    def is_xml(self, name: str) -> bool:
        name = name.lower()
        return (
            name.endswith((".xml", ".rels"))
            or "/" + name in self._xml_parts
            or PurePosixPath(name).suffix[1:] in self._xml_extensions
        )


def _count_nodes(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, counter: _NodeCounter, spent: int, budget: int
) -> int:
    """`spent` plus the nodes of one member, read in chunks; refused as soon as the sum passes
    the budget. Options as python-docx parses: no entity expansion, no network, libxml2's
    limits on depth and text size (no huge_tree). XML that does not parse is refused as
    damaged, so a reader never gets further into a member than this count did."""
    parser = etree.XMLParser(
        target=counter, remove_blank_text=True, resolve_entities=False, huge_tree=False
    )
    try:
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                parser.feed(chunk)
                if spent + counter.nodes > budget:
                    raise ContainerRejectedError(
                        f"문서 구조가 비정상적으로 큽니다: {info.filename} "
                        f"(XML 요소·속성 {budget:,}개 초과). 압축 폭탄으로 보여 열지 않았습니다. "
                        "정상 문서라면 나누어 올려 주세요"
                    )
            parser.close()
    except _DoctypeError:
        raise ContainerRejectedError(
            f"문서의 XML에 DTD가 있습니다: {info.filename}. Office 문서에는 쓰지 않는 형식이라 "
            "열지 않았습니다"
        ) from None
    except (etree.XMLSyntaxError, *_UNREADABLE) as exc:
        raise CorruptContainerError(
            f"압축 파일 안의 XML을 읽을 수 없습니다: {info.filename}"
        ) from exc
    return spent + counter.nodes


def check_container(source: Path | IO[bytes], limits: ContainerLimits) -> None:
    """Check a zip container given as a path or a binary file object before a reader opens
    it (documents: its XML is streamed, never held)."""
    try:
        with zipfile.ZipFile(source) as archive:
            check_archive(archive, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        if isinstance(exc, ContainerRejectedError):
            raise
        raise CorruptContainerError(
            "압축 파일을 읽을 수 없습니다 (손상되었거나 zip 형식이 아닙니다)"
        ) from exc


def _mb(size: int) -> str:
    return f"{size / _MB:,.0f} MB" if size >= _MB else f"{size:,} B"
