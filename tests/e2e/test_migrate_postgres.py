"""`ragcode migrate`: an embedded data directory (real SQLite store, real encoders, scripted
LLM summaries, accounts, sessions, history, uploads private and shared) is copied into a real
PostgreSQL + pgvector, and the product opened on PostgreSQL answers exactly as before: same
search results and scores, same private uploads, same logins and sessions, same history and
registry, same counts; no embedding or analysis ran during the copy. A second copy into the
same database is refused; an interrupted copy is finished by running the command again."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ragcode import cli
from ragcode.accounts.postgres import PostgresAccounts
from ragcode.accounts.sqlite import SqliteAccounts
from ragcode.app import WEB_DB, App, build_app
from ragcode.config import Settings
from ragcode.domain import (
    CATEGORY,
    DOCSTRING,
    TEAM_ONLY,
    TEAM_SCOPE,
    StoredRecord,
    user_scope,
    visible_scopes,
)
from ragcode.embeddings.batches import LazyEncoder
from ragcode.embeddings.local import LocalEmbedder
from ragcode.embeddings.local_e5 import E5Embedder
from ragcode.history.postgres import PostgresHistory
from ragcode.history.protocol import HistoryError, NewTurn, StoredTurn
from ragcode.history.sqlite import SqliteHistory
from ragcode.llm.protocol import ChatMessage
from ragcode.migrate import store_copy, web_copy
from ragcode.retrieve.hybrid import HybridSearcher
from ragcode.store.postgres import PostgresStore
from ragcode.store.protocol import LEXICAL_FIELDS, VECTOR_FIELDS, CodeStore
from ragcode.store.sqlite_store import SqliteStore
from ragcode.text.analyzer import TextAnalyzer
from ragcode.uploads.postgres import PostgresRegistry
from ragcode.uploads.protocol import UPLOADS_DIR, Document
from ragcode.uploads.sqlite import SqliteRegistry
from tests.integration.test_indexer import korean_summary, unit_name
from tests.pg_server import PgServer
from tests.sample_project import write_sample_project
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.e2e

SAMPLE_FAQ = Path(__file__).resolve().parents[2] / "samples" / "bank_faq_ko.csv"
PASSWORDS = {"alice": "검색-잘-되는-비밀번호-42", "bob": "another long passphrase 7"}
ALICE_CODE = '''\
def issue_alice_secret_token(length):
    """Create the private release signing token for the build server."""
    return "x" * length
'''
BOB_CODE = '''\
def share_weekly_report(team):
    """Send the weekly team report to every member."""
    return [member for member in team]
'''
ALICE_DOC = (
    "# 배포 서명 키\n\n앨리스만 아는 배포 서명 키 발급 절차입니다. 키는 금고에 보관합니다.\n"
)
CODE_QUERIES = [
    "이메일 발송하는 코드", "설정 파일 저장", "SHA-256 checksum", "배포 서명 토큰 만들기",
    "주간 보고서 보내기", "read the JSON configuration",
]  # fmt: skip
DOC_QUERIES = [
    "OTP는 어디서 받나요?", "지점에 가지 않고 휴대폰으로 통장을 만들 수 있나요",
    "배포 서명 키 발급 절차",
]  # fmt: skip


def summarize(messages: Sequence[ChatMessage]) -> str:
    return korean_summary(messages)


def fails(messages: Sequence[ChatMessage]) -> bool:
    """One unit's summary fails: its failed state and back-off must travel too."""
    return unit_name(messages) == "verifyChecksum"


@dataclass(frozen=True, slots=True)
class Embedded:
    data_dir: Path
    users: dict[str, int]
    live_token: str  # alice's session, opened before the copy
    expired_token: str
    documents: tuple[tuple[Path, str], ...]  # (indexed path, owner scope) of the docs collection


def embedded_settings(data_dir: Path, url: str | None = None) -> Settings:
    return Settings(
        data_dir=data_dir, search={"expand_query": False}, store={"url": url},
        server={"allowed_hosts": ["testserver"]},
    )  # fmt: skip


def open_app(settings: Settings, embedder: LocalEmbedder) -> App:
    return build_app(settings, llm=ScriptedLLM(summarize, fail_when=fails), embedder=embedder)


def add_upload(
    app: App, registry: SqliteRegistry, user_id: int, kind: str, name: str, text: str
) -> Document:
    doc_id = uuid.uuid4().hex[:16]
    folder = app.settings.data_dir / UPLOADS_DIR / str(user_id) / doc_id / "files"
    folder.mkdir(parents=True)
    (folder / name).write_text(text, encoding="utf-8")
    doc = registry.add(doc_id, user_id, name, kind, folder)
    indexer = app.indexer if kind == "code" else app.docs.indexer
    report = indexer.index(folder, owner=doc.scope, own_root=True)
    registry.update(doc_id, state="ready", units=report.units_written)
    return doc


def build_embedded(data_dir: Path, embedder: LocalEmbedder) -> Embedded:
    """A team that used the embedded product for a while."""
    settings = embedded_settings(data_dir)
    web = data_dir / WEB_DB
    data_dir.mkdir(parents=True)
    accounts, history, registry = SqliteAccounts(web), SqliteHistory(web), SqliteRegistry(web)
    app = open_app(settings, embedder)
    try:
        alice = accounts.create("alice", PASSWORDS["alice"])  # the first account: admin
        bob = accounts.create("bob", PASSWORDS["bob"])
        project = write_sample_project(data_dir.parent / "project")
        app.indexer.index(project)
        faq = data_dir.parent / "bank_faq_ko.csv"
        shutil.copy(SAMPLE_FAQ, faq)
        app.docs.indexer.index(faq)
        add_upload(app, registry, alice.id, "code", "signing.py", ALICE_CODE)
        alice_doc = add_upload(app, registry, alice.id, "document", "signing.md", ALICE_DOC)
        shared = add_upload(app, registry, bob.id, "code", "report.py", BOB_CODE)
        app.store.set_scope(str(shared.path), TEAM_SCOPE)
        registry.set_shared(shared.id, True)
        queued = registry.add("queued0001", bob.id, "later.py", "code", shared.path)
        assert queued.state == "queued"  # an unfinished job: a replica takes it after the copy
        app.summaries.run()
        for i in range(5):
            history.add(NewTurn(
                user_id=alice.id if i % 2 == 0 else bob.id, request_id=f"r{i}",
                mode="code" if i < 3 else "normal", question=f"질문 {i}", answer=f"답 {i}",
                references=[{"path": "app/config.py", "name": "read_config", "score": 0.5}]
                if i == 0 else [],
                standalone_question="독립 질문" if i == 1 else None,
            ))  # fmt: skip
        live = accounts.open_session(alice, 3600)
        expired = accounts.open_session(bob, -10)
    finally:
        app.close()
        for adapter in (accounts, history, registry):
            adapter.close()
    documents = ((faq, TEAM_SCOPE), (alice_doc.path, alice_doc.scope))
    return Embedded(data_dir, {"alice": alice.id, "bob": bob.id}, live, expired, documents)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder) -> Embedded:
    return build_embedded(tmp_path_factory.mktemp("embedded") / "data", embedder)


def migrate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["migrate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def no_model_work(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Counts every embedding and analysis call: a copy must not make any."""
    calls: list[str] = []

    def counted(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: object, *args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return original(self, *args, **kwargs)

        return call

    with monkeypatch.context() as patch:
        patch.setattr(LazyEncoder, "embed", counted("embed", LazyEncoder.embed))
        for method in ("analyze_text", "analyze_code", "analyze_identifiers", "analyze_query"):
            patch.setattr(TextAnalyzer, method, counted(method, getattr(TextAnalyzer, method)))
        yield calls


# --- what is compared ------------------------------------------------------------------------
def results(searcher: HybridSearcher, query: str, scopes: Sequence[str]) -> list[tuple[Any, ...]]:
    hits = searcher.search(query, top_k=10, scopes=scopes)
    return [(h.record.path, h.record.title, h.record.start_line, h.score) for h in hits]


def scopes_of(users: dict[str, int]) -> list[Sequence[str]]:
    return [TEAM_ONLY, visible_scopes(users["alice"]), visible_scopes(users["bob"])]


def assert_same_code_search(one: App, two: App, users: dict[str, int]) -> int:
    """Same units, same order, same scores (1e-6) for every query and scope; the hits seen."""
    seen = 0
    for query in CODE_QUERIES:
        for scope in scopes_of(users):
            mine, theirs = results(one.searcher, query, scope), results(two.searcher, query, scope)
            assert [h[:3] for h in theirs] == [h[:3] for h in mine], (query, scope)
            assert [h[3] for h in theirs] == pytest.approx([h[3] for h in mine], abs=1e-6)
            seen += len(mine)
    return seen


def assert_same_document_search(
    one: App, two: App, users: dict[str, int], alone: SqliteStore
) -> None:
    """The documents collection shares the index file with the code: FTS5 computes BM25's
    statistics (rows, document frequencies, lengths) over every collection of the file, the
    PostgreSQL store per collection, so lexical scores differ by design. The same units come
    back; every vector list is the same; every lexical list equals that of an embedded store
    holding the same documents alone (`alone`: indexed again from the files, never copied)."""
    encoder = E5Embedder()
    for query in DOC_QUERIES:
        tokens = TextAnalyzer().analyze_query(query)
        vector = encoder.embed([query])[0]
        for scope in scopes_of(users):
            mine, theirs = (results(app.docs.searcher, query, scope) for app in (one, two))
            assert {h[:3] for h in theirs} == {h[:3] for h in mine}, (query, scope)
            for vfld in VECTOR_FIELDS:
                expected = one.docs.store.vector_search(vfld, vector, 20, scope)
                found = two.docs.store.vector_search(vfld, vector, 20, scope)
                assert [h.uid for h in found] == [h.uid for h in expected]
                assert [h.score for h in found] == pytest.approx(
                    [h.score for h in expected], abs=1e-6
                )
            for fld in LEXICAL_FIELDS:
                expected = alone.lexical_search(fld, tokens, 20, scope)
                found = two.docs.store.lexical_search(fld, tokens, 20, scope)
                assert [h.uid for h in found] == [h.uid for h in expected], (query, fld)
                assert [h.score for h in found] == pytest.approx(
                    [h.score for h in expected], rel=1e-6
                )


def documents_alone(embedded: Embedded, embedder: LocalEmbedder, data_dir: Path) -> App:
    """The same documents indexed from their files into a fresh embedded index of their own."""
    app = open_app(embedded_settings(data_dir), embedder)
    for path, scope in embedded.documents:
        app.docs.indexer.index(path, owner=scope, own_root=scope != TEAM_SCOPE)
    return app


def history_pages(history: SqliteHistory | PostgresHistory, user_id: int) -> list[StoredTurn]:
    pages: list[StoredTurn] = []
    before: int | None = None
    while page := history.list(user_id, limit=2, before=before):
        pages = page + pages
        before = page[0].id
    return pages


def without_time(doc: Document) -> Document:
    return replace(doc, created_at=0.0)


# --- the copy ------------------------------------------------------------------------------
def test_migrate_copies_everything_and_postgres_answers_the_same(
    embedded: Embedded,
    embedder: LocalEmbedder,
    pg_database: str,
    no_model_work: list[str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    data_dir, users = embedded.data_dir, embedded.users
    code, out, err = migrate(capsys, "--to", pg_database, "--data-dir", str(data_dir))
    assert code == 0, err
    assert no_model_work == []  # no embedding, no analysis: tokens and vectors were copied
    assert "복사를 마쳤습니다" in out and "← 다름" not in out
    assert "server.uploads_dir" in out and str(data_dir / UPLOADS_DIR) in out

    source = open_app(embedded_settings(data_dir), embedder)
    target = open_app(embedded_settings(tmp_path / "pg-data", pg_database), embedder)
    try:
        assert isinstance(target.store, PostgresStore)
        # Search: same results with the same scores, private uploads private.
        assert assert_same_code_search(source, target, users) > 30
        alone = documents_alone(embedded, embedder, tmp_path / "documents-alone")
        try:
            assert isinstance(alone.docs.store, SqliteStore)
            assert_same_document_search(source, target, users, alone.docs.store)
        finally:
            alone.close()
        secret = "배포 서명 토큰 만들기"
        alice_hits = [h.record.title for h in target.searcher.search(
            secret, top_k=10, scopes=visible_scopes(users["alice"]))]  # fmt: skip
        assert "issue_alice_secret_token" in alice_hits
        for scope in (TEAM_ONLY, visible_scopes(users["bob"])):
            names = [h.record.title for h in target.searcher.search(secret, top_k=50, scopes=scope)]
            assert "issue_alice_secret_token" not in names
            documents = target.docs.searcher.search(
                "배포 서명 키 발급 절차", top_k=50, scopes=scope
            )
            assert all("앨리스" not in h.record.body for h in documents)
        # Status: the same counts, states, skipped files (with reasons) and embedding models.
        mine: CodeStore | tuple[int, int, int, int]  # a store, then its queue's counts
        theirs: CodeStore | tuple[int, int, int, int]
        copied: dict[str, StoredRecord] | list[Document]  # records, then registry documents
        for mine, theirs in ((source.store, target.store), (source.docs.store, target.docs.store)):
            assert theirs.status() == mine.status()
        # Records: every one the same, metadata included (docstrings; the FAQ's categories).
        stores: list[tuple[str, CodeStore, CodeStore]] = [(DOCSTRING, source.store, target.store)]
        stores.append((CATEGORY, source.docs.store, target.docs.store))
        for key, mine, theirs in stores:
            assert isinstance(mine, SqliteStore)
            uids = [unit.entry.uid for file in mine.export_files() for unit in file.units]
            copied = theirs.get_units(uids)
            assert len(copied) == len(uids) and copied == mine.get_units(uids)
            assert sum(key in stored.record.metadata for stored in copied.values()) > 3
        queues = [app.store.queue_status() for app in (source, target)]
        mine, theirs = ((q.pending, q.retrying, q.gave_up, q.ready) for q in queues)
        assert theirs == mine and theirs[1] == 1  # verifyChecksum failed: its back-off goes on
        assert target.store.export_summary_cache() == source.store.export_summary_cache()
    finally:
        source.close()
        target.close()

    # Accounts: old passwords, admin flags, creation times; live sessions only.
    web = data_dir / WEB_DB
    old_accounts, accounts = SqliteAccounts(web), PostgresAccounts(pg_database)
    old_history, history = SqliteHistory(web), PostgresHistory(pg_database)
    old_registry, registry = SqliteRegistry(web), PostgresRegistry(pg_database)
    try:
        assert accounts.list_users() == old_accounts.list_users()
        assert accounts.export_users() == old_accounts.export_users()  # same argon2 hashes
        alice = accounts.authenticate("alice", PASSWORDS["alice"])
        assert alice is not None and alice.id == users["alice"] and alice.is_admin
        assert accounts.authenticate("bob", PASSWORDS["bob"]) is not None
        assert accounts.session_user(embedded.live_token) == alice
        assert accounts.session_user(embedded.expired_token) is None
        assert accounts.create("carol", "yet another passphrase").id == max(users.values()) + 1
        # History: every page the same, times and references included.
        for user_id in users.values():
            assert history_pages(history, user_id) == history_pages(old_history, user_id)
        assert history.add(NewTurn(users["bob"], "r9", "normal", "새 질문", "답")).id == 6
        # Registry: states, shared flags, paths; times to the microsecond PostgreSQL keeps.
        copied, original = registry.all(), old_registry.all()
        assert [without_time(d) for d in copied] == [without_time(d) for d in original]
        assert [d.created_at for d in copied] == pytest.approx(
            [d.created_at for d in original], abs=1e-6
        )
        assert {d.state for d in copied} == {"ready", "queued"}
        assert [d.scope for d in copied if d.shared] == [TEAM_SCOPE]
        assert user_scope(users["alice"]) in {d.scope for d in copied}
    finally:
        for adapter in (old_accounts, accounts, old_history, history, old_registry, registry):
            adapter.close()

    # A second copy into the same database is refused and changes nothing.
    before = table_counts(pg_database)
    code, out, err = migrate(capsys, "--to", pg_database, "--data-dir", str(data_dir))
    assert code == 2
    assert "비어 있지 않아 복사하지 않았습니다" in err and "옮겨 온 데이터베이스입니다" in err
    assert "CREATE DATABASE" in err
    assert table_counts(pg_database) == before


def table_counts(url: str) -> dict[str, int]:
    tables = ["account_users", "account_sessions", "history_turns", "upload_documents",
              "store_units", "store_files", "store_skipped", "store_summary_cache",
              "migrate_runs"]  # fmt: skip
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}


# --- failures --------------------------------------------------------------------------------
def test_an_interrupted_copy_is_finished_by_running_it_again(
    embedded: Embedded,
    embedder: LocalEmbedder,
    pg_server: PgServer,
    pg_database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """A component fails whole (history: all or nothing); the database stopping between two
    batches of files leaves the batches written so far; either way the same command run
    again finishes the copy, and another data directory is refused meanwhile."""
    data_dir = str(embedded.data_dir)
    monkeypatch.setattr(store_copy, "BATCH_FILES", 1)  # one file per transaction
    monkeypatch.setattr(web_copy, "HISTORY_PAGE", 2)
    export_turns = SqliteHistory.export_turns

    def failing_page(self: SqliteHistory, after: int, limit: int) -> list[StoredTurn]:
        if after > 0:
            raise HistoryError("대화 기록 저장소 오류: disk I/O error")
        return export_turns(self, after, limit)

    with monkeypatch.context() as patch:
        patch.setattr(SqliteHistory, "export_turns", failing_page)
        code, _, err = migrate(capsys, "--to", pg_database, "--data-dir", data_dir)
    assert code == 2 and "disk I/O error" in err and "다시 실행하면 이어서 복사합니다" in err
    counts = table_counts(pg_database)
    assert counts["account_users"] == 2 and counts["history_turns"] == 0  # all or nothing

    import_files = PostgresStore.import_files
    batches: list[int] = []

    def stop_on_third(self: PostgresStore, files: Any) -> int:
        batches.append(len(files))
        if len(batches) == 3:
            pg_server.stop()  # the database goes away between two batches
        return import_files(self, files)

    with monkeypatch.context() as patch:
        patch.setattr(PostgresStore, "import_files", stop_on_third)
        code, _, err = migrate(capsys, "--to", pg_database, "--data-dir", data_dir)
    pg_server.start()
    assert code == 2 and "이어서 복사합니다" in err
    counts = table_counts(pg_database)
    assert counts["history_turns"] == 5 and counts["store_files"] == 2  # two batches written

    other = tmp_path / "other"
    other.mkdir()
    SqliteAccounts(other / WEB_DB).close()
    code, _, err = migrate(capsys, "--to", pg_database, "--data-dir", str(other))
    assert code == 2 and "옮기던 중 멈춘 데이터베이스입니다" in err

    code, out, err = migrate(capsys, "--to", pg_database, "--data-dir", data_dir)
    assert code == 0, err
    assert "이어서 복사합니다" in out and "이미 있던 파일 2개는 그대로" in out
    assert table_counts(pg_database)["migrate_runs"] == 1
    source = open_app(embedded_settings(embedded.data_dir), embedder)
    target = open_app(embedded_settings(tmp_path / "pg-data", pg_database), embedder)
    try:
        assert target.store.status() == source.store.status()
        assert target.docs.store.status() == source.docs.store.status()
        assert assert_same_code_search(source, target, embedded.users) > 30
    finally:
        source.close()
        target.close()


def test_dry_run_and_missing_target(
    embedded: Embedded, pg_database: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = migrate(capsys, "--to", pg_database, "--data-dir", str(embedded.data_dir),
                           "--dry-run")  # fmt: skip
    assert code == 0 and "아무것도 복사하지 않았습니다" in out and "사용자 2명" in out
    assert table_counts(pg_database)["account_users"] == 0
    code, _, err = migrate(capsys, "--data-dir", str(embedded.data_dir))
    assert code == 2 and "옮길 PostgreSQL 주소가 없습니다" in err
    code, _, err = migrate(capsys, "--to", pg_database, "--data-dir", str(tmp_path / "empty"))
    assert code == 2 and "옮길 내장 데이터가 없습니다" in err
