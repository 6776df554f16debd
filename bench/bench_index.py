"""Indexing throughput on a generated Python project, and LLM summaries per minute.

Run: ``python bench/bench_index.py`` (add ``--no-llm`` to skip the summary part).

(a) Indexes ~2,000 units (100 files x 20 units, deterministic from ``--seed``) without
summaries and prints seconds per 1,000 units, where the time went (embedding, analysis, store
writes, the rest = walk + hash + parse), then re-indexes the unchanged tree (incremental).
With ``--baseline`` it first does the same with the encoder package's own forward pass and
tokenizer (the embedder before issue 13's speed-up) and prints before / now / ratio.
(b) Summarizes ``--summary-units`` pending units with the small local model after one warm-up
unit, so the model load is left out, and prints summaries per minute.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import random
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ragcode.app as app_module
from console import load_note, out
from ragcode.app import INDEX_FILE, App, build_app
from ragcode.config import load_settings
from ragcode.embeddings.local import LocalEmbedder
from ragcode.ingest.progress import SilentProgress, SummaryEvent
from ragcode.store.sqlite_store import SqliteStore, lexicon_dir

SMALL_MODEL = "qwen2.5-coder-0.5b"
PREBUILT_GGUF = Path("/tmp/rc-models/qwen2.5-coder-0.5b-instruct.gguf")

KO_NOUNS = {
    "user": "사용자", "token": "토큰", "file": "파일", "config": "설정", "session": "세션",
    "record": "레코드", "item": "항목", "path": "경로", "header": "헤더", "payload": "페이로드",
    "cache": "캐시", "order": "주문", "invoice": "청구서", "message": "메시지", "account": "계정",
    "report": "보고서", "schema": "스키마", "request": "요청", "response": "응답", "list": "목록",
}  # fmt: skip
KO_VERBS = {
    "load": "불러온다", "save": "저장한다", "parse": "파싱한다", "validate": "검증한다",
    "convert": "변환한다", "sort": "정렬한다", "filter": "걸러낸다", "read": "읽는다",
    "write": "기록한다", "fetch": "가져온다", "build": "만든다", "check": "확인한다",
    "normalize": "정규화한다", "merge": "병합한다", "split": "나눈다", "encode": "인코딩한다",
    "decode": "디코딩한다", "render": "렌더링한다", "resolve": "찾아낸다", "refresh": "갱신한다",
}  # fmt: skip
ROLES = ["Service", "Repository", "Manager", "Client", "Validator", "Store", "Loader", "Parser"]
FIELDS = ["id", "name", "created_at", "status", "priority", "email", "size", "score"]

HEADER = '''"""{doc}"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

logger = logging.getLogger(__name__)
'''

# Realistic bodies; {arg} is the main parameter, {noun}/{field}/{limit} vary per unit.
BODIES = [
    """path = Path({arg})
if not path.exists():
    raise FileNotFoundError(path)
with path.open(encoding="utf-8") as handle:
    lines = [line.rstrip() for line in handle if line.strip()]
logger.debug("read %d lines from %s", len(lines), path)
return lines""",
    """if not {arg}:
    raise ValueError("empty {noun}")
if len({arg}) > {limit}:
    raise ValueError(f"{noun} too long: {{len({arg})}}")
return {arg}.strip()""",
    """result = [row for row in {arg} if row.get("{field}") is not None]
result.sort(key=lambda row: row["{field}"], reverse={flag})
return result[:{limit}]""",
    """data = {{}}
for key, value in {arg}.items():
    if isinstance(value, str):
        value = value.strip().lower()
    data[key.replace("-", "_")] = value
return data""",
    """payload = json.dumps({arg}, ensure_ascii=False, indent={indent})
target = Path("{noun}s") / f"{{{arg}.get('{field}', 'unknown')}}.json"
target.parent.mkdir(parents=True, exist_ok=True)
target.write_text(payload, encoding="utf-8")
logger.info("saved {noun} to %s", target)
return len(payload)""",
    """digest = hashlib.sha256(str({arg}).encode("utf-8")).hexdigest()
if digest in self._seen:
    return None
self._seen.add(digest)
return digest[:{limit}]""",
    """attempts = 0
while attempts < {limit}:
    attempts += 1
    try:
        return self._client.get("/{noun}s", params={{"{field}": {arg}}})
    except TimeoutError:
        logger.warning("retry %d for {noun} %s", attempts, {arg})
raise RuntimeError("{noun} service unavailable")""",
    """merged = dict(self._defaults)
for chunk in {arg}:
    for key, value in chunk.items():
        if key in merged and isinstance(merged[key], list):
            merged[key] = [*merged[key], *value]
        else:
            merged[key] = value
return merged""",
]


# Which body fits which verb, so that names, docstrings and code agree like real code.
BODY_OF_VERB = {
    "read": 0, "load": 0, "parse": 0, "validate": 1, "check": 1, "sort": 2, "filter": 2,
    "convert": 3, "normalize": 3, "encode": 3, "decode": 3, "save": 4, "write": 4, "render": 4,
    "resolve": 5, "build": 5, "fetch": 6, "refresh": 6, "merge": 7, "split": 7,
}  # fmt: skip


def object_particle(word: str) -> str:
    code = ord(word[-1]) - 0xAC00
    return "을" if 0 <= code <= 11171 and code % 28 else "를"


def docstring(rng: random.Random, verb: str, noun: str) -> str | None:
    roll = rng.random()
    if roll < 0.45:
        ko = KO_NOUNS[noun]
        return f"{ko}{object_particle(ko)} {KO_VERBS[verb]}. 실패하면 예외를 던진다."
    if roll < 0.75:
        return f"{verb.capitalize()} the {noun} and return the result."
    return None


def function_source(rng: random.Random, name: str, verb: str, noun: str, method: bool) -> str:
    arg = f"{noun}_{rng.choice(['data', 'value', 'items', 'rows', 'id'])}"
    params = f"self, {arg}" if method else arg
    body = BODIES[BODY_OF_VERB[verb]].format(
        arg=arg, noun=noun, field=rng.choice(FIELDS), limit=rng.randint(3, 200),
        flag=rng.choice([True, False]), indent=rng.choice([2, 4]),
    )  # fmt: skip
    if not method:
        body = body.replace("self._", "_")
    doc = docstring(rng, verb, noun)
    lines = [f"def {name}({params}):"]
    if doc:
        lines.append(f'    """{doc}"""')
    lines.extend(f"    {line}" for line in body.splitlines())
    return "\n".join(lines)


def module_source(rng: random.Random, index: int) -> str:
    """20 units: two classes (header + __init__ + 5 methods each) and six functions."""
    verbs, nouns = list(KO_VERBS), list(KO_NOUNS)
    noun = rng.choice(nouns)
    parts = [HEADER.format(doc=f"{KO_NOUNS[noun]} 처리 모듈 {index}.")]
    used: set[str] = set()

    def fresh(prefix: str = "") -> tuple[str, str, str]:
        while True:
            verb, obj = rng.choice(verbs), rng.choice(nouns)
            name = f"{prefix}{verb}_{obj}"
            if name not in used:
                used.add(name)
                return name, verb, obj

    for _ in range(2):
        role = rng.choice(ROLES)
        cls = f"{rng.choice(nouns).capitalize()}{role}"
        while cls in used:
            cls += "V2"
        used.add(cls)
        methods = [
            f'class {cls}:\n    """{KO_NOUNS[noun]} {role.lower()} ({index})."""\n',
            "    def __init__(self, client, defaults=None):\n        self._client = client\n"
            "        self._defaults = defaults or {}\n        self._seen = set()\n",
        ]
        for _ in range(5):
            name, verb, obj = fresh()
            src = function_source(rng, name, verb, obj, method=True)
            methods.append("\n".join(f"    {line}" for line in src.splitlines()) + "\n")
        parts.append("\n".join(methods))
    for _ in range(6):
        name, verb, obj = fresh()
        parts.append(function_source(rng, name, verb, obj, method=False) + "\n")
    return "\n\n".join(parts)


def write_project(root: Path, files: int, seed: int) -> None:
    rng = random.Random(seed)
    for index in range(files):
        package = root / f"pkg{index // 10:02d}"
        package.mkdir(parents=True, exist_ok=True)
        noun = rng.choice(list(KO_NOUNS))
        module = package / f"{noun}_{rng.choice(ROLES).lower()}_{index:03d}.py"
        module.write_text(module_source(rng, index), encoding="utf-8")


class SampleProgress(SilentProgress):
    """Keeps the summary events so a couple of summaries can be shown."""

    def __init__(self) -> None:
        self.events: list[SummaryEvent] = []

    def summary_done(self, event: SummaryEvent) -> None:
        self.events.append(event)


class Stopwatch:
    """Accumulated wall time of wrapped instance methods (the bench's timing proxies)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, obj: object, names: list[str], label: str) -> None:
        for name in names:
            setattr(obj, name, self._timed(getattr(obj, name), label))

    def _timed(self, func: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start

        return timed


def table(rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        out(f"  {label:<{width}}  {value:>12}")


def indexing_app(data_dir: Path, *, fast: bool) -> App:
    """The product's app; `fast=False`: with the encoder package's own forward pass and
    tokenizer (the embedder before issue 13's speed-up), everything else the same."""
    settings = load_settings(data_dir=data_dir)
    if fast:
        return build_app(settings)
    # build_app makes the embedder from the name it imported: swapped for this one app.
    product = app_module.LocalEmbedder  # type: ignore[attr-defined]
    app_module.LocalEmbedder = functools.partial(LocalEmbedder, fast=False)  # type: ignore[attr-defined,assignment]
    try:
        return build_app(settings)
    finally:
        app_module.LocalEmbedder = product  # type: ignore[attr-defined]


def index_figures(data_dir: Path, project: Path, *, fast: bool) -> dict[str, float]:
    """Index `project` once from empty and once unchanged; seconds and counts by label."""
    app = indexing_app(data_dir, fast=fast)
    try:
        start = time.perf_counter()
        app.embedder.embed(["warm up"])
        app.analyzer.analyze_text("사용자 인증 토큰을 검증한다")
        warm = time.perf_counter() - start
        watch = Stopwatch()
        watch.wrap(app.embedder, ["embed"], "embedding")
        analysis = ["analyze_text", "analyze_code", "analyze_identifiers"]
        watch.wrap(app.analyzer, analysis, "analysis")
        watch.wrap(app.store, ["replace_file"], "store writes")
        app.indexer.wait_for_lexicon()  # as `ragcode index`: its tantivy build is timed too
        start = time.perf_counter()
        report = app.indexer.index(project)
        first = time.perf_counter() - start
        start = time.perf_counter()
        again = app.indexer.index(project)
        second = time.perf_counter() - start
        pending = app.store.status().summaries_pending
        build = tantivy_build_s(app.settings.data_dir / INDEX_FILE)
    finally:
        app.close()
    units = report.units_written
    figures = {
        "model warm-up (excluded) s": warm,
        "units": units,
        "pending summaries": pending,
        "index s": first,
        "units/s": units / first,
        "s per 1,000 units": first / units * 1000,
    }
    figures.update({f"  {label} s": secs for label, secs in watch.seconds.items()})
    figures["  walk+hash+parse+rest s"] = first - sum(watch.seconds.values())
    figures[f"re-index unchanged s ({again.files_unchanged} files)"] = second
    figures["re-index / first"] = second / first
    figures["tantivy build alone s (in 'index s')"] = math.nan if build is None else build
    return figures


def cell(value: float) -> str:
    if math.isnan(value):
        return "-"
    if value == int(value) and abs(value) >= 1:
        return f"{int(value)}"
    return f"{value:.4f}" if abs(value) < 0.1 else f"{value:.2f}"


def bench_indexing(data_dir: Path, work: Path, files: int, seed: int, baseline: bool) -> None:
    """`baseline`: the embedder before the speed-up first, then today's, in the same run."""
    project = work / "synthetic_project"
    write_project(project, files, seed)
    runs: dict[str, dict[str, float]] = {}
    if baseline:
        runs["before"] = index_figures(data_dir / "index-before", project, fast=False)
        out(f"  (before done: {load_note()})")
    runs["now"] = index_figures(data_dir / "index", project, fast=True)
    now = runs["now"]
    out(f"(a) index without summaries: {files} files, {int(now['units'])} units")
    if not baseline:
        table([(label, cell(value)) for label, value in now.items()])
        return
    before = runs["before"]
    out(f"  {'':<44}  {'before':>10}  {'now':>10}  {'now/before':>10}")
    for label, value in now.items():
        old = before.get(label, math.nan)
        ratio = value / old if old and not math.isnan(old) and not math.isnan(value) else math.nan
        out(f"  {label:<44}  {cell(old):>10}  {cell(value):>10}  {cell(ratio):>10}")


def tantivy_build_s(database: Path) -> float | None:
    """The first index ends with the tantivy build (`ragcode index` waits for it, so that the
    first search finds it ready): timed again alone, on a fresh directory."""
    directory = lexicon_dir(database)
    if not directory.is_dir():
        return None  # the fts5 engine
    shutil.rmtree(directory)
    store = SqliteStore(database, lexical_engine="tantivy")
    try:
        start = time.perf_counter()
        with store.bulk_writes(wait_for_lexicon=True):
            pass
        return time.perf_counter() - start
    finally:
        store.close()


def bench_summaries(data_dir: Path, work: Path, count: int, seed: int, model: str) -> None:
    os.environ["RAGCODE_LLM__MODEL"] = model
    settings = load_settings(data_dir=data_dir / "summaries")
    models = settings.data_dir / "models"
    if model == SMALL_MODEL and PREBUILT_GGUF.is_file():
        models.mkdir(parents=True, exist_ok=True)
        link = models / PREBUILT_GGUF.name
        if not link.exists():
            link.symlink_to(PREBUILT_GGUF)
    project = work / "summary_project"
    write_project(project, files=max(1, (count + 1) // 10 + 1), seed=seed + 1)
    app = build_app(settings)
    try:
        app.indexer.index(project)
        start = time.perf_counter()
        warm = app.summaries.run(limit=1)  # assembles/loads the model, then one summary
        warm_s = time.perf_counter() - start
        start = time.perf_counter()
        samples = SampleProgress()
        report = app.summaries.run(progress=samples, limit=count)
        elapsed = time.perf_counter() - start
    finally:
        app.close()
    done = report.written + report.from_cache
    out(f"(b) summaries with {model} ({settings.llm.n_threads} threads)")
    table(
        [
            ("load + first summary s", f"{warm_s:.1f} ({warm.written} ok)"),
            ("units summarized", f"{done} ok, {report.failed} failed"),
            ("elapsed s", f"{elapsed:.1f}"),
            ("s per summary", f"{elapsed / max(1, count):.2f}"),
            ("summaries/min", f"{done / elapsed * 60:.1f}"),
        ]
    )
    for event in samples.events[:2]:
        out(f"  sample {event.record.title}: {event.summary}")


@contextmanager
def work_dirs(data_dir: Path | None) -> Iterator[tuple[Path, Path]]:
    with tempfile.TemporaryDirectory(prefix="ragcode-bench-") as tmp:
        yield (data_dir or Path(tmp) / "data"), Path(tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="empty dir for the indexes (default: temp)")
    parser.add_argument("--files", type=int, default=100, help="generated files, 20 units each")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--summary-units", type=int, default=8)
    parser.add_argument("--model", default=SMALL_MODEL, help="RAGCODE_LLM__MODEL for (b)")
    parser.add_argument("--no-llm", action="store_true", help="skip (b), the summary benchmark")
    parser.add_argument(
        "--baseline", action="store_true",
        help="(a) also with the encoder package's own forward pass first (before/now/ratio)",
    )  # fmt: skip
    args = parser.parse_args()
    out(f"start: {load_note()}")
    with work_dirs(args.data_dir) as (data_dir, work):
        bench_indexing(data_dir, work, args.files, args.seed, args.baseline)
        if not args.no_llm:
            bench_summaries(data_dir, work, args.summary_units, args.seed, args.model)
    out(f"end:   {load_note()}")


if __name__ == "__main__":
    main()
