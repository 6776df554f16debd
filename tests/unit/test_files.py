"""File discovery: what is read, what is skipped (and why), in a deterministic order."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from ragcode.domain import SkippedFile
from ragcode.ingest import files
from ragcode.ingest.files import FileLimits, SourceFile, relative_path, walk_sources
from ragcode.ingest.languages import detect_language

pytestmark = pytest.mark.unit

LIMITS = FileLimits()


def _write(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _walk(root: Path, limits: FileLimits = LIMITS) -> list[SourceFile | SkippedFile]:
    return list(walk_sources(root, limits))


def _skips(root: Path, limits: FileLimits = LIMITS) -> dict[str, str]:
    return {e.path: e.reason for e in _walk(root, limits) if isinstance(e, SkippedFile)}


def _only(root: Path, limits: FileLimits = LIMITS) -> SourceFile | SkippedFile:
    (entry,) = _walk(root, limits)
    return entry


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("a.py", "python"),
        ("types.pyi", "python"),
        ("a.js", "javascript"),
        ("a.mjs", "javascript"),
        ("a.cjs", "javascript"),
        ("A.JSX", "javascript"),
        ("a.ts", "typescript"),
        ("a.mts", "typescript"),
        ("a.cts", "typescript"),
        ("a.tsx", "tsx"),
        ("src/A.java", "java"),
        ("main.go", "go"),
        ("README.md", None),
        ("Makefile", None),
        ("dir.py/file", None),
    ],
)
def test_detect_language_by_extension(path: str, language: str | None) -> None:
    assert detect_language(path) == language


def test_source_file_fields(tmp_path: Path) -> None:
    data = b"def f():\n    return 1\n"
    _write(tmp_path, "pkg/mod.py", data)
    entry = _only(tmp_path)
    assert entry == SourceFile(
        path="pkg/mod.py",
        abs_path=tmp_path / "pkg/mod.py",
        language="python",
        text="def f():\n    return 1\n",
        file_hash=hashlib.sha256(data).hexdigest(),
    )


def test_order_is_sorted_by_relative_path_and_deterministic(tmp_path: Path) -> None:
    for rel in ["z.py", "b/c.go", "a.ts", "b.py", "b/a/d.java", "README.md"]:
        _write(tmp_path, rel, "x = 1\n")
    paths = [e.path for e in _walk(tmp_path)]
    assert paths == ["README.md", "a.ts", "b.py", "b/a/d.java", "b/c.go", "z.py"]
    assert [e.path for e in _walk(tmp_path)] == paths


def test_ignored_and_hidden_directories_are_skipped_silently(tmp_path: Path) -> None:
    for directory in ["node_modules/lib", ".git", "build", "dist", "__pycache__", ".venv", ".x"]:
        _write(tmp_path, f"{directory}/a.py", "x = 1\n")
    _write(tmp_path, "src/build.py", "x = 1\n")  # only directories are ignored by name
    assert [e.path for e in _walk(tmp_path)] == ["src/build.py"]


def test_binary_file_with_nul_byte(tmp_path: Path) -> None:
    _write(tmp_path, "blob.py", b"x = 1\n\x00\x01\x02")
    _write(tmp_path, "late.py", b"x = 1\n" * 2000 + b"y = '\x00'\n")  # NUL after 8 KB
    skips = _skips(tmp_path)
    assert skips == {"blob.py": files.BINARY}


def test_cp949_korean_file_decodes(tmp_path: Path) -> None:
    text = "# 한글 주석입니다\ndef 인사():\n    return '안녕하세요'\n"
    data = text.encode("cp949")
    _write(tmp_path, "legacy.py", data)
    entry = _only(tmp_path)
    assert isinstance(entry, SourceFile)
    assert entry.text == text
    assert entry.file_hash == hashlib.sha256(data).hexdigest()


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    _write(tmp_path, "bom.py", "\ufeffx = '값'\n".encode())
    entry = _only(tmp_path)
    assert isinstance(entry, SourceFile)
    assert entry.text == "x = '값'\n"


def test_latin1_garbage_is_undecodable(tmp_path: Path) -> None:
    _write(tmp_path, "bad.py", "name = 'café'\n".encode("latin-1") + b"\x80\xff\n")
    assert _only(tmp_path) == SkippedFile("bad.py", files.UNDECODABLE)


def test_oversized_file_reason_and_no_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "big.py", b"#" * 3_200_000)
    _write(tmp_path, "mid.py", b"#" * 250)

    def no_read(self: Path) -> bytes:
        raise AssertionError(f"{self} should not be read")

    monkeypatch.setattr(Path, "read_bytes", no_read)
    assert _skips(tmp_path, FileLimits(max_bytes=100)) == {
        "big.py": "파일이 너무 큽니다 (3.2 MB > 100 B)",
        "mid.py": "파일이 너무 큽니다 (250 B > 100 B)",
    }
    monkeypatch.undo()
    assert _skips(tmp_path, FileLimits(max_bytes=1_000_000))["big.py"] == (
        "파일이 너무 큽니다 (3.2 MB > 1.0 MB)"
    )


def test_minified_javascript(tmp_path: Path) -> None:
    long_line = "var a=1;" * 200  # 1600 characters
    _write(tmp_path, "bundle.js", f"{long_line}\n")
    _write(tmp_path, "app.ts", "const a = 1;\n" * 10 + long_line[:900] + "\n")
    _write(tmp_path, "data.py", "x = 1\n" * 20 + f"TABLE = '{long_line}'\n")
    _write(tmp_path, "wide.py", ("y" * 400 + "\n") * 3)
    assert _skips(tmp_path) == {"bundle.js": files.MINIFIED, "wide.py": files.MINIFIED}
    assert _skips(tmp_path, FileLimits(max_line_length=500)) == {
        "app.ts": files.MINIFIED,
        "bundle.js": files.MINIFIED,
        "wide.py": files.MINIFIED,
    }


def test_generated_files_by_name_and_header(tmp_path: Path) -> None:
    _write(tmp_path, "api_pb2.py", "x = 1\n")
    _write(tmp_path, "api.pb.go", "package api\n")
    _write(tmp_path, "vendor.min.js", "var a = 1;\n")
    _write(tmp_path, "gen.go", "// Code generated by protoc-gen-go. DO NOT EDIT.\npackage a\n")
    _write(tmp_path, "schema.ts", "/**\n * This file is auto-generated.\n */\nexport {};\n")
    _write(tmp_path, "lock.py", "# comment\n# @generated by tool\nx = 1\n")
    _write(tmp_path, "late.py", "\n" * 5 + "# @generated\nx = 1\n")  # line 6: not a header
    skips = _skips(tmp_path)
    assert skips == {
        name: files.GENERATED
        for name in ["api_pb2.py", "api.pb.go", "vendor.min.js", "gen.go", "schema.ts", "lock.py"]
    }


def test_unknown_language_reports_the_extension(tmp_path: Path) -> None:
    _write(tmp_path, "README.md", "# hi\n")
    _write(tmp_path, "Makefile", "all:\n")
    _write(tmp_path, "logo.png", b"\x89PNG\x00\x00")
    assert _skips(tmp_path) == {
        "Makefile": "지원하지 않는 언어입니다 (Makefile)",
        "README.md": "지원하지 않는 언어입니다 (.md)",
        "logo.png": "지원하지 않는 언어입니다 (.png)",
    }


def test_unreadable_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "secret.py", "x = 1\n")

    def denied(self: Path) -> bytes:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    assert _only(tmp_path) == SkippedFile(
        "secret.py", f"파일을 읽을 수 없습니다: {os.strerror(errno.EACCES)}"
    )


def test_single_file_root(tmp_path: Path) -> None:
    path = _write(tmp_path, "deep/dir/tool.go", "package main\n")
    entry = _only(path)
    assert isinstance(entry, SourceFile)
    assert (entry.path, entry.abs_path, entry.language) == ("tool.go", path, "go")
    assert _only(_write(tmp_path, "notes.txt", "hi")) == SkippedFile(
        "notes.txt", "지원하지 않는 언어입니다 (.txt)"
    )


def test_symlinks_outside_root_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    outside = _write(tmp_path, "outside/secret.py", "TOKEN = 1\n")
    inside = _write(root, "real.py", "x = 1\n")
    (root / "escape.py").symlink_to(outside)
    (root / "alias.py").symlink_to(inside)
    (root / "linked_dir").symlink_to(outside.parent, target_is_directory=True)
    entries = _walk(root)
    assert [e.path for e in entries] == ["alias.py", "escape.py", "real.py"]
    assert entries[1] == SkippedFile("escape.py", files.OUTSIDE_ROOT)
    assert isinstance(entries[0], SourceFile)
    assert entries[0].text == "x = 1\n"


def test_missing_root_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _walk(tmp_path / "nope")


def test_relative_path(tmp_path: Path) -> None:
    assert relative_path(tmp_path, tmp_path / "a" / "b.py") == "a/b.py"
    assert relative_path(tmp_path / "x.py", tmp_path / "x.py") == "x.py"
