"""From an OpenAI messages list to a question and conversation memory (with the web chat's
bounds); the model list; API key shapes."""

from __future__ import annotations

from typing import Any

import pytest

from ragcode.accounts.apikeys import hash_matches, key_hash, key_id, new_key
from ragcode.config import Settings
from ragcode.domain import ChatTurn
from ragcode.server.openai_api.conversation import CUT, Conversation, Limits, conversation
from ragcode.server.openai_api.errors import ApiError
from ragcode.server.openai_api.models import MODELS, ApiModel
from ragcode.server.openai_api.schema import ChatCompletionRequest, MessageIn
from ragcode.server.openai_api.sources import source_list
from ragcode.server.openai_api.usage import estimate_usage

pytestmark = pytest.mark.unit

ROOMY = Limits(question_chars=100, answer_chars=1000, turns=10, history_chars=10_000)


def messages(*pairs: tuple[str, Any]) -> list[MessageIn]:
    return [MessageIn.model_validate({"role": role, "content": content}) for role, content in pairs]


def test_the_trailing_user_messages_are_the_question_and_pairs_before_it_are_memory() -> None:
    talk = conversation(
        messages(
            ("system", "규칙"), ("assistant", "무엇을 도와드릴까요?"),  # an answer to nothing
            ("user", "첫 질문"), ("user", "이어서"), ("assistant", "첫 답"),
            ("tool", "도구 결과"), ("user", "참고 자료"),
            ("user", [{"type": "text", "text": "마지막"}, {"type": "image_url"}]),
            ("assistant", "앞서 채운 답"),  # after the question: not memory
        ),
        ROOMY,
    )  # fmt: skip
    assert talk.question == "참고 자료\n\n마지막"
    assert talk.turns == [ChatTurn("첫 질문\n\n이어서", "첫 답")]


def test_context_and_question_sent_as_two_user_messages_are_one_question() -> None:
    """Open WebUI and others send retrieved context and the question as separate messages:
    both reach the model, and the length cap applies to them together."""
    context, question = "참고: 환불은 7일 이내에 가능합니다.", "환불 기한은?"
    talk = conversation(messages(("user", context), ("system", "규칙"), ("user", question)), ROOMY)
    assert talk.question == f"{context}\n\n{question}" and talk.turns == []
    halves = messages(("user", "가" * 60), ("user", "나" * 60))  # each under 100, not together
    with pytest.raises(ApiError) as refused:
        conversation(halves, ROOMY)
    assert refused.value.detail.code == "context_length_exceeded"


def test_an_earlier_question_over_the_cap_is_refused() -> None:
    long_turn = messages(("user", "가" * 101), ("assistant", "답"), ("user", "다음 질문"))
    split_turn = messages(
        ("user", "가" * 60), ("user", "나" * 60), ("assistant", "답"), ("user", "다음 질문")
    )
    for sent in (long_turn, split_turn):
        with pytest.raises(ApiError) as refused:
            conversation(sent, ROOMY)
        assert refused.value.status_code == 400
        assert refused.value.detail.code == "context_length_exceeded"
        assert (
            refused.value.detail.param == "messages" and "앞선 대화" in refused.value.detail.message
        )
    at_cap = messages(("user", "가" * 100), ("assistant", "답"), ("user", "다음 질문"))
    assert conversation(at_cap, ROOMY).turns == [ChatTurn("가" * 100, "답")]


def test_earlier_answers_lose_our_source_list_and_are_cut_to_the_answer_cap() -> None:
    limits = Limits(question_chars=100, answer_chars=50, turns=10, history_chars=10_000)
    code = [{"path": "a.py", "start_line": 1, "end_line": 2, "name": "f"}]
    ours = "def f(): pass" + source_list("code", code)
    talk = conversation(
        messages(("user", "q1"), ("assistant", ours), ("user", "q2"), ("assistant", "다" * 5000),
                 ("user", "q3")),
        limits,
    )  # fmt: skip
    assert talk.turns[0] == ChatTurn("q1", "def f(): pass")
    cut = talk.turns[1].answer
    assert len(cut) == 50 and cut == "다" * 49 + CUT


def test_only_the_most_recent_turns_within_the_window_and_budget_are_kept() -> None:
    pairs: list[tuple[str, Any]] = []
    for n in range(30):
        pairs += [("user", f"질문 {n:02d}"), ("assistant", f"답 {n:02d} " + "가" * 40)]
    sent = messages(*pairs, ("user", "마지막"))
    by_window = conversation(sent, Limits(100, 1000, turns=4, history_chars=10_000))
    assert [t.question for t in by_window.turns] == [f"질문 {n}" for n in range(26, 30)]
    # Each turn is 5 + 45 = 50 characters: a budget of 150 keeps the last three, in order.
    by_budget = conversation(sent, Limits(100, 1000, turns=10, history_chars=150))
    assert [t.question for t in by_budget.turns] == ["질문 27", "질문 28", "질문 29"]
    assert sum(len(t.question) + len(t.answer) for t in by_budget.turns) <= 150
    assert conversation(sent, Limits(100, 1000, turns=10, history_chars=40)).turns == []


def test_limits_follow_the_server_settings() -> None:
    settings = Settings(
        server={"max_message_chars": 5000, "chat_max_tokens": 300},
        generation={"max_answer_tokens": 700, "history_turns": 6},
        documents={"max_answer_tokens": 400},
    )
    limits = Limits.of(settings)
    assert limits == Limits(
        question_chars=5000, answer_chars=2800, turns=6, history_chars=5000 + 2800
    )


@pytest.mark.parametrize(
    ("pairs", "code"),
    [
        ((("system", "규칙"),), "invalid_request"),
        ((("user", "   "),), "invalid_request"),
        ((("user", [{"type": "image_url"}]),), "invalid_request"),
        ((("user", " "), ("user", "  ")), "invalid_request"),
        ((("user", "가" * 101),), "context_length_exceeded"),
    ],
)
def test_nothing_to_answer_is_a_400(pairs: tuple[tuple[str, Any], ...], code: str) -> None:
    with pytest.raises(ApiError) as refused:
        conversation(messages(*pairs), ROOMY)
    assert refused.value.status_code == 400 and refused.value.detail.code == code
    assert refused.value.detail.param == "messages"


def test_lone_surrogates_become_replacement_characters() -> None:
    body = ChatCompletionRequest.model_validate(
        {"model": "m", "messages": [{"role": "user", "content": "a\ud800b"}]}
    )
    assert conversation(body.messages, ROOMY).question == "a\ufffdb"


def test_source_lists_name_what_each_mode_used() -> None:
    code = [{"path": "app/mailer.py", "start_line": 9, "end_line": 20, "name": "Mailer.send"}]
    assert source_list("code", code) == "\n\n---\n참고한 코드:\n1. app/mailer.py:9-20 `Mailer.send`"
    doc = [{"number": 1, "title": "한도", "source": "faq.csv", "location": "2번째 항목"}]
    assert source_list("qa", doc) == "\n\n---\n참고한 문서:\n[1] 한도 (faq.csv, 2번째 항목)"
    assert source_list("code", []) == "" and source_list("normal", code) == ""


def test_usage_is_estimated_from_what_reaches_the_model() -> None:
    talk = Conversation("질문", [ChatTurn("앞 질문", "앞 답")])
    plain = estimate_usage(talk, [], "답변입니다")
    assert plain.completion_tokens == 5 + 1  # one per Hangul syllable, plus one
    assert plain.total_tokens == plain.prompt_tokens + plain.completion_tokens
    with_code = estimate_usage(talk, [{"code": "def f():\n    return 1\n" * 10}], "답변입니다")
    assert with_code.prompt_tokens > plain.prompt_tokens + 50  # the retrieved code counts


def test_the_model_list_cannot_be_changed() -> None:
    assert list(MODELS) == ["ragcode-code", "ragcode-docs", "ragcode-chat"]
    with pytest.raises(TypeError):
        MODELS["gpt-4o"] = ApiModel("gpt-4o", "normal", "x")  # type: ignore[index]


def test_keys_carry_their_id_and_nothing_else_parses_as_one() -> None:
    made_id, key = new_key()
    assert key_id(key) == made_id and len(made_id) == 12
    assert new_key()[1] != key  # random every time
    assert len(key_hash(key)) == 64 and key_hash(key) != key_hash(key + "x")
    for other in ("", "rck_", f"rck_{made_id}", f"rck_{made_id}-{key[17:]}", "sk-abc", key[1:],
                  f"rck_{made_id.upper()}_{key[17:]}", key + "x" * 200):  # fmt: skip
        assert key_id(other) is None, other


def test_a_missing_hash_never_matches() -> None:
    _, key = new_key()
    assert hash_matches(key_hash(key), key)
    assert not hash_matches(None, key)
    dummy = f"rck_{'0' * 12}_{'0' * 43}"  # the dummy compared for unknown ids
    assert not hash_matches(None, dummy)
