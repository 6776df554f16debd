"""Hybrid search latency (p50/p95) on synthetic stores of 10k and 100k units.

Run: ``python bench/bench_search.py`` (``--sizes 10000,100000`` by default). ``--engines
fts5,tantivy`` (the default) measures the embedded store's two lexical engines on the same
store in one run, side by side with ratios (``store.lexical_engine``); ``--engines tantivy``
measures one. An engine may name a variant: ``tantivy:scan-per-query`` reads a field's
vectors once per query vector (question, glossary words, expansion), as the search did before
one pass served all of them, so ``--engines tantivy:scan-per-query,tantivy`` compares the two
in one run; ``tantivy:exact-vectors`` scans every vector exactly, as before the projected
candidates of large matrices (``store.projected_vectors_from``).

The tantivy engine starts each size from a fresh index directory: its first search is
answered by FTS5 while the store's thread builds the index, and the run reports how long
until tantivy serves, and (again on a fresh directory) what that first search cost when it
built the index itself, as before issue 13's background build.

The store is filled directly with synthetic ``IndexEntry`` rows (Zipf-distributed
Korean/English tokens, ~200 units per file record); the store grows from one size to the next.
A unit's vectors are the sum of the real encoder's vectors of the words it holds (its summary
words; its code and name words), plus some noise, so that a question lands near the units
that share its words, as with real summaries. (Random vectors, as before 2026-12-02, scored
every unit under ``search.min_relevance`` and every final list was empty.) Then ~50
Korean/English queries run through ``app.searcher.search`` after 3 warm-up queries, with the
product's settings; the stages are timed by wrapping the store, embedder and analyzer
methods, and the hits per query are printed (a 0 there means the timings are for empty lists).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from console import load_note, out
from ragcode.app import INDEX_FILE, App, build_app, build_embedder
from ragcode.config import load_settings
from ragcode.domain import CodeUnit, SummaryState, UnitKind, content_hash
from ragcode.embeddings.protocol import Embedder
from ragcode.store.protocol import LEXICAL_FIELDS, FileRecord, IndexEntry, LexicalField
from ragcode.store.sqlite_store import SqliteStore, lexicon_dir
from ragcode.text.analyzer import TextAnalyzer, identifier_tokens


def words(text: str) -> list[str]:
    return text.split()


DIM = 512
ROOT = "/bench/synthetic"
KO_WORDS = words(
    "사용자 인증 토큰 파일 읽기 저장 검증 변환 목록 정렬 설정 요청 응답 캐시 세션 비밀번호 "
    "데이터베이스 연결 로그 오류 예외 경로 디렉터리 삭제 생성 갱신 조회 검색 함수 클래스 모듈 "
    "반환 입력 출력 문자열 숫자 날짜 시간 만료 권한 계정 메시지 전송 수신 주문 결제 이미지 "
    "압축 해시 서명 암호화 기본값 스키마 필터 재시도 작업 큐 이름 결과 형식"
)
EN_PARTS = words(
    "get set load save read write parse validate convert sort filter user token auth file path "
    "config session cache request response list item key value hash encode decode json http "
    "client server error handler manager service store db query index search date time expire "
    "refresh login password verify sign order payment image resize compress stream buffer queue "
    "task worker retry timeout log message send receive format name id count total size max min "
    "default init build create delete update remove add find match split join merge copy check "
    "is has to from by all new raw data result text line row column table schema field model "
    "view route url header body status code type node tree permission account base64 normalize"
)
QUERIES = [
    "사용자 인증 토큰 검증", "파일 읽기", "설정 파일을 읽어서 저장하는 함수", "토큰 만료 시간 확인",
    "목록 정렬", "사용자 목록을 이름순으로 정렬", "비밀번호 해시 검증", "JSON 변환 함수",
    "파일 저장 경로", "세션 캐시 갱신", "validate_token", "get_user_by_id", "parse config file",
    "how to refresh auth token", "sort items by date", "read file lines", "save json to disk",
    "http request retry timeout", "load_config 어디서 호출하나요", "UserService 인증 처리",
    "토큰을 검증하는 validate 함수", "데이터베이스 연결 생성", "로그 메시지 전송", "주문 결제 처리",
    "이미지 크기 변환 resize", "캐시 키 생성", "오류 예외 처리 handler", "요청 헤더 파싱",
    "응답 상태 코드 확인", "문자열을 날짜로 변환", "파일 목록 조회",
    "사용자 권한 검증 check_permission", "계정 삭제", "검색 결과 정렬 sort_results",
    "큐 작업 재시도", "encode decode base64", "암호화 키 저장", "세션 만료", "인증 실패 시 예외",
    "token store cache", "delete expired sessions", "사용자 이름 변경 update_user_name",
    "메시지 수신 큐", "파일 압축 compress", "설정 기본값 default config",
    "서명 검증 verify signature", "데이터 스키마 검증 schema validate", "목록 필터링 filter_items",
    "경로 정규화 normalize path", "토큰 읽기 저장 변환",
]  # fmt: skip
WARMUP = ["워밍업 사용자 목록", "warm up token cache", "파일 저장"]
# (min, max) number of vocabulary terms drawn per unit and field.
TERMS_PER_FIELD: dict[LexicalField, tuple[int, int]] = {
    "summary": (6, 14),
    "doc": (3, 10),
    "code": (20, 60),
    "identifiers": (1, 3),
}


# Share of a unit vector that is noise, not its words: units with the same common words
# still differ, and cosines to a question stay in the range real summaries give (0.2-0.6).
NOISE = 0.35


@dataclass(slots=True)
class Vocabulary:
    """Terms ranked by frequency; each term is already analysed into index tokens."""

    terms: list[tuple[str, ...]]
    vectors: npt.NDArray[np.float32]  # per term: the encoder's vector of its words (summed)
    korean: npt.NDArray[np.float64]  # Zipf weights favouring Korean terms (summaries)
    code: npt.NDArray[np.float64]  # identifiers with a few Korean comment words
    names: npt.NDArray[np.float64]  # identifiers only
    mixed: npt.NDArray[np.float64]  # docstrings


def zipf(count: int, exponent: float = 1.05, offset: float = 2.7) -> npt.NDArray[np.float64]:
    weights = 1.0 / (np.arange(count) + offset) ** exponent
    result: npt.NDArray[np.float64] = weights / weights.sum()
    return result


def build_vocabulary(
    analyzer: TextAnalyzer, embedder: Embedder, rng: np.random.Generator
) -> Vocabulary:
    """Korean words, then English words, then compound identifiers (the long tail). Word
    vectors come from the real encoder; a compound's is the sum of its two parts'."""
    korean = [tuple(analyzer.analyze_text(word)) for word in KO_WORDS]
    parts = [(part,) for part in EN_PARTS]
    pairs = sorted({(a, b) for a, b in rng.choice(EN_PARTS, size=(4000, 2)).tolist() if a != b})
    compounds = [f"{a}_{b}" for a, b in pairs]
    terms = [*korean, *parts, *(tuple(identifier_tokens(name)) for name in compounds)]
    n_ko, n_parts = len(korean), len(parts)
    words = np.asarray(embedder.embed([*KO_WORDS, *EN_PARTS]), dtype=np.float32)
    part_row = {part: n_ko + i for i, part in enumerate(EN_PARTS)}
    pair_rows = np.array([[part_row[a], part_row[b]] for a, b in pairs], dtype=np.int64)
    vectors = np.concatenate([words, words[pair_rows].sum(axis=1)])

    def weights(korean_share: float) -> npt.NDArray[np.float64]:
        # A fresh frequency order per field: the commonest word differs between fields.
        ko_rank = rng.permutation(n_ko)
        latin_rank = np.concatenate(
            [n_ko + rng.permutation(n_parts), n_ko + n_parts + rng.permutation(len(compounds))]
        )
        w = np.zeros(len(terms))
        w[ko_rank] = zipf(n_ko) * korean_share
        w[latin_rank] = zipf(len(latin_rank)) * (1 - korean_share)
        return w

    return Vocabulary(
        terms=terms,
        vectors=vectors,
        korean=weights(0.8),
        code=weights(0.05),
        names=weights(0.0),
        mixed=weights(0.5),
    )


class EntryFactory:
    """Deterministic synthetic index entries, generated one file record at a time."""

    def __init__(self, vocab: Vocabulary, seed: int) -> None:
        self._vocab = vocab
        self._rng = np.random.default_rng(seed)
        self._weights: dict[LexicalField, npt.NDArray[np.float64]] = {
            "summary": vocab.korean, "doc": vocab.mixed, "code": vocab.code,
            "identifiers": vocab.names,
        }  # fmt: skip

    def _token_lists(
        self, fld: LexicalField, count: int
    ) -> tuple[list[list[str]], npt.NDArray[np.float32]]:
        """Per unit: its tokens in `fld`, and the sum of its terms' vectors."""
        low, high = TERMS_PER_FIELD[fld]
        sizes = self._rng.integers(low, high + 1, size=count)
        drawn = self._rng.choice(
            len(self._vocab.terms), size=int(sizes.sum()), p=self._weights[fld]
        )
        ends = np.cumsum(sizes)
        terms = self._vocab.terms
        lists = [
            list(chain.from_iterable(terms[i] for i in drawn[end - size : end]))
            for size, end in zip(sizes.tolist(), ends.tolist(), strict=True)
        ]
        sums = np.add.reduceat(self._vocab.vectors[drawn], ends - sizes, axis=0)
        return lists, sums.astype(np.float32)

    def _unit_vectors(self, sums: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """The words' direction with NOISE of a random one, unit length."""
        noise = self._rng.standard_normal(sums.shape).astype(np.float32)
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        words = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-9)
        vectors = (1 - NOISE) * words + NOISE * noise
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        unit_vectors: npt.NDArray[np.float32] = vectors.astype(np.float32)
        return unit_vectors

    def file(
        self, file_index: int, first_uid: int, count: int
    ) -> tuple[FileRecord, list[IndexEntry]]:
        path = f"src/pkg{file_index // 50:03d}/module_{file_index:05d}.py"
        drawn = {fld: self._token_lists(fld, count) for fld in LEXICAL_FIELDS}
        tokens = {fld: lists for fld, (lists, _sums) in drawn.items()}
        code_vectors = self._unit_vectors(drawn["code"][1] + drawn["identifiers"][1])
        summary_vectors = self._unit_vectors(drawn["summary"][1])
        summarized = self._rng.random(count) < 0.8
        documented = self._rng.random(count) < 0.5
        entries = []
        for i in range(count):
            number = first_uid + i
            name_tokens = tokens["identifiers"][i]
            name = "_".join(t for t in name_tokens if "_" not in t)[:60] or f"unit{number}"
            comment = " ".join(tokens["code"][i])
            code = f"def {name}_{number}(value):\n    # {comment}\n    return value\n"
            summary = " ".join(tokens["summary"][i]) if summarized[i] else None
            unit = CodeUnit(
                path=path, name=f"{name}_{number}", kind=UnitKind.FUNCTION, language="python",
                start_line=1 + 5 * i, end_line=4 + 5 * i, code=code,
                docstring=" ".join(tokens["doc"][i]) if documented[i] else None,
            )  # fmt: skip
            entry = IndexEntry(
                uid=content_hash(f"bench-{number}")[:32],
                record=unit.to_record(),
                summary=summary,
                summary_state=SummaryState.DONE if summary else SummaryState.PENDING,
                tokens={
                    "summary": tokens["summary"][i] if summary else [],
                    "doc": tokens["doc"][i] if documented[i] else [],
                    "code": tokens["code"][i],
                    "identifiers": name_tokens,
                },
                vectors={"code": code_vectors[i]},
            )
            if summary:
                entry.vectors["summary"] = summary_vectors[i]
            entries.append(entry)
        record = FileRecord(root=ROOT, path=path, file_hash=content_hash(path), language="python")
        return record, entries


class Stopwatch:
    """Accumulated wall time per label of wrapped instance methods (timing proxies)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, obj: object, name: str, label: Callable[[Sequence[Any]], str]) -> None:
        func = getattr(obj, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[label(args)] += time.perf_counter() - start
                self.calls[label(args)] += 1

        setattr(obj, name, timed)

    def reset(self) -> dict[str, float]:
        taken = dict(self.seconds)
        self.seconds.clear()
        self.calls.clear()
        return taken


def instrument(app: App) -> Stopwatch:
    watch = Stopwatch()
    watch.wrap(app.embedder, "embed", lambda _: "embed query")
    watch.wrap(app.analyzer, "analyze_query", lambda _: "analyze query")
    # Per field, every list of it: the question's and the expansions' (the glossary's).
    watch.wrap(app.store, "lexical_search", lambda args: f"lexical {args[0]}")
    watch.wrap(app.store, "vector_search", lambda _: "vector scans")
    watch.wrap(app.store, "vector_search_many", lambda _: "vector scans")
    if hasattr(app.store, "code_hashes"):  # since 2026-12-03: records for the top_k only
        watch.wrap(app.store, "code_hashes", lambda _: "code_hashes")
    watch.wrap(app.store, "get_units", lambda _: "get_units")
    watch.wrap(app.store, "stored_vectors", lambda _: "stored_vectors")
    return watch


@dataclass(slots=True)
class SizeResult:
    units: int
    generate_s: float
    write_s: float
    first_query_ms: float
    first_lexical_ms: float  # of it, the 4 lexical lists (FTS5's while tantivy builds)
    # tantivy: seconds from the first search until the index, built in the background, serves
    serving_s: float | None
    # tantivy: the first search on a fresh directory with the build inside it (before)
    build_in_request_ms: float | None
    after_file_write_ms: float  # median first search after one 200-unit file is written
    # the first of those: the first write since the app opened (and read its matrices whole)
    after_first_file_write_ms: float
    after_summary_write_ms: float  # median first search after one summary is written
    # ...after a 200-unit file written inside bulk_writes(), as `ragcode index` and uploads
    # write (the tantivy engine catches up at the end of the block, in the writer)
    after_bulk_write_ms: float
    latencies_ms: list[float]
    stages_ms: dict[str, float]  # mean per query
    slowest: tuple[str, float]
    hits_per_query: float
    lists_per_query: str  # lexical lists + vector scans the searcher asked the store for
    empty_lists: int  # queries whose final list was empty (every hit under min_relevance)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q))


def grow(
    app: App, factory: EntryFactory, have: int, target: int, batch: int
) -> tuple[float, float]:
    generate = write = 0.0
    while have < target:
        count = min(batch, target - have)
        start = time.perf_counter()
        record, entries = factory.file(have // batch, have, count)
        middle = time.perf_counter()
        app.store.replace_file(record, entries)
        generate += middle - start
        write += time.perf_counter() - middle
        have += count
    return generate, write


def search_ms(app: App, query: str) -> float:
    start = time.perf_counter()
    app.searcher.search(query, top_k=10)
    return (time.perf_counter() - start) * 1000


def after_writes(
    app: App, factory: EntryFactory, rounds: int = 5
) -> tuple[float, float, float, float]:
    """Median time of the first search after a file write, after a summary write, and after
    a file write inside bulk_writes(): what a user searching while an upload is indexed or
    summaries are written waits for; and the first round's file write alone (the first write
    since the app opened). Each round removes its files again (inside bulk_writes()), so the
    store keeps its size and every round starts caught up."""
    file_ms, summary_ms, bulk_ms = [], [], []
    rng = np.random.default_rng(7)
    for i in range(rounds):
        record, entries = factory.file(90_000 + i, 90_000_000 + 1_000 * i, 200)
        app.store.replace_file(record, entries)
        file_ms.append(search_ms(app, QUERIES[i]))
        vector = rng.standard_normal(DIM).astype(np.float32)
        app.store.set_summary(
            entries[0].uid, summary="요약 갱신", state=SummaryState.DONE, tokens=["요약", "갱신"],
            vector=vector / np.linalg.norm(vector), model="bench",
        )  # fmt: skip
        summary_ms.append(search_ms(app, QUERIES[-1 - i]))
        bulk_record, bulk_entries = factory.file(95_000 + i, 95_000_000 + 1_000 * i, 200)
        with app.store.bulk_writes():
            app.store.replace_file(bulk_record, bulk_entries)
        bulk_ms.append(search_ms(app, QUERIES[10 + i]))
        with app.store.bulk_writes():
            app.store.remove_files(ROOT, [record.path, bulk_record.path])
        app.searcher.search(WARMUP[0], top_k=10)  # the removal applied before the next round
    median = [float(np.median(times)) for times in (file_ms, summary_ms, bulk_ms)]
    return median[0], median[1], median[2], file_ms[0]


def wait_serving(app: App, since: float, timeout_s: float = 3600.0) -> float | None:
    """Seconds from `since` until tantivy answers (None: the fts5 engine)."""
    store = app.store
    if not isinstance(store, SqliteStore) or app.settings.store.lexical_engine != "tantivy":
        return None
    while store.lexical_engine_serving() != "tantivy":
        if time.perf_counter() - since > timeout_s:
            raise RuntimeError("the tantivy index was not built")
        time.sleep(0.01)
    return time.perf_counter() - since


def build_in_request(data_dir: Path, embedder: Embedder) -> float:
    """The first search on a fresh index directory as it was before the build moved to the
    store's thread: the whole build (here waited for, as `ragcode index` ends), then the
    search, in one request."""
    shutil.rmtree(lexicon_dir(data_dir / INDEX_FILE), ignore_errors=True)
    app = open_app(data_dir, "tantivy", embedder)
    try:
        start = time.perf_counter()
        with app.store.bulk_writes(wait_for_lexicon=True):
            pass
        app.searcher.search(WARMUP[0], top_k=10)
        return (time.perf_counter() - start) * 1000
    finally:
        app.close()


def measure(
    app: App, factory: EntryFactory, watch: Stopwatch, units: int, gen_s: float, write_s: float
) -> SizeResult:
    watch.reset()
    start = time.perf_counter()
    app.searcher.search(WARMUP[0], top_k=10)  # reloads the vector matrices after the writes
    first_ms = (time.perf_counter() - start) * 1000
    first_stages = watch.reset()
    first_lexical_ms = 1000 * sum(v for k, v in first_stages.items() if k.startswith("lexical"))
    serving_s = wait_serving(app, start)  # the queries below are tantivy's, not FTS5's
    for query in WARMUP[1:]:
        app.searcher.search(query, top_k=10)
    watch.reset()
    latencies: list[float] = []
    per_query: list[int] = []
    for query in QUERIES:
        start = time.perf_counter()
        per_query.append(len(app.searcher.search(query, top_k=10)))
        latencies.append((time.perf_counter() - start) * 1000)
    lexical_calls = sum(n for label, n in watch.calls.items() if label.startswith("lexical"))
    lists = f"{lexical_calls / len(QUERIES):.1f} + {watch.calls['vector scans'] / len(QUERIES):.1f}"
    stages = {label: secs * 1000 / len(QUERIES) for label, secs in watch.reset().items()}
    stages["fusion+rerank+rest"] = float(np.mean(latencies)) - sum(stages.values())
    worst = int(np.argmax(latencies))
    file_ms, summary_ms, bulk_ms, first_file_ms = after_writes(app, factory)
    return SizeResult(
        units, gen_s, write_s, first_ms, first_lexical_ms, serving_s, None, file_ms,
        first_file_ms, summary_ms,
        bulk_ms, latencies, stages, (QUERIES[worst], latencies[worst]), float(np.mean(per_query)),
        lists,
        sum(1 for n in per_query if n == 0),
    )  # fmt: skip


def stage_ms(label: str) -> Callable[[SizeResult], float]:
    """A result's mean time in one stage (0.0 when the stage did not run)."""
    return lambda result: result.stages_ms.get(label, 0.0)


def compare(results: dict[str, list[SizeResult]]) -> None:
    """The first engine against the last, size by size: absolute times and their ratio."""
    names = list(results)
    base, new = names[0], names[-1]
    metrics: list[tuple[str, Callable[[SizeResult], float]]] = [
        ("first query after the bulk writes ms", lambda r: r.first_query_ms),
        ("  of which lexical ms", lambda r: r.first_lexical_ms),
        ("first query after a file write ms", lambda r: r.after_file_write_ms),
        ("  the first write since opening ms", lambda r: r.after_first_file_write_ms),
        ("first query after a summary write ms", lambda r: r.after_summary_write_ms),
        ("first query after a bulk_writes file ms", lambda r: r.after_bulk_write_ms),
        ("p50 ms", lambda r: r.percentile(50)),
        ("p95 ms", lambda r: r.percentile(95)),
        ("mean ms", lambda r: float(np.mean(r.latencies_ms))),
    ]
    for label in [f"lexical {field}" for field in LEXICAL_FIELDS] + ["vector scans"]:
        metrics.append((f"{label} ms", stage_ms(label)))
    header = []
    for r in results[base]:
        header += [f"{r.units:,} {base}", f"{r.units:,} {new}", f"{base}/{new}"]
    width = max(len(label) for label, _ in metrics)
    out(f"  {'':<{width}}" + "".join(f"  {h:>16}" for h in header))
    for label, get in metrics:
        cells = []
        for old_r, new_r in zip(results[base], results[new], strict=True):
            a, b = get(old_r), get(new_r)
            cells += [f"{a:.1f}", f"{b:.1f}", f"{a / b:.1f}x" if b > 0 else "-"]
        out(f"  {label:<{width}}" + "".join(f"  {c:>16}" for c in cells))


def optional(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def report(results: list[SizeResult]) -> None:
    header = [f"{r.units:,} units" for r in results]
    rows: list[tuple[str, list[str]]] = [
        ("generate entries s", [f"{r.generate_s:.1f}" for r in results]),
        ("store writes s", [f"{r.write_s:.1f}" for r in results]),
        ("first query after writes ms", [f"{r.first_query_ms:.0f}" for r in results]),
        ("  of which lexical ms", [f"{r.first_lexical_ms:.0f}" for r in results]),
        ("  tantivy serving after s", [optional(r.serving_s, 1) for r in results]),
        (
            "  before: build in the request ms",
            [optional(r.build_in_request_ms, 0) for r in results],
        ),
        ("first query after a file write", [f"{r.after_file_write_ms:.1f}" for r in results]),
        (
            "  the first write since opening",
            [f"{r.after_first_file_write_ms:.1f}" for r in results],
        ),
        ("first query after a summary", [f"{r.after_summary_write_ms:.1f}" for r in results]),
        ("first query after bulk_writes", [f"{r.after_bulk_write_ms:.1f}" for r in results]),
        ("p50 ms", [f"{r.percentile(50):.1f}" for r in results]),
        ("p95 ms", [f"{r.percentile(95):.1f}" for r in results]),
        ("mean ms", [f"{np.mean(r.latencies_ms):.1f}" for r in results]),
        ("min ms", [f"{min(r.latencies_ms):.1f}" for r in results]),
        ("hits per query", [f"{r.hits_per_query:.1f}" for r in results]),
        ("queries with no hit", [f"{r.empty_lists}" for r in results]),
        ("lexical lists + vector scans", [r.lists_per_query for r in results]),
    ]
    labels = list(dict.fromkeys(label for r in results for label in r.stages_ms))
    rows += [
        (f"  {label}", [f"{r.stages_ms.get(label, 0.0):.1f}" for r in results]) for label in labels
    ]
    width = max(len(label) for label, _ in rows)
    out(f"  {'':<{width}}" + "".join(f"  {h:>14}" for h in header))
    for label, values in rows:
        out(f"  {label:<{width}}" + "".join(f"  {v:>14}" for v in values))
    out("  (store writes are incremental: each column adds units to the previous store;")
    out("   tantivy: a fresh index directory per size, built in the store's thread while")
    out("   FTS5 answers the first query; 'before': the build inside that first query;")
    out("   'after a file write/summary': median of 5 first searches after such a write)")
    for r in results:
        out(f"  slowest at {r.units:,}: {r.slowest[1]:.1f} ms for {r.slowest[0]!r}")
    if len(results) > 1:
        first, last = results[0], results[-1]
        ratio = last.percentile(50) / first.percentile(50)
        out(f"  p50 ratio {last.units:,}/{first.units:,}: {ratio:.2f}")


@contextmanager
def data_dir_for(given: Path | None) -> Iterator[Path]:
    if given is not None:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="ragcode-bench-search-") as tmp:
        yield Path(tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated unit counts")
    parser.add_argument("--batch", type=int, default=200, help="units per file record")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--data-dir", type=Path, help="empty dir for the store (default: temp)")
    parser.add_argument(
        "--engines", default="fts5,tantivy", help="lexical engines (store.lexical_engine)"
    )
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    engines = [engine.strip() for engine in args.engines.split(",") if engine.strip()]
    for engine in engines:
        lexical_engine, _, variant = engine.partition(":")
        if lexical_engine not in ("fts5", "tantivy") or variant not in ("", *VARIANTS):
            known = ", ".join(f"tantivy:{name}" for name in VARIANTS)
            parser.error(f"unknown engine {engine!r} (fts5, tantivy, {known})")
    out(f"start: {load_note()}")
    embedder = build_embedder(load_settings())  # one encoder for the vocabulary and every app
    vocab = build_vocabulary(TextAnalyzer(), embedder, np.random.default_rng(args.seed))
    factory = EntryFactory(vocab, args.seed)
    results: dict[str, list[SizeResult]] = {engine: [] for engine in engines}
    with data_dir_for(args.data_dir) as data_dir:
        have = 0
        for size in sizes:
            # A new app per engine and size: its first query reads the vector matrices and
            # (tantivy) catches its index up with every write since the last size.
            for n, engine in enumerate(engines):
                lexical_engine, _, variant = engine.partition(":")
                if lexical_engine == "tantivy":  # a first index: no tantivy directory yet
                    shutil.rmtree(lexicon_dir(data_dir / INDEX_FILE), ignore_errors=True)
                app = open_app(data_dir, lexical_engine, embedder, exact=variant == EXACT_VECTORS)
                if variant == SCAN_PER_QUERY:
                    scan_per_query(app)
                try:
                    gen_s = write_s = 0.0
                    if n == 0:  # the first engine's app writes; the others find the units
                        have = max(have, app.store.status().units)
                        gen_s, write_s = grow(app, factory, have, size, args.batch)
                        have = max(have, size)
                    watch = instrument(app)
                    results[engine].append(measure(app, factory, watch, have, gen_s, write_s))
                finally:
                    app.close()
                if lexical_engine == "tantivy":
                    results[engine][-1].build_in_request_ms = build_in_request(data_dir, embedder)
                out(f"  measured {have:,} units, {engine} ({load_note()})")
    out(f"{len(QUERIES)} queries, top_k=10, after {len(WARMUP)} warm-up queries")
    for engine, measured in results.items():
        out(f"lexical engine {engine}:")
        report(measured)
    if len(engines) > 1:
        out(f"side by side ({engines[0]}/{engines[-1]}: how many times faster {engines[-1]} is):")
        compare(results)
    out(f"end:   {load_note()}")


SCAN_PER_QUERY = "scan-per-query"
# Every vector list from the exact scan, as before the projected candidates (2026-12-02).
EXACT_VECTORS = "exact-vectors"
VARIANTS = (SCAN_PER_QUERY, EXACT_VECTORS)


def scan_per_query(app: App) -> None:
    """The search as before the vector lists of one field shared a pass over its vectors
    (2026-12-02): one `vector_search` per query vector (question, glossary words, expansion)."""
    store = app.store
    scan = store.vector_search  # the unwrapped method: `instrument` times this one pass each

    def one_pass_each(fld: Any, queries: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        return [scan(fld, query, *args, **kwargs) for query in queries]

    store.vector_search_many = one_pass_each  # type: ignore[method-assign]


def open_app(data_dir: Path, engine: str, embedder: Embedder, exact: bool = False) -> App:
    # The store's and the search pipeline's latency: query expansion (an LLM call) is
    # measured by bench_expand.py. Every other search setting is the product's.
    store: dict[str, object] = {"lexical_engine": engine}
    if exact:
        store["projected_vectors_from"] = 0
    settings = load_settings(data_dir=data_dir, search={"expand_query": False}, store=store)
    app = build_app(settings, embedder=embedder)
    app.embedder.embed(["load the model"])
    return app


if __name__ == "__main__":
    main()
