"""Summaries per minute: the product's summarizer against the two-call runner it replaced and a
one-call-per-function baseline, with the prefill/decode split of every sequential LLM call.

Run: ``python bench/bench_summaries.py [--model qwen2.5-coder-0.5b] [--units 16]``

Units: the toolz source of the evaluation set (``eval/fetch_source.py``) indexed by ragcode
itself, then the first ``--units`` units of its summary queue (trivial units never reach the
LLM, as in the product). Every unit is summarized three ways on the same loaded model:

- **before**: the runner as it was until issue 13 (``summary_before.py`` keeps its prompts):
  a summary call (system prompt, one worked example, the code), then a short doc2query call
  (the code again after its own prompt), one unit after the other on the interactive path;
- **baseline**: one call per function, as the original design did: a Korean system prompt
  asking what the function does, the code, the same ``max_tokens`` as the summary call;
- **now**: ``Summarizer`` as ``ragcode index`` builds it (``app.background_llm``): one call
  writes description, detail, search terms and questions (an answer that ends before its
  questions line is continued once for it, from the finished sequence's kept KV cells); on
  the embedded model the calls of the runner's threads are decoded together in one batch
  (``llm/llamacpp_batch.py``) and the shared prompt prefix is computed once.

before and baseline alternate unit by unit so that both see the same load; now runs right
after them on the same units, as the runner runs it (``llm.batch_slots`` threads). Each call
is timed by a proxy around ``llm.stream``: the wait for the first streamed piece (prefill plus
one decoded token; for ``now`` also the wait for a batch slot) and the rest (decode). Nothing
here chooses a prompt or a setting.
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from console import out
from ragcode.app import background_llm, build_app
from ragcode.config import load_settings
from ragcode.domain import Record
from ragcode.ingest.summarize import Summarizer
from ragcode.llm.protocol import LLM, ChatMessage, continues_answers
from summary_before import summarize_before

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

    @property
    def max_concurrency(self) -> object:
        return getattr(self.llm, "max_concurrency", None)

    @property
    def continues_answers(self) -> bool:
        """As the LLM it times (a summary without its questions line is continued then)."""
        return continues_answers(self.llm)

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
    before, base, now = modes

    def rate(mode: Mode) -> float:
        return mode.units / mode.seconds

    out(f"\nunits/min now / before: {rate(now) / rate(before):.2f}")
    out(f"units/min now / baseline: {rate(now) / rate(base):.2f}")
    out(f"units/min before / baseline: {rate(before) / rate(base):.2f}")
    for mode in modes:
        for sample in mode.samples[:2]:
            out(f"  [{mode.name}] {' '.join(sample.split())[:160]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--units", type=int, default=16)
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
            records = [ref.record for ref in queue]
            started = time.perf_counter()
            summarize_before(timed, records[0], index)  # loads the model; not counted
            out(f"model {timed.name}: load + one summary {time.perf_counter() - started:.1f} s")
            timed.calls.clear()
            before, base, now = Mode("before"), Mode("baseline"), Mode("now")
            for record in records:
                for mode in (before, base):
                    start = time.perf_counter()
                    if mode is before:
                        text = summarize_before(timed, record, index)
                    else:
                        text = baseline(
                            timed, record, index.summary_max_tokens, index.summary_code_chars
                        )
                    mode.seconds += time.perf_counter() - start
                    mode.units += 1
                    mode.calls.extend(timed.calls)
                    timed.calls.clear()
                    mode.samples.append(f"{record.title}: {text}")
                out(f"  {before.units}/{len(records)} units (before, baseline)")
            batched = TimedLLM(background_llm(app.llm.get(), settings.llm))
            summarizer = Summarizer(
                batched,
                max_tokens=index.summary_max_tokens,
                max_chars=index.summary_max_chars,
                max_code_chars=index.summary_code_chars,
                questions=index.summary_questions,
            )
            threads = summarizer.max_concurrency or 1
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=threads) as pool:
                texts = list(pool.map(summarizer.summarize, records))
            now.seconds = time.perf_counter() - start
            now.units = len(records)
            now.calls = list(batched.calls)
            now.samples = [f"{r.title}: {t}" for r, t in zip(records, texts, strict=True)]
            out(f"now: {threads} threads (llm.batch_slots)")
        finally:
            app.close()
    load = os.getloadavg()
    report([before, base, now])
    out(f"(load avg {load[0]:.2f} / {load[1]:.2f}, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
