"""The `stop` frame and `replace_turn_id`: validated like the other client frames."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ragcode.server.protocol import CLIENT_MESSAGE, Completed, StopRequest, TextRequest

pytestmark = pytest.mark.unit


def test_a_stop_frame_names_the_request() -> None:
    message = CLIENT_MESSAGE.validate_python({"type": "stop", "request_id": "r1", "extra": 1})
    assert message == StopRequest(type="stop", request_id="r1")


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "stop"},
        {"type": "stop", "request_id": ""},
        {"type": "stop", "request_id": "x" * 129},
        {"type": "stop", "request_id": 5},
        {"type": "halt", "request_id": "r1"},
    ],
)
def test_malformed_stop_frames_are_refused(frame: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CLIENT_MESSAGE.validate_python(frame)


def test_replace_turn_id_is_absent_unless_asked_and_must_be_a_turn_id() -> None:
    base = {"type": "text", "request_id": "r", "body": "질문"}
    assert CLIENT_MESSAGE.validate_python(base).replace_turn_id is None  # type: ignore[union-attr]
    asked = CLIENT_MESSAGE.validate_python({**base, "replace_turn_id": 7})
    assert isinstance(asked, TextRequest) and asked.replace_turn_id == 7
    for bad in ("다시", True, 0, -3, 2**63, "7"):
        with pytest.raises(ValidationError):
            CLIENT_MESSAGE.validate_python({**base, "replace_turn_id": bad})


def test_stopped_is_sent_only_when_true() -> None:
    done = Completed(request_id="r", msg="a", references=[], mode="normal")
    assert "stopped" not in done.model_dump_json()
    stopped = Completed(request_id="r", msg="a", references=[], mode="normal", stopped=True)
    assert '"stopped":true' in stopped.model_dump_json()
