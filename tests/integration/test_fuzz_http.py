"""Property-based fuzzing of the HTTP API: bodies, parameters, cookies, uploads.

Whatever arrives (any JSON or none, huge or odd strings, unicode, nulls, arbitrary file names
and bytes, arbitrary ids), the server answers with a 2xx/4xx and a body without a traceback,
and it still answers `/api/me` for the logged-in user afterwards. Derandomized and without an
example database, so CI runs the same bounded set every time (~100 examples per endpoint).
"""

from __future__ import annotations

import hashlib
import io
import json
import operator
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx2
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragcode.app import build_app
from ragcode.config import DocumentSettings, ServerSettings, Settings
from ragcode.embeddings.protocol import Vectors
from ragcode.history.protocol import NewTurn
from ragcode.server.deps import SESSION_COOKIE
from ragcode.server.factory import create_app
from ragcode.server.state import ServerState
from tests.scripted_llm import ScriptedLLM
from tests.server_support import TEST_HOSTS, signup

pytestmark = pytest.mark.integration

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)  # fmt: skip


class HashEmbedder:
    """Cheap deterministic vectors: uploads are ingested in the background while we fuzz."""

    name = "fuzz-hash-16"
    dim = 16

    def embed(self, texts: Sequence[str]) -> Vectors:
        rows = [
            np.frombuffer(hashlib.sha256(t.encode("utf-8", "replace")).digest()[:16], np.uint8)
            for t in texts
        ]
        array = np.array(rows, dtype=np.float32).reshape(len(texts), self.dim) + 1.0
        vectors: Vectors = array / np.linalg.norm(array, axis=1, keepdims=True)
        return vectors


@dataclass
class Web:
    api: FastAPI
    alice: TestClient  # logged in; must stay logged in through everything
    bob: TestClient  # another user, whose upload alice must not reach
    anon: TestClient  # no session of its own (cookies cleared per example)

    @property
    def state(self) -> ServerState:
        state: ServerState = self.api.state.server
        return state


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    data = tmp_path_factory.mktemp("fuzz") / "data"
    config = Settings(
        data_dir=data,
        server=ServerSettings(allowed_hosts=TEST_HOSTS),
        documents=DocumentSettings(local_embedder="use"),  # no e5 model to load
    )
    core = build_app(config, llm=ScriptedLLM(lambda _m: "ok"), embedder=HashEmbedder())
    api = create_app(core)
    alice = TestClient(api, raise_server_exceptions=False)
    try:
        with alice:
            signup(alice, "alice")
            bob = TestClient(api, raise_server_exceptions=False)
            signup(bob, "bob")  # before the fuzzing uses up the sign-ups per client address
            anon = TestClient(api, raise_server_exceptions=False)
            yield Web(api, alice, bob, anon)
    finally:
        core.close()


def assert_handled(response: httpx2.Response) -> int:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    assert "Traceback" not in response.text and 'File "' not in response.text, response.text
    return response.status_code


def assert_reached(seen: set[int], expected: set[int]) -> None:
    """The fuzzing got past the front door (a Host check or a lost session answering
    everything with one status would make "never a 500" hold trivially)."""
    assert expected <= seen, f"statuses seen: {sorted(seen)}, expected at least {expected}"


def assert_alive(web: Web) -> None:
    me = web.alice.get("/api/me")
    assert me.status_code == 200 and me.json()["username"] == "alice", me.text


# --- strategies ---------------------------------------------------------------------------
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
PIECES = ["a", "가", "\x00", "😀", "\u202e", "' OR 1=1 --", "%s%n", "../", "\ufeff", "e\u0301"]
HUGE = st.builds(
    operator.mul, st.sampled_from(PIECES), st.sampled_from([1, 3, 33, 65, 257, 5000, 200_000])
)
STRINGS = st.text() | HUGE | st.from_regex(r"[A-Za-z0-9._\-가-힣]{1,40}", fullmatch=True)
FIELD = STRINGS | JSON_VALUES
CREDENTIALS = st.fixed_dictionaries(
    {"username": FIELD, "password": FIELD}, optional={"remember": JSON_VALUES}
)
# Plausible accounts, so that hashing, duplicates and the rate limits are reached too.
PLAUSIBLE = st.fixed_dictionaries(
    {
        "username": st.from_regex(r"[a-z][a-z0-9._\-]{2,10}", fullmatch=True),
        "password": st.text(min_size=8, max_size=40),
    }
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json", "text/plain", "application/x-www-form-urlencoded",
        "multipart/form-data", "multipart/form-data; boundary=xyz",
        "application/json; charset=utf-16", "",
    ]
)  # fmt: skip


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    """A request body and its headers: JSON (valid or not), or arbitrary bytes."""
    kind = draw(st.sampled_from(["credentials", "plausible", "json", "bytes"]))
    if kind == "bytes":
        data = draw(st.binary(max_size=2000))
    else:
        value = draw(
            {"credentials": CREDENTIALS, "plausible": PLAUSIBLE, "json": JSON_VALUES}[kind]
        )
        data = json.dumps(value, ensure_ascii=draw(st.booleans())).encode("utf-8")
    content_type = draw(CONTENT_TYPES)
    return data, ({"content-type": content_type} if content_type else {})


ASCII_COOKIE = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=';,"\\'),
    max_size=300,
)


# --- tests --------------------------------------------------------------------------------
def test_signup_and_login_survive_any_body(web: Web) -> None:
    seen: set[int] = set()

    @FUZZ
    @given(path=st.sampled_from(["/api/signup", "/api/login"]), body=bodies())
    def run(path: str, body: tuple[bytes, dict[str, str]]) -> None:
        web.anon.cookies.clear()
        data, headers = body
        seen.add(assert_handled(web.anon.post(path, content=data, headers=headers)))

    run()
    assert_reached(seen, {201, 400, 401, 422, 429})
    assert_alive(web)


def test_logout_and_me_survive_any_cookie_and_body(web: Web) -> None:
    real = str(web.alice.cookies.get(SESSION_COOKIE) or "")
    assert real

    @st.composite
    def tampered(draw: st.DrawFn) -> str:
        """Alice's real signed cookie with one change: never a valid session."""
        position = draw(st.integers(0, len(real) - 1))
        how = draw(st.sampled_from(["flip", "cut", "append"]))
        if how == "cut":
            return real[:position]
        if how == "append":
            return real + draw(ASCII_COOKIE)
        replacement = draw(st.sampled_from("AZaz09-_.:="))
        return real[:position] + replacement + real[position + 1 :]

    cookies = ASCII_COOKIE | st.sampled_from(["", "null", "a" * 8000]) | tampered()
    seen: set[int] = set()

    @FUZZ
    @given(cookie=cookies, body=bodies(), logout=st.booleans())
    def run(cookie: str, body: tuple[bytes, dict[str, str]], logout: bool) -> None:
        web.anon.cookies.clear()
        data, headers = body
        headers = {**headers, "cookie": f"{SESSION_COOKIE}={cookie}"}
        if web.state.session_token(cookie) == web.state.session_token(real):
            return  # the same signed token (same character, or base64's unused low bits)
        if logout:
            seen.add(assert_handled(web.anon.post("/api/logout", content=data, headers=headers)))
        else:
            me = web.anon.get("/api/me", headers=headers)
            seen.add(assert_handled(me))
            assert me.status_code == 401, me.text  # a tampered cookie never logs anyone in

    run()
    assert_reached(seen, {204, 401})
    assert_alive(web)  # no tampered cookie closed alice's session


NUMBERISH = (
    st.integers(-(2**70), 2**70).map(str)
    | st.text(max_size=30)
    | st.sampled_from(["", "1e3", "0x10", " 5", "+5", "٥", "5.0", "9223372036854775808", "-0"])
)


def test_history_page_survives_any_parameters(web: Web) -> None:
    user = web.state.user_from_cookie(web.alice.cookies.get(SESSION_COOKIE))
    assert user is not None
    for n in range(5):
        web.state.history.add(NewTurn(user.id, f"seed{n}", "normal", f"질문 {n}", f"답 {n}"))
    seen: set[int] = set()

    @FUZZ
    @given(
        params=st.lists(
            st.tuples(st.sampled_from(["limit", "before", "other"]), NUMBERISH), max_size=4
        )
    )
    def run(params: list[tuple[str, str | int | float | bool | None]]) -> None:  # httpx2's type
        response = web.alice.get("/api/history", params=params)
        seen.add(assert_handled(response))
        if response.status_code == 200:
            page = response.json()
            assert isinstance(page["turns"], list)
            assert page["next_before"] is None or isinstance(page["next_before"], int)

    run()
    assert_reached(seen, {200, 422})
    assert_alive(web)


def test_history_delete_survives_any_body(web: Web) -> None:
    @FUZZ
    @given(body=bodies(), params=st.dictionaries(st.text(max_size=10), st.text(), max_size=3))
    def run(body: tuple[bytes, dict[str, str]], params: dict[str, str]) -> None:
        data, headers = body
        response = web.alice.request(
            "DELETE", "/api/history", content=data, headers=headers, params=params
        )
        assert_handled(response)
        assert response.status_code == 200 and response.json()["deleted"] >= 0

    run()
    assert web.alice.get("/api/history").json()["turns"] == []
    assert_alive(web)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


SPECIAL_NAMES = [
    "", ".", "..", "../../x.py", "a/b/c.md", "x.ZIP", "가" * 95 + ".md", "con.py", " .py",
    ".py", "a.py\x00.txt", "x" * 300 + ".py", "😀.csv", "e\u0301.md", "C:\\evil.py",
]  # fmt: skip
CONTENTS = st.binary(max_size=4096) | st.sampled_from(
    [
        b"def f():\n    return 1\n",
        "질문,답변\n비밀번호는?,앱에서 바꿉니다.\n".encode(),
        zip_bytes({"pkg/a.py": b"def a():\n    return 1\n"}),
        zip_bytes({"../evil.py": b"x = 1\n"}),
        zip_bytes({"가" * 95 + ".py": b"x = 1\n"}),
        zip_bytes({"a.py": b"x = 1\n"})[:-30],
    ]
)  # fmt: skip


def test_uploads_survive_any_name_and_bytes(web: Web) -> None:
    seen: set[int] = set()

    @FUZZ
    @given(
        name=st.text(max_size=120) | st.sampled_from(SPECIAL_NAMES) | HUGE,
        content=CONTENTS,
        field=st.sampled_from(["file", "file", "file", "files", ""]),
        content_type=st.sampled_from(["text/plain", "application/octet-stream", "application/zip"]),
    )
    def run(name: str, content: bytes, field: str, content_type: str) -> None:
        files = {field: (name, content, content_type)}
        response = web.alice.post("/api/documents", files=files)
        seen.add(assert_handled(response))
        if response.status_code == 202:
            assert response.json()["id"]

    run()
    assert_reached(seen, {202, 400})
    listed = web.alice.get("/api/documents")
    assert listed.status_code == 200 and isinstance(listed.json()["documents"], list)
    assert_alive(web)


def test_long_unicode_file_name_is_refused_or_shortened_not_a_server_error(web: Web) -> None:
    """Fails today: `safe_name` keeps 100 characters, which in Hangul is 300 bytes, over
    the file system's 255-byte name limit (OSError ENAMETOOLONG, a 500)."""
    response = web.alice.post(
        "/api/documents", files={"file": ("가" * 95 + ".md", b"# t\n\nx\n", "text/plain")}
    )
    assert_handled(response)


def test_document_delete_survives_any_id(web: Web) -> None:
    bob = web.bob
    bobs = bob.post("/api/documents", files={"file": ("b.py", b"def b():\n    return 2\n")})
    assert bobs.status_code == 202, bobs.text
    bob_id = bobs.json()["id"]
    mine = web.alice.post("/api/documents", files={"file": ("a.py", b"def a():\n    return 1\n")})
    assert mine.status_code == 202, mine.text
    # Up to what fits in a URL (httpx refuses 64k; servers take about 8k).
    long_ids = st.builds(operator.mul, st.sampled_from(PIECES), st.sampled_from([65, 257, 1000]))
    ids = (
        st.text(max_size=200)
        | long_ids
        | st.sampled_from([bob_id, mine.json()["id"], "..", ".", "%2e%2e", "a/b", "\x00"])
    )

    seen: set[int] = set()

    @FUZZ
    @given(doc_id=ids.filter(bool), quoted=st.booleans())
    def run(doc_id: str, quoted: bool) -> None:
        path = quote(doc_id, safe="") if quoted else quote(doc_id, safe="/%")
        response = web.alice.delete(f"/api/documents/{path}")
        seen.add(assert_handled(response))
        if doc_id == bob_id:
            assert response.status_code == 404  # another user's private upload: not there

    run()
    assert_reached(seen, {204, 404})
    assert bob_id in [doc["id"] for doc in bob.get("/api/documents").json()["documents"]]
    assert_alive(web)


def test_data_dir_has_no_files_outside_uploads(web: Web) -> None:
    """Whatever names were fuzzed, nothing was written outside the uploads folder."""
    data: Path = web.state.core.settings.data_dir
    allowed = {"uploads", "web.sqlite3", "index.sqlite3", "server_secret.key"}
    stray = [p.name for p in data.iterdir() if p.name.split("-")[0] not in allowed]
    assert stray == []
