"""Reproduce the README's retrieval figures on the Korean toolz evaluation set.

Steps: fetch the pinned toolz source; index it twice (without summaries, and with the
Korean summaries written by the embedded LLM); run the hybrid search and the lexical-only
and vector-only baselines on both. Summaries come from ``toolz_summaries.jsonl`` (a cache
keyed by code hash, as ragcode itself keeps one) when present, so the figures reproduce
in seconds; ``--regenerate`` writes them again with the local model (~15-30 min on 2 cores).

Usage: python eval/run_eval.py [--data-dir DIR] [--regenerate] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from ragcode.app import App, build_app
from ragcode.config import load_settings
from ragcode.evaluation.dataset import load_dataset
from ragcode.evaluation.metrics import METRICS_HEADER, format_metrics
from ragcode.evaluation.runner import CONFIGURATIONS, evaluate

HERE = Path(__file__).resolve().parent
DATASET = HERE / "toolz_ko.jsonl"
SUMMARIES = HERE / "toolz_summaries.jsonl"


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


def measure(app: App) -> dict[str, dict[str, float | int]]:
    cases = load_dataset(DATASET)
    return {
        name: evaluate(app.searcher, cases, choice)[0].as_dict()
        for name, choice in CONFIGURATIONS.items()
    }


def run(data_dir: Path, regenerate: bool, cache_only: bool) -> dict[str, object]:
    source = fetch_source()
    results: dict[str, object] = {}
    plain = build_app(load_settings(data_dir=data_dir / "without-summaries"))
    try:
        plain.indexer.index(source)
        results["without_summaries"] = measure(plain)
    finally:
        plain.close()
    full = build_app(load_settings(data_dir=data_dir / "with-summaries"))
    try:
        if not regenerate:
            load_cache(full)
        full.indexer.index(source)
        report = full.summaries.run(limit=0 if cache_only else 1_000_000)
        if regenerate or report.written:
            save_cache(full)
        status = full.store.status()
        results["summaries"] = {
            "done": status.summaries_done,
            "trivial": status.summaries_trivial,
            "failed": status.summaries_failed,
            "written_now": report.written,
        }
        results["with_summaries"] = measure(full)
    finally:
        full.close()
    return results


def print_table(results: dict[str, object]) -> None:
    print(f"{'index':<20} {'retriever':<8} {METRICS_HEADER}")
    for index in ("without_summaries", "with_summaries"):
        table = results[index]
        assert isinstance(table, dict)
        for name, metrics in table.items():
            # Only the hybrid search applies the relevance cut-off; baselines always answer.
            row = format_metrics(metrics, show_no_answer=name == "hybrid")
            print(f"{index:<20} {name:<8} {row}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cache-only", action="store_true", help="never call the LLM")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ragcode-eval-") as scratch:
        results = run(args.data_dir or Path(scratch), args.regenerate, args.cache_only)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        print_table(results)
        print(f"summaries: {results['summaries']}")


if __name__ == "__main__":
    main()
