"""Cost of query expansion: search latency with and without it, and the expansion alone.

Expansion is one short generation per new question (cached afterwards); this prints its
latency on the embedded model next to the plain hybrid search over the toolz evaluation
index, and their ratio. The first call also loads the model; it is reported separately.

    python bench/bench_expand.py [--model qwen2.5-coder-0.5b] [--questions 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--questions", type=int, default=30)
    args = parser.parse_args()
    os.environ["RAGCODE_LLM__MODEL"] = args.model

    from ragcode.app import build_app
    from ragcode.config import load_settings
    from ragcode.retrieve.hybrid import RetrieverChoice

    fetched = subprocess.run(
        [sys.executable, str(ROOT / "eval" / "fetch_source.py")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    source = Path(fetched.stdout.strip().splitlines()[-1])
    lines = (ROOT / "eval" / "toolz_ko.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["q"] for line in lines][: args.questions]
    with tempfile.TemporaryDirectory(prefix="ragcode-bench-expand-") as scratch:
        app = build_app(load_settings(data_dir=Path(scratch)))
        try:
            app.indexer.index(source)
            expander = app.searcher.expander
            assert expander is not None
            started = time.perf_counter()
            expander.expand("모델을 불러오는 첫 호출")
            load_s = time.perf_counter() - started
            plain, expanded, expansion = [], [], []
            for question in questions:
                started = time.perf_counter()
                app.searcher.search(question, retrievers=RetrieverChoice(expand=False))
                plain.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                expander.expand(question)
                expansion.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                app.searcher.search(question)  # the expansion is cached now: fusion cost only
                expanded.append((time.perf_counter() - started) * 1000)
        finally:
            app.close()
    print(f"model {args.model}, {len(questions)} questions, toolz index (168 units)")
    print(f"first call (model load + expansion): {load_s:.1f} s")
    for name, values in (
        ("search without expansion", plain),
        ("expansion (LLM)", expansion),
        ("search with cached expansion", expanded),
    ):
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        print(f"{name:<30} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms")
    ratio = (statistics.median(expansion) + statistics.median(expanded)) / statistics.median(plain)
    print(f"ratio (expansion + search) / plain search, p50: {ratio:.1f}x")


if __name__ == "__main__":
    main()
