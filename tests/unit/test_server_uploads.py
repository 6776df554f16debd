"""Upload safety: clean names, size cap, zip traversal, symlinks and zip bombs refused."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from ragcode.server.uploads import (
    UploadRejectedError,
    ZipLimits,
    extract_zip,
    kind_of,
    safe_name,
    save_stream,
)

pytestmark = pytest.mark.unit
LIMITS = ZipLimits(max_files=10, max_uncompressed_bytes=10_000)


def make_zip(path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\win.ini", "win.ini"),
        ("/abs/path/x.py", "x.py"),
        (".hidden.py", "hidden.py"),
        ("..", "file"),
        ("내 코드 (1).py", "내_코드_1_.py"),
    ],
)
def test_safe_name_keeps_one_clean_component(raw: str, expected: str) -> None:
    assert safe_name(raw) == expected


def test_kind_by_extension() -> None:
    assert kind_of("a.py") == "code" and kind_of("repo.zip") == "code"
    assert kind_of("faq.csv") == "document" and kind_of("guide.md") == "document"
    assert kind_of("image.png") is None


def test_save_stream_refuses_and_removes_oversized(tmp_path: Path) -> None:
    target = tmp_path / "big.py"
    with pytest.raises(UploadRejectedError):
        save_stream(io.BytesIO(b"x" * 2000), target, max_bytes=1000)
    assert not target.exists()
    assert save_stream(io.BytesIO(b"ok"), tmp_path / "small.py", max_bytes=1000) == 2


def test_zip_extracts_safe_members(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"pkg/mod.py": b"x = 1\n", "__MACOSX/._mod.py": b""})
    target = tmp_path / "out"
    assert extract_zip(archive, target, LIMITS) == 1
    assert (target / "pkg" / "mod.py").read_text() == "x = 1\n"


@pytest.mark.parametrize("name", ["../evil.py", "/etc/evil.py", "a/../../evil.py", "C:/evil.py"])
def test_zip_traversal_is_rejected(tmp_path: Path, name: str) -> None:
    archive = make_zip(tmp_path / "a.zip", {"ok.py": b"1", name: b"evil"})
    target = tmp_path / "deep" / "out"
    with pytest.raises(UploadRejectedError, match="안전하지 않은"):
        extract_zip(archive, target, LIMITS)
    assert not target.exists()
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "deep" / "evil.py").exists()


def test_zip_symlink_is_rejected(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"ok.py": b"1"}, symlink="link.py")
    with pytest.raises(UploadRejectedError, match="심볼릭"):
        extract_zip(archive, tmp_path / "out", LIMITS)


def test_zip_bomb_by_size_is_rejected(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "bomb.zip", {"zeros.py": b"0" * 1_000_000})
    assert archive.stat().st_size < 10_000  # compresses ~1000:1
    with pytest.raises(UploadRejectedError, match="너무 큽니다"):
        extract_zip(archive, tmp_path / "out", LIMITS)
    assert not (tmp_path / "out").exists()


def test_zip_with_lying_header_is_stopped_while_extracting(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "liar.zip", {"zeros.py": b"0" * 50_000})
    data = bytearray(archive.read_bytes())
    # Patch the declared uncompressed size (central directory) down to 10 bytes.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(UploadRejectedError):
        extract_zip(archive, tmp_path / "out", LIMITS)
    assert not (tmp_path / "out").exists()


def test_zip_with_too_many_files_is_rejected(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "many.zip", {f"f{i}.py": b"1" for i in range(11)})
    with pytest.raises(UploadRejectedError, match="너무 많습니다"):
        extract_zip(archive, tmp_path / "out", LIMITS)


def test_not_a_zip_is_rejected(tmp_path: Path) -> None:
    archive = tmp_path / "fake.zip"
    archive.write_bytes(b"not a zip at all")
    with pytest.raises(UploadRejectedError, match="읽을 수 없습니다"):
        extract_zip(archive, tmp_path / "out", LIMITS)
