"""Time to first token and tokens/s of `ragcode ask` against the raw model on the same prompt.

The overhead of `ask` (embedding the question, hybrid search, packing the context) should be
small next to the model's own prompt processing: the printed ratios should be close to 1.

    python bench/bench_ask.py [--model qwen2.5-coder-0.5b] [--runs 3] [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.sample_project

QUESTION = "설정 파일을 읽어서 딕셔너리로 돌려주는 함수를 만들어줘"


@dataclass
class Timing:
    first_token_s: float
    tokens: int
    total_s: float

    @property
    def tokens_per_s(self) -> float:
        generating = self.total_s - self.first_token_s
        return (self.tokens - 1) / generating if generating > 0 and self.tokens > 1 else 0.0


def time_stream(deltas: Iterator[str]) -> Timing:
    started = time.perf_counter()
    first = 0.0
    count = 0
    for _ in deltas:
        count += 1
        if count == 1:
            first = time.perf_counter() - started
    return Timing(first, count, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    os.environ["RAGCODE_LLM__MODEL"] = args.model

    from tests.sample_project import write_sample_project

    from ragcode.app import build_app
    from ragcode.chat.code_answer import AnswerDelta, build_messages
    from ragcode.chat.language import question_language, requested_code_language
    from ragcode.config import load_settings
    from ragcode.llm.protocol import ChatMessage
    from ragcode.retrieve.context import pack_context

    with tempfile.TemporaryDirectory(prefix="ragcode-bench-ask-") as scratch:
        project = write_sample_project(Path(scratch) / "project")
        app = build_app(load_settings(data_dir=Path(scratch) / "data"))
        app.settings.generation.max_answer_tokens = args.max_tokens
        app.settings.generation.check_python = False  # a repair round would not be comparable
        app.indexer.index(project)
        assistant = app.code_assistant()
        llm = app.llm.get()

        def ask_deltas() -> Iterator[str]:
            for event in assistant.ask(QUESTION):
                if isinstance(event, AnswerDelta):
                    yield event.text

        def raw_deltas() -> Iterator[str]:
            # The exact prompt `ask` sends, built outside the timed region's retrieval.
            hits = app.searcher.search(QUESTION, top_k=8)
            context = pack_context(hits, max_tokens=app.settings.generation.context_tokens)
            language = requested_code_language(QUESTION, context.hits)
            messages = build_messages(
                QUESTION, QUESTION, context, question_language(QUESTION), language, []
            )
            return llm.stream(
                messages,
                max_tokens=args.max_tokens,
                temperature=app.settings.generation.temperature,
            )

        def flush() -> None:
            # llama.cpp reuses the KV cache of a shared prompt prefix; an unrelated prompt in
            # between makes both sides process their prompt in full.
            for _ in llm.stream([ChatMessage("user", "안녕")], max_tokens=1):
                pass

        time_stream(raw_deltas())  # load the model and warm the caches
        raw: list[Timing] = []
        ask: list[Timing] = []
        for _ in range(args.runs):  # alternate, so load changes hit both alike
            flush()
            raw.append(time_stream(raw_deltas()))
            flush()
            ask.append(time_stream(ask_deltas()))
        app.close()

    def med(values: list[float]) -> float:
        return statistics.median(values)

    raw_ttft, ask_ttft = med([t.first_token_s for t in raw]), med([t.first_token_s for t in ask])
    raw_tps, ask_tps = med([t.tokens_per_s for t in raw]), med([t.tokens_per_s for t in ask])
    print(
        f"model={args.model} runs={args.runs} max_tokens={args.max_tokens} load={os.getloadavg()}"
    )
    print(f"{'':<12} {'TTFT s':>8} {'tokens/s':>9} {'tokens':>7}")
    print(
        f"{'raw model':<12} {raw_ttft:>8.2f} {raw_tps:>9.1f} {med([t.tokens for t in raw]):>7.0f}"
    )
    print(
        f"{'ragcode ask':<12} {ask_ttft:>8.2f} {ask_tps:>9.1f} {med([t.tokens for t in ask]):>7.0f}"
    )
    print(f"ratio ask/raw: TTFT {ask_ttft / raw_ttft:.2f}, tokens/s {ask_tps / raw_tps:.2f}")


if __name__ == "__main__":
    main()
