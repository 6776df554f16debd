"""Korean code-generation questions over toolz, answered by the code assistant and scored.

Indexes the pinned toolz source in a throwaway data dir with the cached summaries of
``toolz_summaries.jsonl`` (no LLM call while indexing), then sends every question of
``toolz_ask_ko.jsonl`` through ``CodeAssistant.ask`` with the embedded model, once per
configuration:

- ``before``: ``generation.check_symbols`` off (the syntax repair round only);
- ``after``: ``generation.check_symbols`` on (one repair round when the code calls a name
  that exists nowhere, offering the closest real symbols of the index);
- ``no-han-guard`` (only when asked for): as ``before`` with ``llm.suppress_han`` off.

Per configuration: answers with Python code, answers that use the symbols the question
needs (``must_use``), answers with at least one invented symbol (``chat/grounding.py`` on
the final code against the index, the standard library and the imports), answers with Han
characters, answers whose code parses, and mean seconds per answer. Query expansion is off
(it would add an LLM call per question); answers are cut at ``--max-tokens``.

This set is held out: never used to choose prompts, weights or cut-offs.

Usage: flock /tmp/ragcode-cpu.lock python eval/run_ask_eval.py [--model NAME] [--limit N]
       [--configs before,after] [--max-tokens N] [--save FILE] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from run_eval import SETS, NoLLM, cached_model, check_missing, fetch_source, load_cache

from ragcode.app import App, build_app, build_llm
from ragcode.chat.code_answer import CodeAnswer, CodeAssistant
from ragcode.chat.code_blocks import extract_code_blocks
from ragcode.chat.grounding import check_blocks
from ragcode.config import Settings, load_settings
from ragcode.evaluation.ask import (
    AskCase,
    AskOutcome,
    load_ask_set,
    outcome_from_dict,
    score_answer,
    summarize,
)

HERE = Path(__file__).resolve().parent
DATASET = HERE / "toolz_ask_ko.jsonl"
TOOLZ = SETS["toolz"]


@dataclass(frozen=True, slots=True)
class Config:
    name: str
    check_symbols: bool
    suppress_han: bool


CONFIGS = {
    c.name: c
    for c in (
        Config("before", check_symbols=False, suppress_han=True),
        Config("after", check_symbols=True, suppress_han=True),
        Config("no-han-guard", check_symbols=False, suppress_han=False),
    )
}


def settings_for(
    data_dir: Path, model: str, config: Config, max_tokens: int, context_tokens: int | None
) -> Settings:
    generation: dict[str, object] = {
        "max_answer_tokens": max_tokens,
        "check_symbols": config.check_symbols,
    }
    if context_tokens is not None:
        generation["context_tokens"] = context_tokens
    return load_settings(
        data_dir=data_dir,
        llm={"model": model, "n_threads": 2, "suppress_han": config.suppress_han},
        search={"expand_query": False},
        generation=generation,
    )


def build_index(settings: Settings, source: Path) -> None:
    """The toolz index with the cached summaries only: the stand-in LLM goes by the name of
    the model that wrote them (so they are the ones looked up) and fails if called."""
    app = build_app(settings, llm=NoLLM(cached_model(TOOLZ)))
    try:
        load_cache(TOOLZ, app)
        app.indexer.index(source)
        check_missing(TOOLZ, app.store.queue_status().ready, True, settings)
        app.summaries.run(limit=0)
    finally:
        app.close()


def invented_names(app: App, final: CodeAnswer) -> list[str]:
    """The final code's names that exist nowhere, by the product's own check against this
    index (whether or not the configuration ran it while answering)."""
    report = check_blocks(
        final.code_blocks, final.code_language, app.store.defined_names,
        app.store.indexed_modules,
    )  # fmt: skip
    return report.unknown


def ask_one(app: App, assistant: CodeAssistant, case: AskCase) -> AskOutcome:
    began = time.perf_counter()
    final = [e for e in assistant.ask(case.question) if isinstance(e, CodeAnswer)][-1]
    seconds = time.perf_counter() - began
    invented = invented_names(app, final)
    return score_answer(case, final.answer, final.code_blocks, invented, seconds, final.repaired)


def run_group(
    settings: dict[str, Settings], cases: list[AskCase], record: Callable[[str, AskOutcome], None]
) -> None:
    """Configurations that share the LLM's settings (one model load), question by question:
    a run cut short still compares them on the same questions."""
    first = next(iter(settings.values()))
    llm = build_llm(first)
    app = build_app(first, llm=llm)
    try:
        # As the server builds it (with the index's symbols); `check_symbols` decides whether
        # `ask` uses them.
        assistants = {name: app.code_assistant(s.generation) for name, s in settings.items()}
        for number, case in enumerate(cases, 1):
            for name, assistant in assistants.items():
                print(f"\r{name} {number}/{len(cases)}", end="", file=sys.stderr, flush=True)
                record(name, ask_one(app, assistant, case))
        print(file=sys.stderr)
    finally:
        app.close()  # an LLM given to build_app is not closed by it
        llm.close()  # type: ignore[attr-defined]


def print_table(results: dict[str, list[AskOutcome]]) -> None:
    print(f"{'config':<13} {'n':>3} {'code':>4} {'right':>5} {'invented':>8} {'han':>3} "
          f"{'parses':>6} {'repaired':>8} {'s/answer':>8}")  # fmt: skip
    for name, outcomes in results.items():
        s = summarize(outcomes)
        print(f"{name:<13} {s.questions:>3} {s.with_code:>4} {s.right_symbols:>5} "
              f"{s.invented:>8} {s.han:>3} {s.parses:>6} {s.repaired:>8} "
              f"{s.mean_seconds:>8.1f}")  # fmt: skip


def read_saved(path: Path, dataset: Path) -> dict[str, list[AskOutcome]]:
    """A saved run, scored again from its answers by the current measures (the invented
    names and seconds are the run's: they need the index and the clock)."""
    cases = {case.question: case for case in load_ask_set(dataset)}
    results: dict[str, list[AskOutcome]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        saved = outcome_from_dict(row)
        blocks = extract_code_blocks(saved.answer)
        outcome = score_answer(
            cases[saved.question], saved.answer, blocks, saved.invented, saved.seconds,
            saved.repaired,
        )  # fmt: skip
        results.setdefault(row["config"], []).append(outcome)
    return results


def positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value}")
    return value


def report(
    results: dict[str, list[AskOutcome]],
    model: str,
    as_json: bool,
    context_tokens: int | None = None,
) -> None:
    """`context_tokens`: a budget other than the product's, named in the report."""
    if as_json:
        summary = {name: summarize(o).as_dict() for name, o in results.items()}
        head: dict[str, object] = {"model": model}
        if context_tokens is not None:
            head["context_tokens"] = context_tokens
        print(json.dumps({**head, "configs": summary}, ensure_ascii=False, indent=2))
    else:
        print_table(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions")
    parser.add_argument("--configs", default="before,after", help=f"of {', '.join(CONFIGS)}")
    parser.add_argument("--max-tokens", type=int, default=400, help="answer token limit")
    parser.add_argument(
        "--context-tokens", type=positive, help="retrieved code budget (default: the product's)"
    )
    parser.add_argument("--save", type=Path, help="per-question results, written as they come")
    parser.add_argument("--summarize", type=Path, help="only print the figures of a --save file")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.summarize:
        report(read_saved(args.summarize, args.dataset), args.model, args.json)
        return 0
    configs = [CONFIGS[name] for name in args.configs.split(",")]
    cases = load_ask_set(args.dataset)[: args.limit or None]
    source = fetch_source(TOOLZ)
    results: dict[str, list[AskOutcome]] = {c.name: [] for c in configs}
    with contextlib.ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ragcode-ask-")))
        saved = stack.enter_context(args.save.open("w", encoding="utf-8")) if args.save else None

        def record(name: str, outcome: AskOutcome) -> None:
            results[name].append(outcome)
            if saved is not None:
                row = {"config": name, "model": args.model, **outcome.as_dict()}
                if args.context_tokens is not None:
                    row["context_tokens"] = args.context_tokens
                saved.write(json.dumps(row, ensure_ascii=False) + "\n")
                saved.flush()

        def settings(config: Config) -> Settings:
            return settings_for(data_dir, args.model, config, args.max_tokens, args.context_tokens)

        build_index(settings(configs[0]), source)
        for han_guard in dict.fromkeys(c.suppress_han for c in configs):
            group = {c.name: settings(c) for c in configs if c.suppress_han == han_guard}
            run_group(group, cases, record)
    report(results, args.model, args.json, args.context_tokens)
    return 0


if __name__ == "__main__":
    sys.exit(main())
