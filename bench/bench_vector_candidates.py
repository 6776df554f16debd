"""The embedded store's vector scan, exact against projected candidates, on real code.

Run: ``python bench/bench_vector_candidates.py [--units 100000] [--data-dir DIR]``.
The corpus is real: files of the running Python's library directory (the standard library,
then its site-packages: numpy, pandas, pip, ...; the stdlib's own `test/` left out), copied in
path order into a project until their `def`/`class` lines reach ``--units``, indexed
by ``ragcode``'s own indexer with the real encoder and no summaries (the data dir can be kept
with ``--data-dir`` and is then reused). Then one field's matrix (``code``) is read twice, as
the store reads it: exact (``store.projected_vectors_from = 0``) and projected (from 1
row). Each of the Korean and English questions below (written for this bench, none from an
eval set) asks with 1, 2 and 3 query vectors (its own, then the next questions': a search
asks with the question's, the glossary words' and the expansion's), 50 results per list as
the searcher asks. Reported: milliseconds per pass (median of the questions), and how much of
the exact top 10 and top 50 the projected lists hold; ``--dims 64,128 --candidates 512,1024``
sweeps the projection's sizes (the defaults: the store's).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sqlite3
import statistics
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from console import load_note, out
from ragcode.app import INDEX_FILE, build_app, build_embedder
from ragcode.config import load_settings
from ragcode.domain import TEAM_SCOPE
from ragcode.store import vector_projection
from ragcode.store.vectors import VectorMatrix

QUESTIONS = [
    "문자열에서 정규식에 맞는 부분을 모두 찾는 함수",
    "디렉터리를 재귀적으로 지우는 코드",
    "HTTP 요청 헤더를 파싱하기",
    "압축 파일을 푸는 방법",
    "날짜 문자열을 datetime 으로 바꾸기",
    "임시 파일을 안전하게 만드는 함수",
    "소켓 연결에 타임아웃을 거는 코드",
    "CSV 파일을 한 줄씩 읽어서 딕셔너리로 만들기",
    "스레드 여러 개에 작업을 나눠 주는 풀",
    "이메일 메시지를 만들어서 보내기",
    "XML 문서에서 특정 태그를 찾기",
    "파일 경로에서 확장자만 떼어 내기",
    "로그를 파일로 남기도록 설정하기",
    "명령행 인자를 파싱하는 코드",
    "JSON 으로 직렬화할 수 없는 객체 처리",
    "두 텍스트의 차이를 줄 단위로 보여 주기",
    "해시값을 계산해서 파일 무결성 확인",
    "URL 에서 쿼리 문자열을 딕셔너리로",
    "하위 프로세스를 실행하고 출력을 받기",
    "비동기 작업 여러 개를 동시에 기다리기",
    "decompress a gzip stream",
    "parse command line options",
    "format a number with thousands separators",
    "walk a directory tree",
    "read a configuration file with sections",
    "encode bytes as base64",
    "compare two floating point numbers approximately",
    "pretty print a nested data structure",
    "escape HTML special characters",
    "schedule a function call after a delay",
]
LIST_DEPTH = 50  # search.candidates_per_list
DEF_LINE = re.compile(rb"^\s*(?:async\s+)?(?:def|class)\s", re.MULTILINE)


def copy_corpus(project: Path, units: int) -> int:
    """Library files in path order until their def/class lines reach `units`."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    count = 0
    for source in sorted(stdlib.rglob("*.py")):
        relative = source.relative_to(stdlib)
        if relative.parts[0] == "test":
            continue
        data = source.read_bytes()
        # The indexer skips `site-packages` directories (installed code, not a team's).
        target = project.joinpath(
            *("third_party" if p == "site-packages" else p for p in relative.parts)
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        count += len(DEF_LINE.findall(data))
        if count >= units:
            break
    return count


def ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


@contextmanager
def data_dir_for(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="ragcode-bench-vectors-") as folder:
        yield Path(folder)


def timed_ms(matrix: VectorMatrix, queries: list[np.ndarray]) -> tuple[float, list[list[str]]]:
    started = time.perf_counter()
    found = matrix.search_many(queries, LIST_DEPTH, [TEAM_SCOPE])
    return (time.perf_counter() - started) * 1000, [[s.uid for s in hits] for hits in found]


def read_matrix(index: Path, projection_from: int | None) -> VectorMatrix:
    conn = sqlite3.connect(index)
    try:
        return VectorMatrix.load(conn, "code", "code", projection_from=projection_from)
    finally:
        conn.close()


def compare(
    exact: VectorMatrix, projected: VectorMatrix, vectors: list[np.ndarray], width: int, row: str
) -> None:
    """Each question with `width` query vectors (its own and the next ones'), both ways."""
    exact_ms: list[float] = []
    projected_ms: list[float] = []
    kept10: list[float] = []
    kept50: list[float] = []
    for number in range(len(vectors)):
        queries = [vectors[(number + i) % len(vectors)] for i in range(width)]
        ms, truth = timed_ms(exact, queries)
        exact_ms.append(ms)
        ms, found = timed_ms(projected, queries)
        projected_ms.append(ms)
        for true_list, found_list in zip(truth, found, strict=True):
            kept10.append(len(set(true_list[:10]) & set(found_list[:10])) / 10)
            kept50.append(len(set(true_list) & set(found_list)) / len(true_list))
    e, p = statistics.median(exact_ms), statistics.median(projected_ms)
    out(f"{row}| {width} | {e:.1f} | {p:.1f} | {e / p:.2f}x | {np.mean(kept10):.3f} "
        f"| {np.mean(kept50):.3f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--data-dir", type=Path, help="kept and reused (default: temp)")
    parser.add_argument(
        "--dims", type=ints, default=[vector_projection.PROJECTED_DIMS], help="e.g. 64,128"
    )
    parser.add_argument(
        "--candidates", type=ints, default=[vector_projection.MIN_CANDIDATES],
        help="floors of the candidates per list, e.g. 1024,2048 (at least 20 x 50 = 1,000)",
    )  # fmt: skip
    args = parser.parse_args()
    out(f"start: {load_note()}")
    settings_base = load_settings()
    embedder = build_embedder(settings_base)
    with data_dir_for(args.data_dir) as data_dir:
        index = data_dir / INDEX_FILE
        if not index.exists():
            project = data_dir.parent / f"{data_dir.name}-stdlib"  # outside the data dir
            shutil.rmtree(project, ignore_errors=True)
            lines = copy_corpus(project, args.units)
            settings = load_settings(data_dir=data_dir, index={"summaries": False})
            app = build_app(settings, embedder=embedder)
            started = time.perf_counter()
            try:
                report = app.indexer.index(project)
            finally:
                app.close()
            seconds = time.perf_counter() - started
            if lines < args.units:
                out(f"only {lines:,} def/class lines found of {args.units:,} asked for")
            out(f"indexed {report.units_written:,} units of {report.files_seen:,} files "
                f"({lines:,} def/class lines) in {seconds:.0f} s")  # fmt: skip
        vectors = [np.asarray(v, dtype=np.float32) for v in embedder.embed(QUESTIONS)]
        exact = read_matrix(index, None)
        out(f"code vectors: {exact.rows:,} x {exact.matrix.shape[1]} ({load_note()})")
        timed_ms(exact, vectors[:3])  # warm-up: pages the matrix in
        out("| dims | candidates | fit ms | query vectors | exact ms | projected ms | ratio "
            "| top 10 kept | top 50 kept |")  # fmt: skip
        out("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for dims in args.dims:
            for floor in args.candidates:
                # The module's sizes, as the store reads them at each fit and search.
                vector_projection.PROJECTED_DIMS = dims
                vector_projection.MIN_CANDIDATES = floor
                projected = read_matrix(index, 1)
                started = time.perf_counter()
                projected.search(vectors[0], LIST_DEPTH, [TEAM_SCOPE])  # fits the projection
                fit_ms = (time.perf_counter() - started) * 1000
                timed_ms(projected, vectors[:3])
                count = vector_projection.candidate_count(LIST_DEPTH)
                for width in (1, 2, 3):
                    row = f"| {dims} | {count:,} | {fit_ms:.0f} "
                    compare(exact, projected, vectors, width, row)
    out(f"end:   {load_note()}")


if __name__ == "__main__":
    main()
