"""Who may use `/v1` and how much: API keys (web and store), owner scopes, revocation, rate
limits, error shapes and disconnects, through the official `openai` client and raw HTTP
against a real uvicorn. The LLM echoes its prompts, so any context the server retrieves for a
key comes back to that key's client and is caught here."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import socket
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionUserMessageParam

from ragcode.accounts.apikeys import ApiKeyStoreError
from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.protocol import ChatMessage
from tests.openai_support import LiveServer, RecordingLLM, live_server
from tests.server_support import PASSWORD, SlowLLM, wait_final

pytestmark = pytest.mark.integration

SECRET = "sk_live_ALICE_4f9a"
ALICE_CODE = f'''def charge_card(amount, card_number):
    """Charge a credit card payment through the payment gateway."""
    headers = {{"Authorization": "Bearer {SECRET}"}}
    return post_payment(amount, card_number, headers)
'''.encode()
ALICE_FAQ = (
    "질문,답변\n법인카드 한도는 얼마인가요?,월 500만원입니다. 내부 코드 ALICEDOC77\n".encode()
)
TEAM_CODE = '''def refund_payment(payment_id):
    """Refund a card payment by its id."""
    return gateway.refund(payment_id)
'''
ASK: ChatCompletionUserMessageParam = {
    "role": "user",
    "content": "카드 결제를 처리하는 함수를 만들어 줘",
}


def echo(messages: Sequence[ChatMessage]) -> str:
    return "\n".join(message.content for message in messages)


@pytest.fixture
def live(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[LiveServer]:
    with live_server(tmp_path / "data", RecordingLLM(echo), embedder) as server:
        yield server


def error_of(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert list(body) == ["error"], body
    error: dict[str, object] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def test_missing_wrong_and_malformed_keys_get_401(live: LiveServer) -> None:
    live.user_key("alice")
    for key in ("", "rck_0123456789ab_" + "x" * 43, "sk-not-ours"):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        for method, path in (("GET", "/v1/models"), ("POST", "/v1/chat/completions")):
            response = httpx.request(method, live.url + path, headers=headers, json={})
            assert response.status_code == 401, (key, path)
            error = error_of(response)
            assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_api_key")
            assert "API 키" in str(error["message"])
    with pytest.raises(openai.AuthenticationError) as refused:
        live.openai("rck_0123456789ab_" + "y" * 43).models.list()
    assert refused.value.status_code == 401 and refused.value.code == "invalid_api_key"


def test_invalid_bodies_get_400_and_unknown_models_404(live: LiveServer) -> None:
    client = live.openai(live.user_key("alice"))
    cases: list[tuple[Callable[[], object], str | None]] = [
        (lambda: client.chat.completions.create(model="ragcode-chat", messages=[]), "messages"),
        (lambda: client.chat.completions.create(
            model="ragcode-chat", messages=[{"role": "system", "content": "규칙"}]), "messages"),
        (lambda: client.chat.completions.create(
            model="ragcode-chat", messages=[{"role": "user", "content": "  "}]), "messages"),
        (lambda: client.chat.completions.create(
            model="ragcode-chat", messages=[ASK], n=2), "n"),
        (lambda: client.chat.completions.create(
            model="ragcode-chat", messages=[ASK], temperature=5), "temperature"),
    ]  # fmt: skip
    for call, param in cases:
        with pytest.raises(openai.BadRequestError) as bad:
            call()
        assert bad.value.status_code == 400 and bad.value.param == param
        assert bad.value.type == "invalid_request_error" and bad.value.code == "invalid_request"
        assert "요청 형식이 올바르지 않습니다" in bad.value.message
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-4o", messages=[ASK])
    assert missing.value.code == "model_not_found" and "ragcode-code" in missing.value.message
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")
    headers = {"Authorization": f"Bearer {client.api_key}", "Content-Type": "application/json"}
    url = f"{live.url}/v1/chat/completions"
    not_json = httpx.post(url, content=b"{not json", headers=headers)
    assert not_json.status_code == 400 and error_of(not_json)["code"] == "invalid_request"
    too_long = {"model": "ragcode-chat", "messages": [{"role": "user", "content": "가" * 9000}]}
    long_answer = httpx.post(url, json=too_long, headers=headers)
    assert error_of(long_answer)["code"] == "context_length_exceeded"
    huge = b'{"model": "ragcode-chat", "messages": [], "pad": "' + b"x" * 1_100_000 + b'"}'
    too_big = httpx.post(url, content=huge, headers=headers)
    assert too_big.status_code == 413 and error_of(too_big)["code"] == "request_too_large"


def raw_request(url: str, head: str) -> bytes:
    """Send request headers that promise a 50 MB body and none of it; what comes back."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode())
        return sock.recv(65536)


def test_the_key_is_checked_before_the_body_is_read(live: LiveServer) -> None:
    key = live.user_key("alice")
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: 50000000\r\n{auth}\r\n"
    )
    started = time.monotonic()
    assert raw_request(live.url, head.format(auth="")).startswith(b"HTTP/1.1 401")
    wrong = head.format(auth="Authorization: Bearer rck_0123456789ab_" + "x" * 43 + "\r\n")
    assert raw_request(live.url, wrong).startswith(b"HTTP/1.1 401")
    # A good key with a declared body past the cap: refused before reading it too.
    good = head.format(auth=f"Authorization: Bearer {key}\r\n")
    assert raw_request(live.url, good).startswith(b"HTTP/1.1 413")
    assert time.monotonic() - started < 10  # none of them waited for the 50 MB


def test_a_key_sees_what_its_user_sees(live: LiveServer) -> None:
    team = live.core.settings.data_dir.parent / "team"
    team.mkdir()
    (team / "refunds.py").write_text(TEAM_CODE, encoding="utf-8")
    live.core.indexer.index(team)
    alice = live.session("alice")
    for name, data in (("payments.py", ALICE_CODE), ("policy.csv", ALICE_FAQ)):
        upload = alice.post("/api/documents", files={"file": (name, data)})
        assert upload.status_code == 202, upload.text
        assert wait_final(alice, str(upload.json()["id"]), timeout_s=120)["state"] == "ready"  # type: ignore[arg-type]
    alice_client = live.openai(str(live.new_key(alice)["key"]))
    bob_client = live.openai(live.user_key("bob"))

    # Positive controls: Alice's key reaches her private code and document; both see the team's.
    mine = alice_client.chat.completions.create(model="ragcode-code", messages=[ASK])
    paths = {ref["path"] for ref in (mine.model_extra or {})["ragcode_references"]}
    assert any(p.endswith("payments.py") for p in paths) and "refunds.py" in paths
    assert SECRET in (mine.choices[0].message.content or "")
    faq = alice_client.chat.completions.create(
        model="ragcode-docs", messages=[{"role": "user", "content": "법인카드 한도는 얼마인가요?"}]
    )
    assert "ALICEDOC77" in (faq.choices[0].message.content or "")

    alice_things = (SECRET, "charge_card", "payments.py", "ALICEDOC77", "policy.csv")
    for model in ("ragcode-code", "ragcode-docs", "ragcode-chat"):
        for question in (ASK["content"], "법인카드 한도는 얼마인가요?"):
            messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": question}]
            whole = bob_client.chat.completions.create(model=model, messages=messages)
            streamed = list(
                bob_client.chat.completions.create(model=model, messages=messages, stream=True)
            )
            received = whole.model_dump_json() + "".join(c.model_dump_json() for c in streamed)
            leaked = [thing for thing in alice_things if thing in received]
            assert not leaked, (model, question, leaked)
    theirs = bob_client.chat.completions.create(model="ragcode-code", messages=[ASK])
    assert "refunds.py" in {r["path"] for r in (theirs.model_extra or {})["ragcode_references"]}


def test_revoked_keys_and_removed_users_fail_at_once(live: LiveServer) -> None:
    alice = live.session("alice")
    created = live.new_key(alice, "노트북")
    client = live.openai(str(created["key"]))
    assert client.models.list().data
    assert alice.delete(f"/api/apikeys/{created['id']}").status_code == 204
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    carol_client = live.openai(live.user_key("carol"))
    assert carol_client.models.list().data
    live.state.accounts.remove("carol")
    with pytest.raises(openai.AuthenticationError):
        carol_client.models.list()


def test_web_keys_are_per_user_shown_once_and_stored_hashed(live: LiveServer) -> None:
    alice, bob = live.session("alice"), live.session("bob")
    response = alice.post("/api/apikeys", json={"name": "노트북의 Continue"})
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"  # the key's only copy: no cache
    created = response.json()
    key = str(created["key"])
    assert set(created) == {"id", "name", "created_at", "key"} and key.startswith("rck_")
    listed = alice.get("/api/apikeys").json()["keys"]
    assert listed == [{k: created[k] for k in ("id", "name", "created_at")}]
    assert bob.get("/api/apikeys").json() == {"keys": []}
    assert bob.delete(f"/api/apikeys/{created['id']}").status_code == 404  # not bob's
    assert httpx.get(f"{live.url}/api/apikeys").status_code == 401  # no session
    too_long = alice.post("/api/apikeys", json={"name": "x" * 65})
    assert too_long.status_code == 400 and "64자 이하" in too_long.json()["detail"]
    # The label rule applies once, to the NFKC form: 40 Hangul syllables typed as 80 jamo
    # (a decomposing keyboard or file system) are 40 characters, and fine.
    decomposed = unicodedata.normalize("NFD", "가" * 40)
    assert len(decomposed) == 80
    fine = alice.post("/api/apikeys", json={"name": decomposed})
    assert fine.status_code == 201 and fine.json()["name"] == "가" * 40
    expanded = alice.post("/api/apikeys", json={"name": "\ufdfa" * 4})  # 4 -> 72 characters
    assert expanded.status_code == 400 and "64자 이하" in expanded.json()["detail"]
    assert live.openai(key).models.list().data  # bob's attempt left it working
    # Hashed at rest: neither the key nor its secret is in any file of the data directory
    # (the SQLite database and its write-ahead log), its SHA-256 is.
    stored = b"".join(p.read_bytes() for p in live.core.settings.data_dir.glob("web.sqlite3*"))
    secret = key.split("_", 2)[2]  # the secret may itself hold "_" (token_urlsafe)
    assert key == f"rck_{created['id']}_{secret}"
    assert key.encode() not in stored and secret.encode() not in stored
    assert hashlib.sha256(key.encode()).hexdigest().encode() in stored


def test_rate_limit_per_key_holds_under_concurrency(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    limits = {"requests_per_window": 5, "window_s": 60}
    with live_server(tmp_path / "data", RecordingLLM(echo), embedder, api=limits) as live:
        session = live.session("alice")
        first, second = (str(live.new_key(session)["key"]) for _ in range(2))
        barrier = threading.Barrier(12)
        responses: list[httpx.Response] = []

        def call() -> None:
            barrier.wait()
            headers = {"Authorization": f"Bearer {first}"}
            responses.append(httpx.get(f"{live.url}/v1/models", headers=headers, timeout=30))

        threads = [threading.Thread(target=call) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] * 5 + [429] * 7
        limited = next(r for r in responses if r.status_code == 429)
        error = error_of(limited)
        assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded")
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        with pytest.raises(openai.RateLimitError):
            live.openai(first).chat.completions.create(model="ragcode-chat", messages=[ASK])
        # Per user: another key of the same user is over the limit too, another user is not.
        with pytest.raises(openai.RateLimitError):
            live.openai(second).models.list()
        assert live.openai(live.user_key("bob")).models.list().data


def wait_for(condition: Callable[[], bool], timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_a_client_that_leaves_stops_the_generation(tmp_path: Path, embedder: LocalEmbedder) -> None:
    llm = SlowLLM(tokens=3000, pause_s=0.02)
    with live_server(tmp_path / "data", llm, embedder, max_requests_in_flight=1) as live:
        user = live.session("alice")
        key = str(live.new_key(user)["key"])
        client = live.openai(key)
        user_id = live.state.accounts.authenticate("alice", "correct horse battery").id  # type: ignore[union-attr]
        stream = client.chat.completions.create(model="ragcode-chat", messages=[ASK], stream=True)
        for _, _chunk in zip(range(4), stream, strict=False):
            pass
        # The user's one request in flight is taken: the next is refused, OpenAI-style.
        with pytest.raises(openai.RateLimitError) as busy:
            client.chat.completions.create(model="ragcode-chat", messages=[ASK])
        assert busy.value.code == "too_many_requests_in_flight"
        stream.close()
        wait_for(lambda: llm.closed == 1)
        wait_for(lambda: live.state.hub.in_flight(user_id) == 0)
        # A whole (non-streamed) answer whose client gives up is stopped as well.
        with pytest.raises(openai.APITimeoutError):
            live.openai(key, timeout=1.0).chat.completions.create(
                model="ragcode-chat", messages=[ASK]
            )
        wait_for(lambda: llm.closed == 2)
        wait_for(lambda: live.state.hub.in_flight(user_id) == 0)
        assert llm.finished == 0 and llm.started == 2


def test_replicas_share_keys_and_rate_limits(
    tmp_path: Path, embedder: LocalEmbedder, pg_database: str
) -> None:
    """Two servers on one PostgreSQL database: a key made on one works on the other, its
    requests are counted together, and a revocation on one refuses it on both at once."""
    limits = {"requests_per_window": 4, "window_s": 60}
    with (
        live_server(
            tmp_path / "a", RecordingLLM(echo), embedder, api=limits, store_url=pg_database
        ) as a,
        live_server(
            tmp_path / "b", RecordingLLM(echo), embedder, api=limits, store_url=pg_database
        ) as b,
    ):
        session = a.session("alice")
        created = a.new_key(session)
        on_a, on_b = a.openai(str(created["key"])), b.openai(str(created["key"]))
        assert on_b.models.list().data and on_a.models.list().data
        assert on_b.chat.completions.create(model="ragcode-chat", messages=[ASK]).choices
        assert on_a.models.list().data  # the fourth request of the window, over two replicas
        for client in (on_a, on_b):
            with pytest.raises(openai.RateLimitError):
                client.models.list()
        # Revoked through replica b's web API (the same session cookie): refused on a at once.
        revoked = httpx.delete(
            f"{b.url}/api/apikeys/{created['id']}", cookies=dict(session.cookies)
        )
        assert revoked.status_code == 204
        with pytest.raises(openai.AuthenticationError):
            on_a.models.list()


def test_two_keys_of_one_user_share_the_user_limit(tmp_path: Path, embedder: LocalEmbedder) -> None:
    """Twenty keys must not make twenty times the requests: each request is counted on its
    key and on its user in one reservation."""
    limits = {"requests_per_window": 4, "window_s": 60}
    with live_server(tmp_path / "data", RecordingLLM(echo), embedder, api=limits) as live:
        session = live.session("alice")
        first, second = (live.openai(str(live.new_key(session)["key"])) for _ in range(2))
        for client in (first, second, first, second):
            assert client.models.list().data
        for client in (first, second):
            with pytest.raises(openai.RateLimitError) as limited:
                client.models.list()
            assert limited.value.code == "rate_limit_exceeded"
            assert "사용자당 모든 키를 합쳐" in limited.value.message
        third = live.openai(str(live.new_key(session)["key"]))
        with pytest.raises(openai.RateLimitError):
            third.models.list()  # a new key does not start a new count either
        assert live.openai(live.user_key("bob")).models.list().data  # another user: untouched


WRONG_KEY = "rck_0123456789ab_" + "x" * 43  # shaped like a key, unknown


def test_failed_key_attempts_are_limited_per_client(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    """Guessing keys costs a failed attempt of the client address, reserved before the
    look-up (as logins are); good keys give theirs back, and logins keep their own count."""
    with live_server(
        tmp_path / "data", RecordingLLM(echo), embedder, login_client_max_failures=3
    ) as live:
        session = live.session("alice")
        key = str(live.new_key(session)["key"])
        models = f"{live.url}/v1/models"
        for _ in range(5):  # more than the limit: a good key is not a failed attempt
            assert httpx.get(models, headers={"Authorization": f"Bearer {key}"}).status_code == 200
        for _ in range(3):
            refused = httpx.get(models, headers={"Authorization": f"Bearer {WRONG_KEY}"})
            assert refused.status_code == 401
        for attempt in (WRONG_KEY, key):  # from now on the address is refused, key or not
            limited = httpx.get(models, headers={"Authorization": f"Bearer {attempt}"})
            assert limited.status_code == 429
            error = error_of(limited)
            assert (error["type"], error["code"]) == (
                "rate_limit_error",
                "too_many_failed_attempts",
            )
            assert "올바르지 않은 API 키" in str(error["message"])
            assert 1 <= int(limited.headers["Retry-After"]) <= 300
        with pytest.raises(openai.RateLimitError):
            live.openai(key).chat.completions.create(model="ragcode-chat", messages=[ASK])
        # Failed key attempts are not failed logins: the web login from here still works.
        login = httpx.post(
            f"{live.url}/api/login", json={"username": "alice", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text


def test_keys_not_shaped_like_ours_never_reach_the_key_store(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused on the event loop: no thread, no database call, no failed attempt counted."""
    keys = live.state.stores.api_keys
    looked_up: list[str] = []
    authenticate = keys.authenticate

    def counted(key: str) -> object:
        looked_up.append(key)
        return authenticate(key)

    monkeypatch.setattr(keys, "authenticate", counted)
    for malformed in ("sk-not-ours", "rck_short", "rck_0123456789ab-" + "x" * 43, "x" * 500):
        response = httpx.get(
            f"{live.url}/v1/models", headers={"Authorization": f"Bearer {malformed}"}
        )
        assert response.status_code == 401 and error_of(response)["code"] == "invalid_api_key"
    assert looked_up == []
    response = httpx.get(f"{live.url}/v1/models", headers={"Authorization": f"Bearer {WRONG_KEY}"})
    assert response.status_code == 401 and looked_up == [WRONG_KEY]


def test_v1_takes_bearer_keys_from_any_origin_and_never_the_session_cookie(
    live: LiveServer,
) -> None:
    alice = live.session("alice")
    created = live.new_key(alice, "브라우저")
    key, foreign = str(created["key"]), {"Origin": "https://elsewhere.example"}
    bearer = {"Authorization": f"Bearer {key}"}
    chat = {"model": "ragcode-chat", "messages": [ASK]}
    # /v1: a key is all it takes, whatever page the request comes from.
    answered = httpx.post(
        f"{live.url}/v1/chat/completions", json=chat, headers={**foreign, **bearer}, timeout=60
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["choices"][0]["message"]["content"]
    # ... and the session cookie is no key there.
    for method, path in (("GET", "/v1/models"), ("POST", "/v1/chat/completions")):
        response = alice.request(method, path, json=chat)
        assert response.status_code == 401, path
        assert error_of(response)["code"] == "invalid_api_key"
    # /api/apikeys: the session only, from our own pages only.
    stolen = alice.post("/api/apikeys", json={"name": "x"}, headers=foreign)
    assert stolen.status_code == 403
    dropped = alice.delete(f"/api/apikeys/{created['id']}", headers=foreign)
    assert dropped.status_code == 403
    assert [k["id"] for k in alice.get("/api/apikeys").json()["keys"]] == [created["id"]]
    for method in ("GET", "POST"):
        response = httpx.request(
            method, f"{live.url}/api/apikeys", json={"name": "y"}, headers=bearer
        )
        assert response.status_code == 401, method
    gone = httpx.delete(f"{live.url}/api/apikeys/{created['id']}", headers=bearer)
    assert gone.status_code == 401
    assert live.openai(key).models.list().data  # none of it touched the key


def test_unknown_paths_and_methods_under_v1_get_openai_errors(live: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {live.user_key('alice')}"}
    for path in ("/v1/completions", "/v1/embeddings", "/v1", "/v1/", "/v1/models/a/b"):
        for auth in (headers, {}):
            response = httpx.post(f"{live.url}{path}", json={}, headers=auth)
            assert response.status_code == 404, path
            error = error_of(response)
            assert (error["type"], error["code"]) == ("invalid_request_error", "unknown_url")
            assert "없는 주소" in str(error["message"])
    for method, path, allowed in (
        ("GET", "/v1/chat/completions", "POST"),
        ("DELETE", "/v1/models", "GET"),
        ("PUT", "/v1/models/ragcode-chat", "GET"),
    ):
        response = httpx.request(method, f"{live.url}{path}", headers=headers)
        assert response.status_code == 405, (method, path)
        assert error_of(response)["code"] == "method_not_allowed"
        assert response.headers["allow"] == allowed
    assert httpx.get(f"{live.url}/api/nothing").json() == {"detail": "Not Found"}  # not /v1


def test_key_store_failures_are_a_503_without_database_details(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = live.session("alice")

    def locked(*_args: object, **_kwargs: object) -> object:
        raise ApiKeyStoreError("API 키 저장소 오류: database is locked")

    for method in ("create", "list_keys", "revoke"):
        monkeypatch.setattr(live.state.stores.api_keys, method, locked)
    for response in (
        alice.post("/api/apikeys", json={"name": "n"}),
        alice.get("/api/apikeys"),
        alice.delete("/api/apikeys/0123456789ab"),
    ):
        assert response.status_code == 503, response.text
        assert "잠시 후 다시 시도" in response.json()["detail"]
        assert "database is locked" not in response.text


# --- a stream's slot in flight, driven through ASGI ------------------------------------------
def chat_scope(key: str, body: bytes) -> dict[str, Any]:
    """A streamed chat request as an ASGI 2.4 server hands it over."""
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
        "query_string": b"", "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"), (b"authorization", f"Bearer {key}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
    }  # fmt: skip


async def request_and_leave(
    app: Any, key: str, body: bytes, leave_on: str, before_leaving: asyncio.Barrier | None = None
) -> list[dict[str, Any]]:
    """One request whose client closes the connection when the server sends a `leave_on`
    message: that send fails (ASGI 2.4: OSError) and `receive` reports the disconnect."""
    delivered, gone = False, asyncio.Event()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == leave_on:
            if before_leaving is not None:
                await before_leaving.wait()
            gone.set()
            raise OSError("the client closed the connection")

    with contextlib.suppress(Exception):  # the server's own report of the broken send
        await app(chat_scope(key, body), receive, send)
    return sent


def test_a_stream_left_before_its_first_token_gives_its_slot_back(
    tmp_path: Path, embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client goes away before the first token (before the response starts, then after
    the role chunk while the model is still thinking): by the time the response has ended the
    user's slot is back, given back once and on the event loop, the user can run
    `max_requests_in_flight` requests again, and the model stops."""
    from ragcode.app import build_app
    from ragcode.config import Settings
    from ragcode.server.factory import create_app
    from tests.server_support import TEST_HOSTS

    llm = SlowLLM(tokens=200, pause_s=0.3)  # the first token takes 0.3 s
    settings = Settings(
        data_dir=tmp_path / "data", search={"expand_query": False},
        documents={"local_embedder": "use"},
        server={"allowed_hosts": TEST_HOSTS, "summarize": False, "max_requests_in_flight": 2},
    )  # fmt: skip
    core = build_app(settings, llm=llm, embedder=embedder)
    app = create_app(core)
    state = app.state.server
    try:
        user = state.accounts.create("alice", PASSWORD)
        key = state.stores.api_keys.create(user.id, "", max_per_user=5).key
        body = json.dumps({"model": "ragcode-chat", "stream": True, "messages": [ASK]}).encode()
        released_on: list[int] = []
        end_request = state.hub.end_request

        def counted(user_id: int) -> None:
            released_on.append(threading.get_ident())
            end_request(user_id)

        monkeypatch.setattr(state.hub, "end_request", counted)

        async def scenario() -> list[int]:
            loop_thread = threading.get_ident()
            sent = await request_and_leave(app, key, body, "http.response.start")
            assert [m["type"] for m in sent] == ["http.response.start"]
            assert sent[0]["status"] == 200
            assert state.hub.in_flight(user.id) == 0  # back when the response ended
            assert released_on == [loop_thread]

            sent = await request_and_leave(app, key, body, "http.response.body")
            assert b'"role":"assistant"' in sent[-1]["body"] and len(sent) == 2
            assert state.hub.in_flight(user.id) == 0
            assert released_on == [loop_thread] * 2  # once each, on the loop

            # Not locked out: as many streams at once as the cap allows are all admitted.
            together = asyncio.Barrier(2)
            both = await asyncio.gather(*(
                request_and_leave(app, key, body, "http.response.body", together)
                for _ in range(2)
            ))  # fmt: skip
            assert state.hub.in_flight(user.id) == 0
            return [sent[0]["status"] for sent in both]

        assert asyncio.run(scenario()) == [200, 200]
        wait_for(lambda: llm.closed == llm.started)
        assert llm.finished == 0  # every generation that started was stopped
    finally:
        state.close()
        core.close()
