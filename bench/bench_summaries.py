"""Summaries per minute: today's runner against a one-call-per-function baseline, with the
prefill/decode split of every LLM call (the first measurement issue 13 asks for).

Run: ``python bench/bench_summaries.py [--model qwen2.5-coder-0.5b] [--units 12]``

Units: the toolz source of the evaluation set (``eval/fetch_source.py``) indexed by ragcode
itself, then the first ``--units`` units of its summary queue (trivial units never reach the
LLM, as in the product). Every unit is summarized twice on the same loaded model (llama.cpp,
the settings' threads), the two ways alternating unit by unit so that both see the same load:

- **today**: ``Summarizer.summarize``, as ``ragcode index`` and ``ragcode worker`` run it: the
  summary call (system prompt, one worked example, the code), then the short doc2query call
  (the code again after its own prompt);
- **baseline**: one call per function, as the original design did: a Korean system prompt
  asking what the function does, the code, the same ``max_tokens`` as today's summary call.

Each LLM call is timed by a proxy around ``llm.stream``: the wait for the first streamed piece
(the prompt's prefill plus one decoded token) and the rest (decode), with the number of pieces
(about one per token). Nothing here is used to choose a prompt or a setting; the output is the
baseline that later changes are compared with, in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from console import out
from ragcode.app import build_app
from ragcode.config import load_settings
from ragcode.domain import Record
from ragcode.ingest.summarize import Summarizer
from ragcode.llm.protocol import LLM, ChatMessage

ROOT = Path(__file__).resolve().parents[1]
BASELINE_SYSTEM = (
    "당신은 소스 코드를 설명하는 도우미입니다. 주어진 함수가 무엇을 하는지 한국어로 "
    "한두 문장으로 설명하세요."
)


@dataclass(frozen=True, slots=True)
class Call:
    first_s: float  # prefill + the first token
    total_s: float
    pieces: int

    @property
    def decode_s(self) -> float:
        return self.total_s - self.first_s


@dataclass(slots=True)
class TimedLLM:
    """The real LLM, every call timed; `calls` is emptied by whoever reads it."""

    llm: LLM
    calls: list[Call] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.llm.name

    def stream(self, messages: Sequence[ChatMessage], **options: object) -> Iterator[str]:
        start = time.perf_counter()
        first: float | None = None
        pieces = 0
        for piece in self.llm.stream(messages, **options):  # type: ignore[arg-type]
            if first is None:
                first = time.perf_counter() - start
            pieces += 1
            yield piece
        total = time.perf_counter() - start
        self.calls.append(Call(total if first is None else first, total, pieces))


@dataclass(slots=True)
class Mode:
    name: str
    seconds: float = 0.0
    units: int = 0
    calls: list[Call] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)


def baseline(llm: TimedLLM, record: Record, max_tokens: int, max_code_chars: int) -> str:
    code = record.body[:max_code_chars]
    messages = [
        ChatMessage("system", BASELINE_SYSTEM),
        ChatMessage("user", f"```{record.language}\n{code}\n```"),
    ]
    return "".join(llm.stream(messages, max_tokens=max_tokens, temperature=0.1))


def fetch_toolz() -> Path:
    done = subprocess.run(
        [sys.executable, str(ROOT / "eval" / "fetch_source.py")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return Path(done.stdout.strip().splitlines()[-1])


def report(modes: Sequence[Mode]) -> None:
    out(f"\n{'':<34}" + "".join(f"{mode.name:>14}" for mode in modes))
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, values: Sequence[float], fmt: str) -> None:
        rows.append((label, [format(value, fmt) for value in values]))

    row("units", [m.units for m in modes], "d")
    row("seconds", [m.seconds for m in modes], ".1f")
    row("units/min", [m.units / m.seconds * 60 for m in modes], ".2f")
    row("LLM calls per unit", [len(m.calls) / m.units for m in modes], ".2f")
    row(
        "prefill+1st token s per unit",
        [sum(c.first_s for c in m.calls) / m.units for m in modes],
        ".2f",
    )
    row("decode s per unit", [sum(c.decode_s for c in m.calls) / m.units for m in modes], ".2f")
    row(
        "pieces (~tokens) per unit",
        [sum(c.pieces for c in m.calls) / m.units for m in modes],
        ".1f",
    )
    row("decode pieces/s", [
        sum(c.pieces for c in m.calls) / max(1e-9, sum(c.decode_s for c in m.calls)) for m in modes
    ], ".1f")  # fmt: skip
    row("median call s", [statistics.median(c.total_s for c in m.calls) for m in modes], ".2f")
    for label, values in rows:
        out(f"{label:<34}" + "".join(f"{value:>14}" for value in values))
    today, base = modes
    ratio = (today.units / today.seconds) / (base.units / base.seconds)
    out(f"\nunits/min today / baseline: {ratio:.2f}")
    for mode in modes:
        for sample in mode.samples[:2]:
            out(f"  [{mode.name}] {' '.join(sample.split())[:160]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--units", type=int, default=12)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    os.environ["RAGCODE_LLM__MODEL"] = args.model
    source = fetch_toolz()
    with tempfile.TemporaryDirectory(prefix="ragcode-bench-") as scratch:
        settings = load_settings(data_dir=args.data_dir or Path(scratch))
        app = build_app(settings)
        try:
            app.indexer.index(source)
            queue = app.store.units_needing_summary(include_failed=False, limit=args.units)
            index = settings.index
            timed = TimedLLM(app.llm.get())
            summarizer = Summarizer(
                timed,
                max_tokens=index.summary_max_tokens,
                max_chars=index.summary_max_chars,
                max_code_chars=index.summary_code_chars,
                questions=index.summary_questions,
            )
            started = time.perf_counter()
            summarizer.summarize(queue[0].record)  # loads the model; not counted
            out(f"model {timed.name}: load + one summary {time.perf_counter() - started:.1f} s")
            timed.calls.clear()
            today, base = Mode("today"), Mode("baseline")
            for ref in queue:
                for mode in (today, base):
                    start = time.perf_counter()
                    if mode is today:
                        text = summarizer.summarize(ref.record)
                    else:
                        text = baseline(
                            timed, ref.record, index.summary_max_tokens, index.summary_code_chars
                        )
                    mode.seconds += time.perf_counter() - start
                    mode.units += 1
                    mode.calls.extend(timed.calls)
                    timed.calls.clear()
                    mode.samples.append(f"{ref.record.title}: {text}")
        finally:
            app.close()
    load = os.getloadavg()
    report([today, base])
    out(f"(load avg {load[0]:.2f} / {load[1]:.2f}, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
