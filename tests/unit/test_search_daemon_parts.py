"""The search daemon's parts without processes: request handling, peer and file checks,
the light settings probe, and the printing shared by daemon and in-process hits."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from ragcode import cli_search
from ragcode.cli import _is_search
from ragcode.config import load_settings
from ragcode.config_files import resolve_data_dir, setting_flag
from ragcode.domain import Hit, Record, Scores, UnitKind
from ragcode.search_daemon.paths import make_private_dir, private_dir_ok, socket_address, socket_ok
from ragcode.search_daemon.peer import peer_uid, same_user
from ragcode.search_daemon.service import SearchService
from ragcode.search_daemon.wire import settings_fingerprint

pytestmark = pytest.mark.unit
DATA = Path("/srv/ragcode-data")


class FakeSearch:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, bool]] = []
        self.fail = False

    def __call__(self, query: str, top_k: int, expand: bool) -> list[dict[str, Any]]:
        self.calls.append((query, top_k, expand))
        if self.fail:
            raise RuntimeError("store broke")
        return [{"path": "a.py", "rank": rank} for rank in range(top_k)]


def request(**fields: object) -> bytes:
    base: dict[str, object] = {
        "v": 1, "op": "search", "data_dir": str(DATA), "settings": "fp", "query": "질문",
        "top_k": 2, "expand": True,
    }  # fmt: skip
    return json.dumps({**base, **fields}).encode()


def test_service_answers_a_valid_search() -> None:
    search = FakeSearch()
    outcome = SearchService(search, DATA, "fp").handle(request())
    assert outcome.reply == {
        "ok": True,
        "hits": [{"path": "a.py", "rank": 0}, {"path": "a.py", "rank": 1}],
    }
    assert not outcome.stop and search.calls == [("질문", 2, True)]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (None, "too_large"),
        (b"{", "bad_request"),
        (b"\xff", "bad_request"),
        (b'"text"', "bad_request"),
        (request(v=2), "bad_request"),
        (request(op="exec"), "bad_request"),
        (request(data_dir="/other"), "wrong_data_dir"),
        (request(query=""), "bad_request"),
        (request(query=3), "bad_request"),
        (request(top_k=0), "bad_request"),
        (request(top_k=1001), "bad_request"),
        (request(top_k=2.5), "bad_request"),
        (request(top_k=False), "bad_request"),
        (request(expand=None), "bad_request"),
    ],
)
def test_service_refuses_malformed_requests(raw: bytes | None, code: str) -> None:
    search = FakeSearch()
    outcome = SearchService(search, DATA, "fp").handle(raw)
    assert outcome.reply["ok"] is False and outcome.reply["error"] == code
    assert outcome.reply["message"] and not outcome.stop and search.calls == []


def test_service_stops_for_other_settings_and_on_request() -> None:
    service = SearchService(FakeSearch(), DATA, "fp")
    changed = service.handle(request(settings="another"))
    assert changed.reply["error"] == "settings_changed" and changed.stop
    assert service.handle(request(op="stop")).stop
    assert service.handle(request(op="ping")).reply == {"ok": True}


def test_a_failed_search_is_an_error_reply_not_the_end() -> None:
    search = FakeSearch()
    service = SearchService(search, DATA, "fp")
    search.fail = True
    failed = service.handle(request())
    assert failed.reply == {"ok": False, "error": "search_failed", "message": "store broke"}
    search.fail = False
    assert service.handle(request()).reply["ok"] is True


def test_peer_check_accepts_only_the_same_uid() -> None:
    own = os.getuid()
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        assert peer_uid(left) == own
    assert same_user(own, own)
    assert not same_user(own + 1, own)
    assert not same_user(None, own)
    assert not same_user(0, 1000)  # root is another user too


def test_run_dir_and_socket_must_be_private(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o755)
    run_dir.chmod(0o755)
    assert not private_dir_ok(run_dir)
    assert make_private_dir(run_dir) and private_dir_ok(run_dir)
    assert not make_private_dir(tmp_path / "missing" / "run")  # no data dir: no daemon
    link = tmp_path / "link"
    link.symlink_to(run_dir)
    assert not private_dir_ok(link)

    path = run_dir / "s.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        path.chmod(0o600)
        assert socket_ok(path)
        path.chmod(0o660)
        assert not socket_ok(path)
    plain = run_dir / "file"
    plain.write_text("x")
    plain.chmod(0o600)
    assert not socket_ok(plain)


def test_settings_probe_follows_env_then_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAGCODE_CONFIG", raising=False)
    monkeypatch.delenv("RAGCODE_SEARCH__DAEMON", raising=False)
    assert setting_flag("search", "daemon", tmp_path, True) is True
    (tmp_path / "ragcode.toml").write_text("[search]\ndaemon = false\n")
    assert setting_flag("search", "daemon", tmp_path, True) is False
    assert load_settings(data_dir=tmp_path).search.daemon is False  # the same answer
    monkeypatch.setenv("ragcode_search__daemon", "On")
    assert setting_flag("search", "daemon", tmp_path, True) is True
    monkeypatch.setenv("ragcode_search__daemon", "maybe")
    assert setting_flag("search", "daemon", tmp_path, True) is None


def test_data_dir_resolution_matches_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAGCODE_DATA_DIR", str(tmp_path / "env-dir"))
    assert resolve_data_dir(Path("rel")) == tmp_path / "rel"
    assert resolve_data_dir(None) == tmp_path / "env-dir"
    assert load_settings().data_dir == resolve_data_dir(None)


def test_fingerprint_follows_env_and_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAGCODE_CONFIG", raising=False)
    first = settings_fingerprint(tmp_path)
    assert settings_fingerprint(tmp_path) == first
    monkeypatch.setenv("HOME_UNRELATED", "x")
    assert settings_fingerprint(tmp_path) == first
    monkeypatch.setenv("RAGCODE_LLM__MODEL", "qwen2.5-coder-1.5b")
    with_env = settings_fingerprint(tmp_path)
    assert with_env != first
    (tmp_path / "ragcode.toml").write_text("[search]\ntop_k = 3\n")
    assert settings_fingerprint(tmp_path) != with_env
    assert settings_fingerprint(tmp_path / "other") != first


def test_search_fast_path_detection() -> None:
    assert _is_search(["search", "q"]) and _is_search(["-v", "search", "q"])
    assert not _is_search(["index", "search"]) and not _is_search([]) and not _is_search(["--help"])


def test_hits_print_as_before(capsys: pytest.CaptureFixture[str]) -> None:
    record = Record(
        path="app/mailer.py", title="Mailer.send_email", kind=UnitKind.METHOD, language="python",
        start_line=12, end_line=20, body="\n    def send_email(self, to):\n        pass\n",
    )  # fmt: skip
    scores = Scores(vector=0.5, lexical=None, fused=0.1544, rerank=0.3991, final=0.6449)
    hits = [Hit(record, "메일을 보낸다", scores), Hit(record, None, scores)]
    cli_search.print_hits(json.loads(json.dumps([hit.as_dict() for hit in hits])), as_json=False)
    assert capsys.readouterr().out == (
        "1. app/mailer.py:12-20  Mailer.send_email (method)\n"
        "   점수 0.645 (재순위 0.399, 융합 0.154)\n"
        "   요약: 메일을 보낸다\n"
        "   def send_email(self, to):\n"
        "2. app/mailer.py:12-20  Mailer.send_email (method)\n"
        "   점수 0.645 (재순위 0.399, 융합 0.154)\n"
        "   def send_email(self, to):\n"
    )
    cli_search.print_hits([], as_json=False)
    assert capsys.readouterr().out == "관련된 코드를 찾지 못했습니다.\n"
    from_repo = Record(
        path="src/orders.py", title="load_orders", kind=UnitKind.FUNCTION, language="python",
        start_line=1, end_line=2, body="def load_orders():\n    return []\n",
        metadata={"repo": "shop", "commit": "0123456789abcdef" * 2 + "01234567"},
    )  # fmt: skip
    cli_search.print_hits([Hit(from_repo, None, scores).as_dict()], as_json=False)
    assert capsys.readouterr().out.splitlines()[0] == (
        "1. shop@0123456789ab src/orders.py:1-2  load_orders (function)"
    )


def test_long_socket_paths_are_reached_through_the_directory(tmp_path: Path) -> None:
    run_dir = tmp_path / ("d" * 60) / ("e" * 60)
    run_dir.mkdir(parents=True)
    path = run_dir / "search.sock"
    assert len(str(path)) > 108  # too long for sockaddr_un itself
    with socket.socket(socket.AF_UNIX) as listener:
        with socket_address(path) as address:
            listener.bind(address)
        listener.listen(1)
        assert path.is_socket()  # bound at the long path itself
        with socket.socket(socket.AF_UNIX) as caller, socket_address(path) as address:
            caller.connect(address)
            accepted, _ = listener.accept()
            with accepted:
                assert peer_uid(accepted) == os.getuid()
