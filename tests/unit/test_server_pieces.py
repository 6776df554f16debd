"""Small server parts: login rate limit, WS message models, same-origin check, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from starlette.datastructures import Headers

from ragcode.config import ServerSettings, Settings
from ragcode.limits.memory import AttemptLimiter
from ragcode.server.deps import same_origin
from ragcode.server.protocol import CLIENT_MESSAGE, Ping, TextRequest, failure
from ragcode.server.secret import resolve_secret

pytestmark = pytest.mark.unit


def test_limiter_blocks_after_failures_and_recovers() -> None:
    now = [0.0]
    limiter = AttemptLimiter(60.0, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.reserve({"user:a": 3, "client:x": 3}) == 0
    assert limiter.reserve({"user:a": 3}) == pytest.approx(60.0)
    assert limiter.reserve({"client:x": 3}) > 0 and limiter.reserve({"user:b": 3}) == 0
    now[0] = 61.0
    assert limiter.reserve({"user:a": 3, "client:x": 3}) == 0


def test_client_messages_parse_by_type() -> None:
    text = CLIENT_MESSAGE.validate_python(
        {"request_id": "r", "type": "text", "conv_type": "code", "body": "hi", "extra": 1}
    )
    assert isinstance(text, TextRequest) and text.conv_type == "code"
    assert isinstance(CLIENT_MESSAGE.validate_python({"type": "ping"}), Ping)
    for bad in ({"type": "text", "body": "no id"}, {"type": "nope"}, [1, 2], "x"):
        with pytest.raises(ValidationError):
            CLIENT_MESSAGE.validate_python(bad)


def test_errors_carry_a_code_and_a_korean_message() -> None:
    error = failure("r1", "too_long", limit=10).model_dump()
    assert error == {
        "request_id": "r1",
        "status": "error",
        "error": {"code": "too_long", "message": "메시지가 너무 깁니다 (최대 10자)."},
    }


def test_same_origin() -> None:
    assert same_origin(Headers({"host": "127.0.0.1:8000"}))
    assert same_origin(Headers({"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8000"}))
    assert not same_origin(Headers({"host": "127.0.0.1:8000", "origin": "http://evil.example"}))
    assert not same_origin(Headers({"host": "127.0.0.1:8000", "origin": "null"}))


def test_secret_required_outside_development() -> None:
    with pytest.raises(ValidationError, match="secret_key"):
        ServerSettings(environment="production")
    with pytest.raises(ValidationError, match="32"):
        ServerSettings(secret_key="short")
    assert ServerSettings(environment="production", secret_key="k" * 40).secret_key is not None


def test_development_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = resolve_secret(settings)
    assert len(first) >= 48 and resolve_secret(settings) == first
    key_file = next(tmp_path.glob("*.key"))
    assert key_file.stat().st_mode & 0o077 == 0
    configured = Settings(data_dir=tmp_path, server={"secret_key": "s" * 40})
    assert resolve_secret(configured) == "s" * 40
