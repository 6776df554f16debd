"""Both stores give the same retrieval figures on the shipped evaluation sets: the toolz code
questions (`eval/run_eval.py`, summaries and query expansions from its caches, no LLM) and the
bank FAQ document questions (`ragcode eval --collection docs`), each once on the embedded
SQLite store and once on a real PostgreSQL + pgvector server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SAMPLE_FAQ = REPO / "samples" / "bank_faq_ko.csv"
FAQ_QUESTIONS = REPO / "eval" / "bank_faq_ko.jsonl"
# The stores rank ties and float sums in their own order: at most one question may land on
# the other side of a near tie (with the one-call summaries of issue 13, vector-only R@1 on
# toolz: 19 vs 20 of 85), never more.
ONE_QUESTION_SLACK = 1e-9

Metrics = dict[str, float]


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=900, check=False, cwd=REPO
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def figures(report: dict[str, dict[str, float]]) -> dict[str, Metrics]:
    """Per retriever configuration (`ragcode eval --json` also has `languages`: the same
    figures per language of the gold files, compared on their own below)."""
    return {name: dict(metrics) for name, metrics in report.items() if name != "languages"}


def assert_same(sqlite: dict[str, Metrics], postgres: dict[str, Metrics]) -> None:
    assert sqlite.keys() == postgres.keys()
    for name, metrics in sqlite.items():
        one_question = 1 / metrics["questions"]
        for key, value in metrics.items():
            other = postgres[name][key]
            if value is None or other is None:
                assert value == other, (name, key)
            else:  # recall, MRR and counts: no further apart than one question can move them
                assert abs(value - other) <= one_question + ONE_QUESTION_SLACK, (name, key)


def embedded(env: dict[str, str]) -> dict[str, str]:
    """The environment without a store URL (the suite may run with one set)."""
    return {key: value for key, value in env.items() if key != "RAGCODE_STORE__URL"}


def test_toolz_code_figures_are_the_same_on_postgres(cli_env: dict[str, str]) -> None:
    script = [sys.executable, str(REPO / "eval" / "run_eval.py"), "--cache-only", "--json"]
    on_sqlite = json.loads(run(script, embedded(cli_env)))
    on_postgres = json.loads(run([*script, "--postgres"], cli_env))
    assert on_postgres["store"] == "postgresql" and "store" not in on_sqlite
    assert on_sqlite["summaries"] == on_postgres["summaries"]
    assert on_postgres["summaries"]["done"] >= 140  # the shipped cache was used, not skipped
    for index in ("without_summaries", "with_summaries"):
        assert_same(figures(on_sqlite[index]), figures(on_postgres[index]))
    # The figures themselves, so that two equally broken stores cannot agree (README: 0.776
    # with the one-call summaries of issue 13 and their questions follow-up, the v3 expansion
    # examples of issue 14 and the glossary; no summaries at all give 0.659); one question
    # below that is still a working store.
    assert on_postgres["with_summaries"]["hybrid"]["recall_at_5"] >= 0.76


def test_bank_faq_document_figures_are_the_same_on_postgres(
    tmp_path: Path, cli_env: dict[str, str], pg_database: str
) -> None:
    faq = tmp_path / "bank_faq_ko.csv"
    shutil.copy(SAMPLE_FAQ, faq)
    reports = []
    for env in (embedded(cli_env), {**cli_env, "RAGCODE_STORE__URL": pg_database}):
        cli = [sys.executable, "-m", "ragcode.cli"]
        run([*cli, "docs", "add", str(faq)], env)
        eval_args = ["eval", str(FAQ_QUESTIONS), "--collection", "docs", "--baselines", "--json"]
        reports.append(json.loads(run([*cli, *eval_args], env)))
    on_sqlite, on_postgres = (figures(report) for report in reports)
    # one document set, so one "language" (the csv format) per configuration, same figures
    sqlite_csv, postgres_csv = (
        {n: r["csv"] for n, r in rep["languages"].items()} for rep in reports
    )
    assert_same(sqlite_csv, postgres_csv)
    assert set(on_postgres) == {"hybrid", "no-expand", "lexical", "vector"}
    assert_same(on_sqlite, on_postgres)
    assert on_postgres["hybrid"]["recall_at_5"] >= 0.9  # README: 0.967
