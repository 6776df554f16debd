"""Fault tests' shared parts: a corpus whose every file version is known, a check that an
index left by a killed or failed run is whole, and a CLI run killed with SIGKILL."""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

FIELDS = ("summary", "doc", "code", "identifiers")
FUNCTIONS_PER_FILE = 8
# Documents: CSV FAQs of 4 records, Markdown guides of 3 sections; one record or section is
# one chunk.
FAQ_RECORDS = 4
GUIDE_SECTIONS = 3


def code_text(file_index: int, version: int) -> str:
    functions = []
    for function_index in range(FUNCTIONS_PER_FILE):
        functions.append(
            f"def compute_metric_{file_index}_{function_index}(values):\n"
            f'    """Compute metric {function_index} of module {file_index}."""\n'
            f"    offset = {version}\n"
            f"    total = sum(values) * {function_index + 1} + offset\n"
            f"    return total / max(len(values), 1)\n"
        )
    return "\n\n".join(functions)


def faq_text(file_index: int, version: int) -> str:
    rows = ["질문,답변"]
    for record in range(FAQ_RECORDS):
        rows.append(
            f"{file_index}번 지점 {record}번 계좌의 비밀번호는 어떻게 바꾸나요?,"
            f"앱의 설정 {record}번 메뉴에서 바꿀 수 있습니다 (안내 버전 {version})."
        )
    return "\n".join(rows) + "\n"


def guide_text(file_index: int, version: int) -> str:
    parts = [f"# 카드 안내서 {file_index}\n"]
    for section in range(GUIDE_SECTIONS):
        parts.append(
            f"## 절 {section}\n\n{file_index}번 안내서의 {section}번째 절은 카드 발급과 "
            f"해지 절차를 설명합니다 (안내 버전 {version}).\n"
        )
    return "\n".join(parts)


@dataclass
class Corpus:
    """Files on disk with every version ever written, so a `files` row names its version."""

    root: Path
    writers: dict[str, Callable[[int], str]]
    units_per_file: dict[str, int]
    version_marker: Callable[[int], str]
    versions: dict[str, int] = field(default_factory=dict)  # on disk now; absent: removed
    by_hash: dict[tuple[str, str], int] = field(default_factory=dict)

    def write(self, name: str, version: int) -> None:
        data = self.writers[name](version).encode("utf-8")
        (self.root / name).write_bytes(data)
        self.versions[name] = version
        self.by_hash[(name, hashlib.sha256(data).hexdigest())] = version

    def remove(self, name: str) -> None:
        (self.root / name).unlink()
        del self.versions[name]


def code_corpus(root: Path, files: int) -> Corpus:
    writers: dict[str, Callable[[int], str]] = {
        f"module_{i:03d}.py": partial(code_text, i) for i in range(files)
    }
    return Corpus(
        root, writers, dict.fromkeys(writers, FUNCTIONS_PER_FILE), lambda v: f"offset = {v}\n"
    )


def docs_corpus(root: Path, faqs: int, guides: int) -> Corpus:
    writers: dict[str, Callable[[int], str]] = {}
    units: dict[str, int] = {}
    for i in range(faqs):
        writers[f"faq_{i:02d}.csv"] = partial(faq_text, i)
        units[f"faq_{i:02d}.csv"] = FAQ_RECORDS
    for i in range(guides):
        writers[f"guide_{i:02d}.md"] = partial(guide_text, i)
        units[f"guide_{i:02d}.md"] = GUIDE_SECTIONS
    return Corpus(root, writers, units, lambda v: f"(안내 버전 {v})")


def ragcode(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ragcode.cli", *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@contextmanager
def open_db(db: Path) -> Iterator[sqlite3.Connection]:
    """A connection closed on exit (`with sqlite3.connect()` only commits): SQLite keeps the
    files of closed connections open while another one of the process holds a lock, which
    keeps a file system from being remounted read-only."""
    with closing(sqlite3.connect(db, timeout=5)) as conn:
        yield conn


def stored_hashes(db: Path, collection: str) -> dict[str, str]:
    with open_db(db) as conn:
        rows = conn.execute(
            "SELECT path, file_hash FROM files WHERE collection = ?", (collection,)
        ).fetchall()
    return {str(path): str(file_hash) for path, file_hash in rows}


def commits_since(db: Path, collection: str, started: float) -> int:
    """Files this run has committed so far (0 while the schema does not exist yet)."""
    if not db.exists():
        return 0
    try:
        with open_db(db) as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM files WHERE collection = ? AND indexed_at > ?",
                (collection, started),
            ).fetchone()
            return int(row[0])
    except sqlite3.OperationalError:
        return 0


def check_consistent(db: Path, collection: str, corpus: Corpus) -> int:
    """Assert the index is whole after a kill; returns the number of indexed files."""
    with open_db(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        for fld in FIELDS:  # FTS5's own check of its index against its content
            conn.execute(f"INSERT INTO fts_{fld} (fts_{fld}) VALUES ('integrity-check')")
            orphans = conn.execute(
                f"SELECT COUNT(*) FROM fts_{fld} WHERE rowid NOT IN (SELECT id FROM units)"
            ).fetchone()[0]
            assert orphans == 0, f"{orphans} postings in fts_{fld} without their unit"
        for fld in ("code", "identifiers"):  # every unit has code and identifier postings
            missing = conn.execute(
                f"SELECT COUNT(*) FROM units WHERE collection = ?"
                f" AND id NOT IN (SELECT rowid FROM fts_{fld})",
                (collection,),
            ).fetchone()[0]
            assert missing == 0, f"{missing} units without fts_{fld} postings"
        no_vector = conn.execute(
            "SELECT COUNT(*) FROM units WHERE collection = ? AND vec_code IS NULL", (collection,)
        ).fetchone()[0]
        assert no_vector == 0
        files = dict(
            conn.execute(
                "SELECT path, file_hash FROM files WHERE collection = ?", (collection,)
            ).fetchall()
        )
        units: dict[str, list[str]] = {}
        for path, code in conn.execute(
            "SELECT path, code FROM units WHERE collection = ?", (collection,)
        ):
            units.setdefault(path, []).append(code)
    assert set(units) <= set(files), f"units of unrecorded files: {set(units) - set(files)}"
    for path, file_hash in files.items():
        version = corpus.by_hash.get((path, file_hash))
        assert version is not None, f"{path}: recorded hash of no version ever written"
        codes = units.get(path, [])
        assert len(codes) == corpus.units_per_file[path], f"{path}: half indexed"
        marker = corpus.version_marker(version)
        assert all(marker in code for code in codes), f"{path}: units of another version"
    return len(files)


@dataclass
class KillRun:
    args: tuple[str, ...]
    db: Path
    collection: str
    env: dict[str, str]

    def kill_after(self, delay: float) -> tuple[int, bool]:
        """Start, wait for the first commit, kill -9 `delay` seconds later.
        Returns (files committed by this run, whether it was still running when killed)."""
        started = time.time()
        process = subprocess.Popen(
            [sys.executable, "-m", "ragcode.cli", *self.args],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while process.poll() is None and time.monotonic() < deadline:
                if commits_since(self.db, self.collection, started) > 0:
                    break
                time.sleep(0.02)
            time.sleep(delay)
            running = process.poll() is None
            process.send_signal(signal.SIGKILL)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
        return commits_since(self.db, self.collection, started), running


def pending_writes(db: Path, collection: str, corpus: Corpus) -> int:
    """Files on disk whose version the index does not hold yet (earlier kills included)."""
    stored = stored_hashes(db, collection)
    return sum(
        corpus.by_hash.get((name, stored.get(name, ""))) != version
        for name, version in corpus.versions.items()
    )
