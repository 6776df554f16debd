"""Zip containers written in the test (.docx decompression and parse bombs, repository zips),
and a way to call a reader on one with its memory and time bounded."""

from __future__ import annotations

import io
import multiprocessing
import random
import resource
import time
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path, PurePosixPath

from tests.doc_samples import docx_bytes

_PARAGRAPH = b"<w:p><w:r><w:t>AAAA</w:t></w:r></w:p>" * 1000


def bomb_docx(xml_bytes: int = 200_000_000) -> bytes:
    """A real .docx whose document.xml inflates to `xml_bytes` of valid, repetitive XML.

    200 MB of XML deflates to ~0.6 MB: what python-docx would read whole into memory and
    parse (the reported 520 KB file raised the server's RSS by 900 MB)."""
    source = zipfile.ZipFile(io.BytesIO(docx_bytes()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info)
            if info.filename != "word/document.xml":
                archive.writestr(info, data)
                continue
            head, tail = data.split(b"<w:body>", 1)
            with archive.open("word/document.xml", "w") as out:
                out.write(head + b"<w:body>")
                for _ in range(xml_bytes // len(_PARAGRAPH)):
                    out.write(_PARAGRAPH)
                out.write(tail)
    return buffer.getvalue()


def docx_with_body(
    body: bytes | list[bytes], *, part: str = "word/document.xml", prolog: bytes = b""
) -> bytes:
    """The sample .docx with its body replaced (pieces are written in turn, so a large body
    need not exist as one string); `part` renames the main part wherever the package names it
    (a reader finds it through [Content_Types].xml and the relationships, whatever its name);
    `prolog` goes before the root element (a DTD)."""
    source = zipfile.ZipFile(io.BytesIO(docx_bytes()))
    new_rels = f"word/_rels/{PurePosixPath(part).name}.rels"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info)
            if info.filename in ("[Content_Types].xml", "_rels/.rels"):
                data = data.replace(b"word/document.xml", part.encode())
            if info.filename == "word/_rels/document.xml.rels":
                archive.writestr(new_rels, data)
            elif info.filename != "word/document.xml":
                archive.writestr(info.filename, data)
        head, tail = source.read("word/document.xml").split(b"<w:body>", 1)
        declaration, root = head.split(b"?>", 1)
        with archive.open(part, "w") as out:
            out.write(declaration + b"?>" + prolog + root + b"<w:body>")
            for piece in [body] if isinstance(body, bytes) else body:
                out.write(piece)
            out.write(tail[tail.index(b"<w:sectPr") :])
    return buffer.getvalue()


def padded_bomb_docx(
    unit: bytes = b"<w:p/>", count: int = 5_000_000, *, part: str = "word/document.xml"
) -> bytes:
    """The security review's .docx: `count` copies of `unit` (5 million empty paragraphs are
    30 MB of XML) after an XML comment of random hex, 1% of the XML, that barely compresses,
    so the part stays under 32 MB and its ratio near 140:1: every byte limit passes.
    python-docx took 458 s and 1.2 GB on it."""
    block = unit * 10_000
    pad = random.Random(0).randbytes(len(unit) * count // 200).hex().encode()
    pieces = [b"<!--", pad, b"-->", *[block] * (count // 10_000), unit * (count % 10_000)]
    return docx_with_body(pieces, part=part)


def zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    """A zip of the members in order; the same name may appear twice."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore")  # "Duplicate name": the very case under test
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@dataclass(frozen=True, slots=True)
class Bounded:
    error: str | None  # "DocumentError: <message>", or None when the call returned
    elapsed_s: float
    peak_bytes: int  # peak of traced Python allocations during the call
    rss_growth: int  # peak resident memory of the child above its size at the start, in bytes:
    # what tracemalloc cannot see (lxml and libxml2 allocate in C)


def call_bounded(
    call: Callable[[], object],
    *,
    headroom: int = 1 << 30,
    timeout_s: float = 60,
    trace: bool = True,
) -> Bounded:
    """Run `call` in a forked child with its address space capped at its size now plus
    `headroom`, and a deadline: a regression fails the test in seconds instead of taking the
    machine's memory (the old .docx reader spent 13 minutes and 6.7 GB on the bomb).
    `trace=False` leaves tracemalloc off (peak_bytes 0): it doubles the cost of a loop
    that allocates, which matters when the time is what is measured."""
    reader, writer = multiprocessing.get_context("fork").Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(
        target=_bounded_child, args=(call, headroom, trace, writer)
    )
    child.start()
    writer.close()
    try:
        if not reader.poll(timeout_s):
            raise AssertionError(f"no result within {timeout_s} s")
        try:
            result: Bounded = reader.recv()
        except EOFError as exc:  # the child died, out of memory in a C extension or so
            raise AssertionError("the call died within its memory bound") from exc
    finally:
        child.kill()
        child.join()
    return result


def _bounded_child(
    call: Callable[[], object], headroom: int, trace: bool, writer: Connection
) -> None:
    pages = Path("/proc/self/statm").read_text().split()
    size, resident = (int(pages[i]) * resource.getpagesize() for i in (0, 1))
    resource.setrlimit(resource.RLIMIT_AS, (size + headroom, size + headroom))
    if trace:
        tracemalloc.start()
    started = time.monotonic()
    error = None
    try:
        call()
    except BaseException as exc:  # reported to the parent, which decides
        error = f"{type(exc).__name__}: {exc}"
    elapsed = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1]  # 0 when not tracing
    tracemalloc.stop()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KB on Linux
    writer.send(Bounded(error, elapsed, peak, rss_peak - resident))
