"""A document answer's sentence -> [n] map is kept with its turn (issue 14): on both history
backends (SQLite and a real PostgreSQL), across the SQLite schema 3 -> 4 upgrade and the
PostgreSQL migration 4, through `ragcode migrate`, and out of the server (final ws frame, a
replayed request, the history API), with a scripted model and with the real 0.5B one."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from ragcode.app import App
from ragcode.db.pg_migrations import Component, migrate
from ragcode.documents.attribution import markers
from ragcode.history.protocol import HistoryStore, NewTurn
from ragcode.history.sqlite import SqliteHistory
from ragcode.llm.protocol import ChatMessage
from ragcode.migrate.web_copy import copy_conversations, copy_history
from ragcode.server.factory import create_app
from tests.integration import test_history_contract as contract
from tests.scripted_llm import ScriptedLLM
from tests.server_support import reply, send, signup

pytestmark = pytest.mark.integration
ALICE = contract.ALICE
open_history = contract.open_history  # both backends, fresh databases (a fixture)
SAMPLE_FAQ = Path(__file__).resolve().parents[2] / "samples" / "bank_faq_ko.csv"

ANSWER = "영업점에서 발급합니다 [1]. 수수료는 없습니다 [1][2]. 참고하세요."
SENTENCES: list[dict[str, object]] = [
    {"index": 0, "start": 0, "end": 17, "sources": [1]},
    {"index": 1, "start": 18, "end": 34, "sources": [1, 2]},
]


def cited(answer: str = ANSWER, **extra: Any) -> NewTurn:
    return NewTurn(
        ALICE, "d1", "qa", "OTP는?", answer, [{"number": 1}], sentences=SENTENCES, **extra
    )


@pytest.fixture
def history(open_history: contract.Opener) -> HistoryStore:
    return open_history()


def test_sentences_round_trip_with_the_turn(history: HistoryStore) -> None:
    stored = history.add(cited())
    plain = history.add(contract.turn(ALICE, 2))
    assert stored.sentences == SENTENCES and plain.sentences == []
    shown = history.list(ALICE, 10)
    assert [t.sentences for t in shown] == [SENTENCES, []]
    assert shown[0].as_dict()["sentences"] == SENTENCES
    assert history.recent(ALICE, ["qa"], 5)[0].sentences == SENTENCES
    # regenerated: the new answer's map replaces the old one (none: an empty map)
    history.replace_last(cited(answer="다시 [2].", conversation_id=shown[-1].conversation_id))
    assert history.list(ALICE, 10)[-1].sentences == SENTENCES
    history.replace_last(NewTurn(ALICE, "d3", "qa", "다시", "몰라요"))
    assert history.list(ALICE, 10)[-1].sentences == []


def test_a_version_3_sqlite_file_gains_the_sentences_column(tmp_path: Path) -> None:
    path = tmp_path / "web.sqlite3"
    SqliteHistory(path).close()
    with sqlite3.connect(path) as conn:  # as the release before cited sentences left it
        conn.execute("ALTER TABLE turns DROP COLUMN sentences_json")
        conn.execute("UPDATE history_meta SET value = '3' WHERE key = 'schema_version'")
        conn.execute(
            "INSERT INTO conversations (user_id, title, created_at, updated_at)"
            " VALUES (1, 't', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')"
        )
        conn.execute(
            "INSERT INTO turns (user_id, request_id, created_at, mode, question, answer,"
            " references_json, conversation_id) VALUES (1, 'old', '2026-01-01T00:00:00+00:00',"
            " 'qa', '옛 질문', '옛 답 [1].', '[]', 1)"
        )
    upgraded = SqliteHistory(path)
    try:
        (old,) = upgraded.list(ALICE, 10)
        assert old.answer == "옛 답 [1]." and old.sentences == []
        assert upgraded.add(cited()).sentences == SENTENCES
        assert upgraded.list(ALICE, 10)[-1].sentences == SENTENCES
    finally:
        upgraded.close()
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT value FROM history_meta WHERE key = 'schema_version'")
        assert version.fetchone()[0] == "4"


def test_postgres_migration_4_keeps_older_turns(pg_database: str) -> None:
    from ragcode.history.postgres import PostgresHistory
    from ragcode.history.postgres_schema import SCHEMA

    with psycopg.connect(pg_database, autocommit=True) as conn:
        migrate(conn, Component("history", SCHEMA.migrations[:3]))  # before cited sentences
        conn.execute("INSERT INTO history_conversations (user_id, title) VALUES (1, 't')")
        conn.execute(
            "INSERT INTO history_turns (user_id, request_id, mode, question, answer,"
            " references_json, conversation_id) SELECT 1, 'old', 'qa', '옛 질문', '옛 답',"
            " '[]', id FROM history_conversations"
        )
    history = PostgresHistory(pg_database)  # opening applies migration 4
    try:
        (old,) = history.list(ALICE, 10)
        assert old.question == "옛 질문" and old.sentences == []
        assert history.add(cited()).sentences == SENTENCES
        assert history.list(ALICE, 10)[-1].sentences == SENTENCES
    finally:
        history.close()


def test_migrate_copies_the_sentences(tmp_path: Path, pg_database: str) -> None:
    from ragcode.history.postgres import PostgresHistory

    source = SqliteHistory(tmp_path / "web.sqlite3")
    target = PostgresHistory(pg_database)
    try:
        source.add(cited())
        source.add(contract.turn(ALICE, 2))
        copy_conversations(source, target)
        assert copy_history(source, target).added == 2
        assert [t.sentences for t in target.list(ALICE, 10)] == [SENTENCES, []]
    finally:
        source.close()
        target.close()


# --- through the server ---------------------------------------------------------------
SAID = "OTP 기기는 가까운 영업점을 방문하시면 발급받을 수 있습니다. 오늘 점심은 김치찌개입니다."


def unmarked(messages: Sequence[ChatMessage]) -> str:
    return SAID


def indexed_app(make_app: Callable[..., App], tmp_path: Path, llm: Any = None) -> App:
    core = make_app(llm)
    shutil.copy(SAMPLE_FAQ, tmp_path / "bank_faq_ko.csv")
    core.docs.indexer.index(tmp_path / "bank_faq_ko.csv")
    return core


def assert_map_matches(answer: str, sentences: list[dict[str, Any]], references: int) -> None:
    """Every entry is a sentence of `answer` whose markers are its sources."""
    assert sentences, answer
    for entry in sentences:
        text = answer[entry["start"] : entry["end"]]
        assert text.strip() == text and text, (answer, entry)
        assert sorted(set(markers(text))) == sorted(entry["sources"]), (text, entry)
        assert all(1 <= n <= references for n in entry["sources"])


def test_the_server_sends_keeps_and_replays_the_map(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    core = indexed_app(make_app, tmp_path, ScriptedLLM(unmarked))
    with TestClient(create_app(core)) as client:
        signup(client, "minji")
        with client.websocket_connect("/ws") as ws:
            send(ws, "q1", "OTP 기기는 어디에서 발급받을 수 있나요?", "qa")
            final = reply(ws, "q1")[-1]
            send(ws, "n1", "안녕하세요", "normal")
            plain = reply(ws, "n1")[-1]
        assert final["status"] == "completed", final
        # the attributor marked the first sentence only; the lunch sentence cites nothing
        assert len(final["sentences"]) == 1
        assert_map_matches(final["msg"], final["sentences"], len(final["references"]))
        assert (
            "영업점" in final["msg"][final["sentences"][0]["start"] : final["sentences"][0]["end"]]
        )
        assert "sentences" not in plain  # other modes send no map
        turns = client.get("/api/history").json()["turns"]
        assert turns[0]["sentences"] == final["sentences"] and turns[1]["sentences"] == []
        with client.websocket_connect("/ws") as ws:  # the same request again: replayed
            ws.send_json(
                {"request_id": "q1", "type": "text", "conv_type": "qa", "resend": True,
                 "body": "OTP 기기는 어디에서 발급받을 수 있나요?"}
            )  # fmt: skip
            again = reply(ws, "q1")[-1]
        assert again["msg"] == final["msg"] and again["sentences"] == final["sentences"]
    core.close()


def test_real_model_answer_keeps_its_map_in_the_history(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    core = indexed_app(make_app, tmp_path)  # the configured real 0.5B model
    core.settings.documents.max_answer_tokens = 128
    core.settings.documents.temperature = 0.0  # greedy: the same answer every run
    with TestClient(create_app(core)) as client:
        signup(client, "real")
        with client.websocket_connect("/ws") as ws:
            send(ws, "k1", "OTP 기기는 어디에서 발급받을 수 있나요?", "qa")
            final = reply(ws, "k1")[-1]
        turns = client.get("/api/history").json()["turns"]
    assert final["status"] == "completed", final
    titles = [ref.get("title") for ref in final["references"]]
    right = titles.index("OTP는 어디서 발급받나요?") + 1
    assert_map_matches(final["msg"], final["sentences"], len(titles))
    assert any(right in entry["sources"] for entry in final["sentences"]), final["msg"]
    assert turns[0]["answer"] == final["msg"] and turns[0]["sentences"] == final["sentences"]
    core.close()
