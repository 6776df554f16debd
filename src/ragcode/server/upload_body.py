"""An upload's multipart body read under a hard byte cap, its one file part written to disk.

FastAPI parses a form parameter (`UploadFile`) before it solves the endpoint's dependencies,
so such an endpoint writes a whole body of any size to disk before it knows who sent it. The
upload endpoint takes the bare request instead: it checks the session and the declared
length, then hands the body to `receive_file`, which counts every byte pulled from the
socket and stops at the cap, also for chunked bodies that declare no length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request

from ragcode.server.uploads import UploadRejectedError

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

# Where the file part goes: given the client's file name, a new path (or a refusal).
TargetFor = Callable[[str], Path]

NOT_MULTIPART = "업로드 형식이 잘못되었습니다. multipart/form-data 로 파일 하나를 보내 주세요."
ONE_FILE = "파일은 한 번에 하나만 올릴 수 있습니다."
NO_FILE = "업로드할 파일이 없습니다. 'file' 필드에 파일 하나를 담아 보내 주세요."
CUT_SHORT = "업로드가 중간에 끊겼습니다. 다시 올려 주세요."


class UploadTooLargeError(UploadRejectedError):
    """The body passes the cap (HTTP 413); reading stopped there."""


@dataclass(frozen=True, slots=True)
class BodyLimits:
    max_file_bytes: int  # the file itself
    max_body_bytes: int  # the file plus the multipart framing around it

    def too_large(self) -> UploadTooLargeError:
        return UploadTooLargeError(
            f"파일이 너무 큽니다 (최대 {self.max_file_bytes // 1_000_000} MB)."
        )


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    filename: str  # as the client named it; the caller cleans it
    path: Path
    size: int


def check_declared_length(headers: Headers, limits: BodyLimits) -> None:
    """A Content-Length over the cap is refused before a single body byte is read."""
    declared = headers.get("content-length")
    if declared is None:
        return  # chunked: the cap applies while reading
    try:
        length = int(declared)
    except ValueError as exc:
        raise UploadRejectedError(NOT_MULTIPART) from exc
    if length > limits.max_body_bytes:
        raise limits.too_large()


class _FilePart:
    """python-multipart callbacks: keeps the one file part, ignores (small) plain fields.

    Runs in a worker thread, fed one network chunk at a time, so file writes never block
    the event loop."""

    def __init__(self, target_for: TargetFor, limits: BodyLimits) -> None:
        self._target_for = target_for
        self._limits = limits
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._out: BinaryIO | None = None
        self._filename = ""
        self.received: ReceivedFile | None = None
        self.path: Path | None = None
        self.size = 0
        self.finished = False

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._disposition = b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"filename" not in options:
            return  # a plain field: its bytes count against the body cap, nothing is kept
        if self.path is not None:
            raise UploadRejectedError(ONE_FILE)
        filename = options[b"filename"].decode("utf-8", errors="replace")
        path = self._target_for(filename)  # refuses an unsupported name before its data
        self._out = path.open("xb")  # a new file, never one that was there
        self.path, self._filename = path, filename

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._out is None:
            return
        self.size += end - start
        if self.size > self._limits.max_file_bytes:
            raise self._limits.too_large()
        self._out.write(data[start:end])

    def _part_end(self) -> None:
        if self._out is not None and self.path is not None:
            self._out.close()
            self._out = None
            self.received = ReceivedFile(self._filename, self.path, self.size)

    def _end(self) -> None:
        self.finished = True

    def discard(self) -> None:
        if self._out is not None:
            self._out.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _boundary(headers: Headers) -> bytes:
    content_type, options = parse_options_header(headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UploadRejectedError(NOT_MULTIPART)
    return boundary


async def receive_file(request: Request, target_for: TargetFor, limits: BodyLimits) -> ReceivedFile:
    """Stream the body into the file part's target; nothing of it stays on a refusal."""
    part = _FilePart(target_for, limits)
    parser = MultipartParser(_boundary(request.headers), part.callbacks())
    pulled = 0
    try:
        async for chunk in request.stream():
            pulled += len(chunk)
            if pulled > limits.max_body_bytes:
                raise limits.too_large()  # stop reading here: the rest is never pulled
            await run_in_threadpool(parser.write, chunk)
        if not part.finished:
            raise UploadRejectedError(CUT_SHORT if pulled else NO_FILE)
        if part.received is None:
            raise UploadRejectedError(NO_FILE)
        return part.received
    except FormParserError as exc:
        part.discard()
        raise UploadRejectedError(NOT_MULTIPART) from exc
    except ClientDisconnect as exc:
        part.discard()
        raise UploadRejectedError(CUT_SHORT) from exc
    except BaseException:
        part.discard()
        raise
