"""The embedded store with tantivy as its lexical engine (store/tantivy_lexicon.py): scores
against FTS5 on the same database, writes seen by the next search in this and in other
processes, owner scopes filtered inside the engine, and the index built again from SQLite
when it is missing, damaged, or was built from another database. The store contract
(test_store_contract.py) runs on this engine too ("sqlite-tantivy"). Builds run in the
store's thread, FTS5 answering meanwhile (test_store_tantivy_background.py): the tests here
let the index be built first (`serve`) and check that tantivy answered."""

from __future__ import annotations

import itertools
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ragcode.app import build_store
from ragcode.cli import main
from ragcode.config import Settings
from ragcode.domain import SummaryState, user_scope, visible_scopes
from ragcode.store.protocol import IndexEntry
from ragcode.store.schema import VISIBLE_UNITS_INDEX
from ragcode.store.sqlite_store import SqliteStore, lexicon_dir
from ragcode.store.tantivy_background import BackgroundLexicon
from ragcode.store.tantivy_lexicon import STATE_FILE, TantivyLexicon
from ragcode.store.vectors import log_position
from tests.integration.test_store_contract import entry, put, record, uids, vector
from tests.mixed_languages import write_mixed_project

pytestmark = pytest.mark.integration

ALICE, BOB = 1, 2


def serve(store: SqliteStore) -> None:
    """Builds or catches up the index as the end of `ragcode index` does, and waits."""
    with store.bulk_writes(wait_for_lexicon=True):
        pass
    assert store.lexical_engine_serving() == "tantivy"


def open_pair(path: Path) -> tuple[SqliteStore, SqliteStore]:
    return SqliteStore(path), SqliteStore(path, lexical_engine="tantivy")


def random_entries(count: int, lengths: tuple[int, int], seed: int) -> list[IndexEntry]:
    rng = random.Random(seed)
    words = [f"t{i}" for i in range(60)]
    entries = []
    for i in range(count):
        size = rng.randint(*lengths)
        tokens = [rng.choice(words[: rng.randint(3, 60)]) for _ in range(size)]
        entries.append(entry("a.py", f"f{i}", " ".join(tokens), i))
    return entries


QUERIES = (["t1"], ["t1", "t30"], ["t59", "t2", "t7"], ["t0", "t1", "t2", "t3"], ["t45", "t50"])


@pytest.mark.parametrize("lengths", [(1, 40), (30, 400)])
def test_lists_and_scores_equal_fts5(tmp_path: Path, lengths: tuple[int, int]) -> None:
    """Up to 40 tokens tantivy stores a field's length exactly; above, in one byte (its
    scores then move by up to ~5% and near-ties swap: 8 of FTS5's top 10 on this data).
    The store rescores tantivy's best candidates from the tokens SQLite keeps, so both
    engines return the same lists with the same scores."""
    fts5, tantivy = open_pair(tmp_path / "index.sqlite3")
    try:
        fts5.replace_file(record("a.py"), random_entries(400, lengths, 9))
        serve(tantivy)
        # 10 takes 20 candidates more (RESCORE_MARGIN), 50 (the searcher's lists) 25 and 200
        # (MCP's hints) 100 (RESCORE_SHARE).
        for query, limit in itertools.product(QUERIES, (10, 50, 200)):
            expected = fts5.lexical_search("code", query, limit)
            found = tantivy.lexical_search("code", query, limit)
            assert uids(found) == uids(expected), (query, limit)
            assert [h.score for h in found] == pytest.approx([h.score for h in expected], rel=1e-9)
        assert tantivy.lexical_engine_serving() == "tantivy"
    finally:
        fts5.close()
        tantivy.close()


def test_deletes_and_replaces_are_seen_by_the_next_search(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "index.sqlite3", lexical_engine="tantivy")
    try:
        put(store, "/r", "a.py", "f", "alpha beta", 1, "team")
        put(store, "/r", "b.py", "g", "alpha", 2, "team")
        serve(store)
        assert set(uids(store.lexical_search("code", ["alpha"], 5))) == {"a.py:f", "b.py:g"}
        put(store, "/r", "a.py", "f", "gamma", 3, "team")  # the file changed
        assert uids(store.lexical_search("code", ["alpha"], 5)) == ["b.py:g"]
        assert uids(store.lexical_search("code", ["gamma"], 5)) == ["a.py:f"]
        store.remove_files("/r", ["b.py"])
        assert store.lexical_search("code", ["alpha"], 5) == []
        store.set_summary(
            "a.py:f", summary="요약", state=SummaryState.DONE, tokens=["요약", "delta"],
            vector=vector(4), model="m",
        )  # fmt: skip
        assert uids(store.lexical_search("summary", ["delta"], 5)) == ["a.py:f"]
        store.set_summary(
            "a.py:f", summary="다른 요약", state=SummaryState.DONE, tokens=["epsilon"],
            vector=None, model="m",
        )  # fmt: skip
        assert store.lexical_search("summary", ["delta"], 5) == []
        assert uids(store.lexical_search("summary", ["epsilon"], 5)) == ["a.py:f"]
        assert store.lexical_engine_serving() == "tantivy"  # every write caught up in-request
    finally:
        store.close()


def test_two_store_objects_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    """Both search, so both catch the shared indexes up in turn (under the file lock)."""
    path = tmp_path / "index.sqlite3"
    one = SqliteStore(path, lexical_engine="tantivy")
    two = SqliteStore(path, lexical_engine="tantivy")
    try:
        serve(one)
        serve(two)
        assert one.lexical_search("code", ["alpha"], 5) == []
        put(two, "/r", "a.py", "f", "alpha", 1, "team")
        assert uids(one.lexical_search("code", ["alpha"], 5)) == ["a.py:f"]
        put(one, "/r", "b.py", "g", "alpha alpha", 2, "team")
        assert uids(two.lexical_search("code", ["alpha"], 5)) == ["b.py:g", "a.py:f"]
        assert uids(one.lexical_search("code", ["alpha"], 5)) == ["b.py:g", "a.py:f"]
        two.set_scope("/r", user_scope(ALICE))
        assert one.lexical_search("code", ["alpha"], 5) == []
        assert len(one.lexical_search("code", ["alpha"], 5, visible_scopes(ALICE))) == 2
        assert one.lexical_engine_serving() == two.lexical_engine_serving() == "tantivy"
    finally:
        one.close()
        two.close()


WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.integration.test_store_contract import put
from ragcode.store.sqlite_store import SqliteStore
store = SqliteStore(Path({path!r}))  # a writer that never searches (`ragcode index`)
put(store, "/r", "w.py", "written", "omega", 5, "team")
store.remove_files("/r", ["a.py"])
store.close()
"""


def test_another_process_write_is_seen_by_the_next_search(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    store = SqliteStore(path, lexical_engine="tantivy")
    try:
        put(store, "/r", "a.py", "f", "omega", 1, "team")
        serve(store)
        assert uids(store.lexical_search("code", ["omega"], 5)) == ["a.py:f"]
        root = str(Path(__file__).resolve().parents[2])
        script = textwrap.dedent(WRITER).format(root=root, path=str(path))
        subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
        assert uids(store.lexical_search("code", ["omega"], 5)) == ["w.py:written"]
        assert store.lexical_engine_serving() == "tantivy"
    finally:
        store.close()


def test_private_units_of_another_user_never_reach_or_crowd_the_list(tmp_path: Path) -> None:
    """Alice's private units score best by far; Bob still gets a full list of his own and
    team units, and none of hers (the filter sits inside the engine, before the cut)."""
    store = SqliteStore(tmp_path / "index.sqlite3", lexical_engine="tantivy")
    try:
        for i in range(30):
            put(
                store,
                f"/up/{ALICE}",
                f"p{i}.py",
                f"private{i}",
                "secret " * 8,
                i,
                user_scope(ALICE),
            )
        for i in range(5):
            put(store, "/team", f"t{i}.py", f"team{i}", "secret filler words", 100 + i, "team")
        put(store, f"/up/{BOB}", "b.py", "bobs", "secret other", 200, user_scope(BOB))
        serve(store)
        found = uids(store.lexical_search("code", ["secret"], 6, visible_scopes(BOB)))
        assert sorted(found) == sorted([f"t{i}.py:team{i}" for i in range(5)] + ["b.py:bobs"])
        team_only = uids(store.lexical_search("code", ["secret"], 10))
        assert sorted(team_only) == sorted(f"t{i}.py:team{i}" for i in range(5))
        mine = uids(store.lexical_search("code", ["secret"], 5, visible_scopes(ALICE)))
        assert all(uid.startswith("p") for uid in mine) and len(mine) == 5
        assert store.lexical_engine_serving() == "tantivy"
    finally:
        store.close()


def test_a_missing_index_is_built_again_from_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    store = SqliteStore(path, lexical_engine="tantivy")
    put(store, "/r", "a.py", "f", "alpha beta", 1, "team")
    serve(store)
    expected = store.lexical_search("code", ["alpha", "beta"], 5)
    store.close()
    shutil.rmtree(lexicon_dir(path))
    store = SqliteStore(path, lexical_engine="tantivy")
    try:
        assert store.lexical_search("code", ["alpha", "beta"], 5) == expected  # FTS5's
        serve(store)
        assert store.lexical_search("code", ["alpha", "beta"], 5) == expected
        shutil.rmtree(lexicon_dir(path))  # removed under a running store: the next write
        put(store, "/r", "b.py", "g", "beta", 2, "team")  # makes it look, and build again
        assert uids(store.lexical_search("code", ["beta"], 5)) == ["b.py:g", "a.py:f"]
        serve(store)
        assert uids(store.lexical_search("code", ["beta"], 5)) == ["b.py:g", "a.py:f"]
        assert (lexicon_dir(path) / STATE_FILE).exists()
    finally:
        store.close()


@pytest.mark.parametrize("damage", ["meta", "segments", "state"])
def test_a_damaged_index_is_built_again_from_sqlite(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "index.sqlite3"
    store = SqliteStore(path, lexical_engine="tantivy")
    put(store, "/r", "a.py", "f", "alpha beta", 1, "team")
    put(store, "/r", "b.py", "g", "beta", 2, "team")
    serve(store)
    expected = store.lexical_search("code", ["beta"], 5)
    store.close()
    directory = lexicon_dir(path)
    if damage == "meta":
        (directory / "code" / "meta.json").write_text("{not json", encoding="utf-8")
    elif damage == "segments":
        for file in (directory / "code").iterdir():
            if file.suffix in (".idx", ".term", ".store"):
                file.write_bytes(b"\0garbage")
    else:  # a record of changes it does not hold: the database looks younger than it
        (directory / STATE_FILE).write_text(
            json.dumps({"store_id": "someone else", "seq": 10**9}), encoding="utf-8"
        )
    store = SqliteStore(path, lexical_engine="tantivy")
    try:
        assert store.lexical_search("code", ["beta"], 5) == expected
        serve(store)
        assert store.lexical_search("code", ["beta"], 5) == expected
        assert store.lexical_engine_serving() == "tantivy"
    finally:
        store.close()


def test_an_index_of_another_database_is_not_reused(tmp_path: Path) -> None:
    """The database file deleted and indexed again: the log restarts at 1, so only the
    database's id tells the old index (which holds the old units) from a current one."""
    path = tmp_path / "index.sqlite3"
    store = SqliteStore(path, lexical_engine="tantivy")
    put(store, "/r", "old.py", "stale", "alpha", 1, "team")
    put(store, "/r", "old2.py", "stale2", "alpha", 2, "team")
    serve(store)
    assert len(store.lexical_search("code", ["alpha"], 5)) == 2
    store.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = SqliteStore(path, lexical_engine="tantivy")
    try:
        put(store, "/r", "new.py", "fresh", "alpha", 3, "team")
        put(store, "/r", "new2.py", "fresh2", "beta", 4, "team")
        serve(store)
        assert uids(store.lexical_search("code", ["alpha"], 5)) == ["new.py:fresh"]
    finally:
        store.close()


@pytest.mark.parametrize("configured", [None, "tantivy", "fts5"])
def test_the_setting_chooses_the_engine(tmp_path: Path, configured: str | None) -> None:
    """tantivy by default (store.lexical_engine); "fts5" never creates the directory."""
    settings = Settings(data_dir=tmp_path, store={"lexical_engine": configured or "tantivy"})
    if configured is None:
        settings = Settings(data_dir=tmp_path)
    store = build_store(settings)
    try:
        # builds the tantivy index at its end (not with "fts5"), as `ragcode index` does
        with store.bulk_writes(wait_for_lexicon=True):
            put(store, "/r", "a.py", "f", "alpha", 1, "team")
        assert uids(store.lexical_search("code", ["alpha"], 5)) == ["a.py:f"]
    finally:
        store.close()
    assert isinstance(store, SqliteStore)
    built = (lexicon_dir(tmp_path / "index.sqlite3") / STATE_FILE).exists()
    assert built == (configured != "fts5")


def test_an_indexing_run_leaves_the_index_caught_up(tmp_path: Path) -> None:
    """bulk_writes(wait_for_lexicon=True) (`ragcode index`) builds the index or applies its
    writes at the end, so that the first search after it finds nothing left to do, in this
    process and in another one. (A server's upload does not wait for the build:
    test_store_tantivy_background.py.)"""
    path = tmp_path / "index.sqlite3"
    store = SqliteStore(path, lexical_engine="tantivy")
    try:
        with store.bulk_writes(wait_for_lexicon=True):
            put(store, "/r", "a.py", "f", "alpha", 1, "team")
        assert (lexicon_dir(path) / STATE_FILE).exists()
        assert store.lexical_engine_serving() == "tantivy"
        assert uids(store.lexical_search("code", ["alpha"], 5)) == ["a.py:f"]
        with store.bulk_writes(wait_for_lexicon=True):
            put(store, "/r", "b.py", "g", "beta", 2, "team")
        state = json.loads((lexicon_dir(path) / STATE_FILE).read_text(encoding="utf-8"))
        with sqlite3.connect(path) as conn:
            assert state["seq"] == log_position(conn) > 0
        searcher = SqliteStore(path, lexical_engine="tantivy")
        try:
            assert uids(searcher.lexical_search("code", ["beta"], 5)) == ["b.py:g"]
            assert searcher.lexical_engine_serving() == "tantivy"  # at its first search
        finally:
            searcher.close()
    finally:
        store.close()


def test_ragcode_index_exits_only_once_the_index_is_built(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI asks its runs to wait for the build (a server's uploads do not): here each
    build starts a second late, so a CLI that did not wait would close the store first and
    stop the build, leaving no index."""
    started = BackgroundLexicon._build

    def late(self: BackgroundLexicon, rebuild: bool) -> TantivyLexicon:
        time.sleep(1.0)
        return started(self, rebuild)

    monkeypatch.setattr(BackgroundLexicon, "_build", late)
    project = write_mixed_project(tmp_path / "project")
    assert main(["index", str(project), "--data-dir", str(data_dir), "--no-summaries"]) == 0
    path = data_dir / "index.sqlite3"
    state = json.loads((lexicon_dir(path) / STATE_FILE).read_text(encoding="utf-8"))
    with sqlite3.connect(path) as conn:
        assert state["seq"] == log_position(conn) > 0


def test_an_index_that_cannot_be_written_leaves_the_search_to_fts5(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A read-only or full data directory (here: a file where the index directory goes)
    must not break search: FTS5, written all along, answers with the same ranking."""
    path = tmp_path / "index.sqlite3"
    lexicon_dir(path).write_text("not a directory", encoding="utf-8")
    store = SqliteStore(path, lexical_engine="tantivy")
    try:
        put(store, "/r", "a.py", "f", "alpha beta", 1, "team")
        put(store, "/r", "b.py", "g", "alpha", 2, "team")
        assert uids(store.lexical_search("code", ["alpha", "beta"], 5)) == ["a.py:f", "b.py:g"]
        assert "FTS5" in caplog.text
    finally:
        store.close()


def test_a_summary_write_commits_only_the_summary_index(tmp_path: Path) -> None:
    """The log names the unit, not the field: fields whose postings are unchanged (the
    unit's code, doc and names) are compared by digest and left alone, one commit not four."""
    path = tmp_path / "index.sqlite3"
    store = SqliteStore(path, lexical_engine="tantivy")
    try:
        put(store, "/r", "a.py", "f", "alpha", 1, "team")
        serve(store)
        assert uids(store.lexical_search("code", ["alpha"], 5)) == ["a.py:f"]
        before = {
            fld: (lexicon_dir(path) / fld / "meta.json").read_text(encoding="utf-8")
            for fld in ("summary", "code", "identifiers")
        }
        store.set_summary(
            "a.py:f", summary="요약", state=SummaryState.DONE, tokens=["omega"],
            vector=vector(2), model="m",
        )  # fmt: skip
        assert uids(store.lexical_search("summary", ["omega"], 5)) == ["a.py:f"]
        after = {
            fld: (lexicon_dir(path) / fld / "meta.json").read_text(encoding="utf-8")
            for fld in before
        }
        assert after["code"] == before["code"]
        assert after["identifiers"] == before["identifiers"]
        assert after["summary"] != before["summary"]
        assert uids(store.lexical_search("code", ["alpha"], 5)) == ["a.py:f"]
    finally:
        store.close()


def two_scoped_units(path: Path) -> None:
    """A team unit and one of Alice's, both holding "alpha", in a closed file without the
    `units_visible` index (as a file of the previous version)."""
    store = SqliteStore(path)
    put(store, "/r", "a.py", "f", "alpha", 1, "team")
    put(store, "/r", "b.py", "g", "alpha beta", 2, user_scope(ALICE))
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"DROP INDEX {VISIBLE_UNITS_INDEX}")


def assert_scoped_lists(store: SqliteStore) -> None:
    assert uids(store.lexical_search("code", ["alpha"], 5)) == ["a.py:f"]
    found = store.lexical_search("code", ["alpha"], 5, visible_scopes(ALICE))
    assert sorted(uids(found)) == ["a.py:f", "b.py:g"]


def test_a_file_written_before_the_visible_units_index_gets_it(tmp_path: Path) -> None:
    """The rescoring reads candidates through `units_visible`. A file of the previous version,
    at the same schema version but without the index, gets it when opened, and its search is
    tantivy's, with the scopes kept."""
    path = tmp_path / "index.sqlite3"
    two_scoped_units(path)
    store = SqliteStore(path, lexical_engine="tantivy")
    try:
        serve(store)
        assert_scoped_lists(store)
        assert store.lexical_engine_serving() == "tantivy"
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        plan = conn.execute(
            f"EXPLAIN QUERY PLAN SELECT uid FROM units INDEXED BY {VISIBLE_UNITS_INDEX}"
            " WHERE id IN (1, 2) AND collection = 'code' AND scope IN ('team')"
        ).fetchall()
    assert any(f"COVERING INDEX {VISIBLE_UNITS_INDEX}" in str(row) for row in plan)


def test_without_the_index_the_rows_are_read_by_rowid_and_a_dropped_one_leaves_it_to_fts5(
    tmp_path: Path,
) -> None:
    """The index is best effort (a full disk, a locked file): a file where it cannot be made
    opens, and tantivy's search reads the rows without it. One dropped under a running store
    (a restored old file) gives FTS5's list, not an error."""
    path = tmp_path / "index.sqlite3"
    two_scoped_units(path)
    with sqlite3.connect(path) as conn:  # the name taken: CREATE INDEX fails as on a full disk
        conn.execute(f"CREATE TABLE {VISIBLE_UNITS_INDEX} (x)")
    store = SqliteStore(path, lexical_engine="tantivy")
    try:
        serve(store)
        assert_scoped_lists(store)
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"DROP TABLE {VISIBLE_UNITS_INDEX}")
    store = SqliteStore(path, lexical_engine="tantivy")
    try:
        serve(store)
        with sqlite3.connect(path) as conn:
            conn.execute(f"DROP INDEX {VISIBLE_UNITS_INDEX}")
        assert_scoped_lists(store)
    finally:
        store.close()
