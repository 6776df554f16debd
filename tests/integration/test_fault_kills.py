"""Repeated kill -9 of `ragcode index` and `ragcode docs add` at random points.

Each round changes some files (a new version marker in every unit), removes or restores a
few, starts the CLI, waits for its first commit and kills it after a seeded random delay.
After every kill the index must open (SQLite and FTS5 integrity), `status --json` must work,
and no file may be half written: each indexed file has all its units, all of one version (the
one whose bytes the `files` row hashes), and no posting or vector row lacks its unit. A final
run then completes everything.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from tests.fault_support import (
    FUNCTIONS_PER_FILE,
    Corpus,
    KillRun,
    check_consistent,
    code_corpus,
    docs_corpus,
    open_db,
    pending_writes,
    ragcode,
    stored_hashes,
)

pytestmark = pytest.mark.integration

SEED = 11
# Code: each run of ~20 changed files lasts 1-3 s after a ~2 s start-up.
CODE_FILES = 40
CODE_KILLS = 20
CODE_CHANGED_PER_ROUND = 20
# Documents: multilingual-e5 takes ~0.1 s per chunk.
FAQ_FILES = 8
GUIDE_FILES = 4
DOC_KILLS = 4
DOC_CHANGED_PER_ROUND = 6


def mutate(corpus: Corpus, rng: random.Random, changed: int, version: int) -> None:
    """Rewrite `changed` files present on disk, restore the removed ones, remove another."""
    removed = [name for name in corpus.writers if name not in corpus.versions]
    for name in removed:
        corpus.write(name, version)
    present = sorted(set(corpus.versions) - set(removed))
    for name in rng.sample(present, changed):
        corpus.write(name, version)
    corpus.remove(rng.choice(sorted(corpus.versions)))


def per_file_seconds(db: Path, collection: str, files: int) -> float:
    with open_db(db) as conn:
        first, last = conn.execute(
            "SELECT MIN(indexed_at), MAX(indexed_at) FROM files WHERE collection = ?",
            (collection,),
        ).fetchone()
    return max((float(last) - float(first)) / max(files - 1, 1), 0.01)


def run_kill_rounds(
    corpus: Corpus, run: KillRun, status_args: tuple[str, ...], kills: int, changed: int
) -> None:
    rng = random.Random(SEED)
    for name in corpus.writers:
        corpus.write(name, 0)
    first = ragcode(*run.args, env=run.env)
    assert first.returncode == 0, first.stderr
    assert check_consistent(run.db, run.collection, corpus) == len(corpus.writers)
    per_file = per_file_seconds(run.db, run.collection, len(corpus.writers))

    # Kills must land mid-run to test anything: the first run's rate (model warm-up
    # included) can overstate a later run's, so a kill that came after the run ended
    # halves the delay range (one that landed widens it again, up to the whole run), and
    # rounds go on (to twice `kills`) until half landed.
    mid_run, scale, round_number = 0, 1.0, 0
    while round_number < kills or (mid_run < kills // 2 and round_number < 2 * kills):
        round_number += 1
        mutate(corpus, rng, changed, round_number)
        to_write = pending_writes(run.db, run.collection, corpus)
        delay = rng.uniform(0.0, scale * per_file * to_write)
        committed, running = run.kill_after(delay)
        landed = running and committed < to_write
        mid_run += landed
        scale = min(1.0, scale * 1.5) if landed else scale / 2
        indexed = check_consistent(run.db, run.collection, corpus)
        status = ragcode(*status_args, env=run.env)
        assert status.returncode == 0, status.stderr
        assert "Traceback" not in status.stderr
        counts = json.loads(status.stdout)
        units = sum(corpus.units_per_file[path] for path in stored_hashes(run.db, run.collection))
        assert counts["files"] == indexed, f"round {round_number}: {counts}"
        assert counts.get("units", counts.get("chunks")) == units, f"round {round_number}"
    assert mid_run >= kills // 2, f"only {mid_run} of {round_number} kills landed mid-run"

    final = ragcode(*run.args, env=run.env)
    assert final.returncode == 0, final.stderr
    assert check_consistent(run.db, run.collection, corpus) == len(corpus.versions)
    stored = stored_hashes(run.db, run.collection)
    assert {path: corpus.by_hash[(path, h)] for path, h in stored.items()} == corpus.versions


def test_index_killed_twenty_times_at_random_points_stays_whole(
    tmp_path: Path, cli_env: dict[str, str], data_dir: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    corpus = code_corpus(project, CODE_FILES)
    db = data_dir / "index.sqlite3"
    run = KillRun(("index", str(project), "--no-summaries"), db, "code", cli_env)
    run_kill_rounds(corpus, run, ("status", "--json"), CODE_KILLS, CODE_CHANGED_PER_ROUND)

    status = json.loads(ragcode("status", "--json", env=cli_env).stdout)
    assert status["files"] == len(corpus.versions)
    assert status["units"] == len(corpus.versions) * FUNCTIONS_PER_FILE
    search = ragcode("search", "compute metric 3 of module 2", "--json", "--no-expand", env=cli_env)
    assert search.returncode == 0, search.stderr
    hits = json.loads(search.stdout)
    assert hits and all(re.search(r"offset = \d+", hit["code"]) for hit in hits)


def test_docs_add_killed_at_random_points_stays_whole(
    tmp_path: Path, cli_env: dict[str, str], data_dir: Path
) -> None:
    folder = tmp_path / "faq"
    folder.mkdir()
    corpus = docs_corpus(folder, FAQ_FILES, GUIDE_FILES)
    db = data_dir / "index.sqlite3"
    run = KillRun(("docs", "add", str(folder)), db, "docs", cli_env)
    run_kill_rounds(corpus, run, ("docs", "status", "--json"), DOC_KILLS, DOC_CHANGED_PER_ROUND)

    status = json.loads(ragcode("docs", "status", "--json", env=cli_env).stdout)
    assert status["files"] == len(corpus.versions)
    assert status["chunks"] == sum(corpus.units_per_file[name] for name in corpus.versions)
