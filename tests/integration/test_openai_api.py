"""`/v1/chat/completions` and `/v1/models` through the official `openai` client, against a
real uvicorn serving ragcode with a recording LLM and the real embeddings and store: the three
models answer through the web chat's services, streamed and whole, with their references.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm.protocol import ChatMessage
from tests.openai_support import LiveServer, RecordingLLM, indexed_live_server

pytestmark = pytest.mark.integration

FAQ = (
    "질문,답변\n법인카드 한도는 얼마인가요?,월 500만원입니다.\n"
    "출장비 정산은 어떻게 하나요?,영수증을 첨부해 경비 시스템에 올립니다.\n"
)
CODE_QUESTION = "JSON 설정 파일을 읽어서 딕셔너리로 돌려주는 함수를 만들어 줘"
DOC_ANSWER = "법인카드 한도는 월 500만원입니다 [1]."


def answer(messages: Sequence[ChatMessage]) -> str:
    if "참고 문서:" in messages[-1].content:  # the document Q&A prompt
        return DOC_ANSWER
    return f"답변입니다: 메시지 {len(messages)}개를 받았습니다."


def chat_sent(
    client: openai.OpenAI, llm: RecordingLLM, messages: list[Any]
) -> Sequence[ChatMessage]:
    """What the model got for `messages` sent to ragcode-chat (its system prompt first)."""
    client.chat.completions.create(model="ragcode-chat", messages=messages)
    return llm.calls[-1].messages


def turns(messages: Sequence[ChatMessage]) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in messages]


@pytest.fixture(scope="module")
def llm() -> RecordingLLM:
    return RecordingLLM(answer)


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder, llm: RecordingLLM
) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("openai")
    with indexed_live_server(root, llm, embedder, {"policy.csv": FAQ}) as server:
        yield server


@pytest.fixture(scope="module")
def client(live: LiveServer) -> openai.OpenAI:
    return live.openai(live.user_key("apiuser"))


@pytest.fixture(autouse=True)
def fresh(llm: RecordingLLM) -> None:
    llm.calls.clear()
    llm.fail = False


def test_an_answer_cut_at_the_token_limit_finishes_with_length(
    client: openai.OpenAI, llm: RecordingLLM
) -> None:
    """As OpenAI clients expect: `length`, so that an IDE can ask for the rest."""
    talk: list[Any] = [{"role": "user", "content": "이 문단을 영어로 길게 설명해 줘"}]
    whole = client.chat.completions.create(model="ragcode-chat", messages=talk)
    assert whole.choices[0].finish_reason == "stop"
    llm.cut = True
    try:
        cut = client.chat.completions.create(model="ragcode-chat", messages=talk)
        assert cut.choices[0].finish_reason == "length"
        chunks = list(
            client.chat.completions.create(model="ragcode-chat", messages=talk, stream=True)
        )
        reasons = [c.choices[0].finish_reason for c in chunks if c.choices]
        assert reasons[-1] == "length" and set(reasons[:-1]) == {None}
    finally:
        llm.cut = False


def test_models_are_listed_and_retrieved(client: openai.OpenAI) -> None:
    models = client.models.list()
    assert [m.id for m in models.data] == ["ragcode-code", "ragcode-docs", "ragcode-chat"]
    assert all(m.object == "model" and m.owned_by == "ragcode" for m in models.data)
    assert client.models.retrieve("ragcode-docs").id == "ragcode-docs"


def test_code_answer_whole_with_references(client: openai.OpenAI, llm: RecordingLLM) -> None:
    completion = client.chat.completions.create(
        model="ragcode-code", messages=[{"role": "user", "content": CODE_QUESTION}]
    )
    assert completion.object == "chat.completion" and completion.model == "ragcode-code"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    references = (completion.model_extra or {})["ragcode_references"]
    assert references[0]["path"] == "config.py" and references[0]["name"] == "read_config"
    assert "def read_config" in references[0]["code"]
    text = choice.message.content or ""
    assert text.startswith("답변입니다")
    assert text.endswith("참고한 코드:\n1. config.py:4-7 `read_config`")
    # The code-answer service put the retrieved code in front of the model.
    assert "def read_config" in llm.calls[-1].messages[-1].content


def test_code_answer_streams_with_references_last(client: openai.OpenAI) -> None:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": CODE_QUESTION}]
    whole = client.chat.completions.create(model="ragcode-code", messages=messages)
    chunks = list(
        client.chat.completions.create(model="ragcode-code", messages=messages, stream=True)
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    texts = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(texts) >= 5  # token by token, not one block
    assert "".join(texts) == whole.choices[0].message.content
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    refs = (last.model_extra or {})["ragcode_references"]
    assert refs == (whole.model_extra or {})["ragcode_references"]
    assert len({c.id for c in chunks}) == 1


def test_the_stream_is_server_sent_events_ending_with_done(
    live: LiveServer, client: openai.OpenAI
) -> None:
    body = {
        "model": "ragcode-chat",
        "stream": True,
        "messages": [{"role": "user", "content": "안녕"}],
    }
    headers = {"Authorization": f"Bearer {client.api_key}"}
    with httpx.stream(
        "POST", f"{live.url}/v1/chat/completions", json=body, headers=headers, timeout=60
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in events)
    assert events[-1] == "data: [DONE]"
    payloads = [json.loads(line[6:]) for line in events[:-1]]
    assert {p["object"] for p in payloads} == {"chat.completion.chunk"}
    # `finish_reason` is in every chunk (null until the last): strict clients require it.
    assert payloads[0]["choices"][0] == {
        "index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None,
    }  # fmt: skip
    for payload in payloads[1:-1]:
        assert payload["choices"][0]["finish_reason"] is None
        assert set(payload["choices"][0]["delta"]) == {"content"}  # a delta: only what it has
    assert payloads[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert payloads[-1]["ragcode_references"] == []
    assert all("usage" not in p for p in payloads)  # not asked for


def test_docs_answer_cites_documents(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="ragcode-docs", messages=[{"role": "user", "content": "법인카드 한도는 얼마인가요?"}]
    )
    text = completion.choices[0].message.content or ""
    assert text.startswith(DOC_ANSWER)
    assert "\n---\n참고한 문서:\n[1] " in text and "(policy.csv, " in text
    references = (completion.model_extra or {})["ragcode_references"]
    assert references[0]["number"] == 1 and references[0]["source"] == "policy.csv"
    assert "500만원" in references[0]["text"]


def test_earlier_turns_are_memory_and_system_messages_stay_out(
    client: openai.OpenAI, llm: RecordingLLM
) -> None:
    sent = chat_sent(client, llm, [
        {"role": "system", "content": "SYSTEM-FROM-CLIENT"},
        {"role": "user", "content": "제 이름은 민수입니다."},
        {"role": "assistant", "content": "반갑습니다, 민수 님."},
        {"role": "user", "content": [{"type": "text", "text": "제 이름이 뭐였죠?"}]},
    ])  # fmt: skip
    assert turns(sent[1:]) == [
        ("user", "제 이름은 민수입니다."),
        ("assistant", "반갑습니다, 민수 님."),
        ("user", "제 이름이 뭐였죠?"),
    ]
    assert sent[0].role == "system" and "SYSTEM-FROM-CLIENT" not in sent[0].content


def test_max_tokens_and_temperature_reach_the_model(
    live: LiveServer, client: openai.OpenAI, llm: RecordingLLM
) -> None:
    question: list[ChatCompletionMessageParam] = [{"role": "user", "content": "안녕하세요"}]
    client.chat.completions.create(model="ragcode-chat", messages=question)
    default = llm.calls[-1]
    assert (default.max_tokens, default.temperature) == (
        live.core.settings.server.chat_max_tokens,
        0.2,
    )
    client.chat.completions.create(
        model="ragcode-chat",
        messages=question,
        max_tokens=7,
        temperature=0.9,
    )
    assert (llm.calls[-1].max_tokens, llm.calls[-1].temperature) == (7, 0.9)
    client.chat.completions.create(
        model="ragcode-docs", messages=[{"role": "user", "content": "법인카드 한도는 얼마인가요?"}],
        max_completion_tokens=5, temperature=0.0,
    )  # fmt: skip
    assert (llm.calls[-1].max_tokens, llm.calls[-1].temperature) == (5, 0.0)
    # A budget is never raised past the configured one: a client cannot hold the model longer.
    client.chat.completions.create(
        model="ragcode-code", messages=[{"role": "user", "content": CODE_QUESTION}],
        max_tokens=100_000,
    )  # fmt: skip
    assert llm.calls[-1].max_tokens == live.core.settings.generation.max_answer_tokens


def test_a_failed_answer_is_an_openai_error(client: openai.OpenAI, llm: RecordingLLM) -> None:
    llm.fail = True
    question: list[ChatCompletionMessageParam] = [{"role": "user", "content": "안녕하세요"}]
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(model="ragcode-chat", messages=question)
    assert failed.value.status_code == 500
    assert failed.value.body == {
        "message": "언어 모델이 답을 만들지 못했습니다. 잠시 후 다시 시도해 주세요.",
        "type": "server_error", "param": None, "code": "llm_error",
    }  # fmt: skip
    stream = client.chat.completions.create(model="ragcode-chat", messages=question, stream=True)
    with pytest.raises(openai.APIError) as in_stream:
        list(stream)
    assert isinstance(in_stream.value.body, dict) and in_stream.value.body["code"] == "llm_error"


def test_usage_comes_with_whole_answers_and_with_streams_that_ask(client: openai.OpenAI) -> None:
    question: list[ChatCompletionMessageParam] = [{"role": "user", "content": CODE_QUESTION}]
    whole = client.chat.completions.create(model="ragcode-code", messages=question)
    usage = whole.usage
    assert usage is not None and usage.completion_tokens > 0
    assert usage.prompt_tokens > len(CODE_QUESTION) // 3  # the question and retrieved code
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    chunks = list(
        client.chat.completions.create(
            model="ragcode-code", messages=question, stream=True,
            stream_options={"include_usage": True},
        )
    )  # fmt: skip
    last, finishing = chunks[-1], chunks[-2]
    assert last.choices == [] and last.usage == usage  # the same estimate, after the finish
    assert finishing.choices[0].finish_reason == "stop" and finishing.usage is None
    assert all(c.usage is None for c in chunks[:-1])
    plain = list(
        client.chat.completions.create(model="ragcode-code", messages=question, stream=True)
    )
    assert all(c.usage is None for c in plain) and plain[-1].choices[0].finish_reason == "stop"


def test_trailing_user_messages_reach_the_model_as_one_question(
    client: openai.OpenAI, llm: RecordingLLM
) -> None:
    """Open WebUI style: retrieved context and the question as two user messages."""
    sent = chat_sent(client, llm, [
        {"role": "user", "content": "참고 자료: 회의는 3시입니다."},
        {"role": "user", "content": "회의는 몇 시죠?"},
    ])  # fmt: skip
    assert turns(sent[1:]) == [("user", "참고 자료: 회의는 3시입니다.\n\n회의는 몇 시죠?")]


def test_earlier_turns_are_held_to_the_web_memory_bounds(
    live: LiveServer, client: openai.OpenAI, llm: RecordingLLM
) -> None:
    """A client may send up to 1 MB of "conversation": earlier answers are cut to what the
    server's model could have written, only the most recent turns within the budget go on,
    and an earlier question over the message cap is refused like the last one."""
    settings = live.core.settings
    limit = settings.server.max_message_chars
    answer_cap = 4 * max(
        settings.generation.max_answer_tokens, settings.documents.max_answer_tokens,
        settings.server.chat_max_tokens,
    )  # fmt: skip
    history: list[ChatCompletionMessageParam] = []  # ASCII bulk: ~0.8 MB, under the 1 MB body cap
    for n in range(40):
        history += [
            {"role": "user", "content": f"질문 {n}: " + "q" * 2000},
            {"role": "assistant", "content": f"답 {n}: " + "a" * 10_000},
        ]
    history[-1]["content"] = "마지막 답: " + "z" * 300_000
    client.chat.completions.create(
        model="ragcode-chat", messages=[*history, {"role": "user", "content": "요약해 줘"}]
    )
    sent = llm.calls[-1].messages
    assert sent[-1].content == "요약해 줘"
    memory = sent[1:-1]
    assert memory and len(memory) % 2 == 0
    assert memory[-1].content.startswith("마지막 답") and len(memory[-1].content) <= answer_cap
    assert memory[-2].content.startswith("질문 39")
    assert all(len(m.content) <= answer_cap for m in memory if m.role == "assistant")
    assert sum(len(m.content) for m in memory) <= limit + answer_cap
    assert len(memory) // 2 <= settings.generation.history_turns

    long_earlier = [
        {"role": "user", "content": "가" * (limit + 1)},
        {"role": "assistant", "content": "답"},
        {"role": "user", "content": "다음 질문"},
    ]
    calls = len(llm.calls)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="ragcode-chat", messages=long_earlier)  # type: ignore[arg-type]
    assert refused.value.code == "context_length_exceeded" and refused.value.param == "messages"
    assert len(llm.calls) == calls  # refused before any model call


JS_CONFIG = """const fs = require("fs");

// Read a JSON configuration file and return it as an object.
function loadJsonConfig(path) {
  return JSON.parse(fs.readFileSync(path, "utf8"));
}
"""


@pytest.fixture(scope="module")
def two_languages(
    tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder, llm: RecordingLLM
) -> Iterator[LiveServer]:
    """A team knowledge base with a Python (config.py) and a JavaScript config reader."""
    root = tmp_path_factory.mktemp("openai-languages")
    with indexed_live_server(root, llm, embedder, {"policy.csv": FAQ}) as server:
        js = root / "js"
        js.mkdir()
        (js / "config.js").write_text(JS_CONFIG, encoding="utf-8")
        server.core.indexer.index(js)
        yield server


def test_a_code_language_in_the_body_filters_the_references(
    two_languages: LiveServer, llm: RecordingLLM
) -> None:
    """`ragcode_code_language` (an extra body field) reaches the store's filter: only that
    language's references; an unknown one is a 400 before the model runs."""
    client = two_languages.openai(two_languages.user_key("apiuser"))
    question: list[ChatCompletionMessageParam] = [{"role": "user", "content": CODE_QUESTION}]

    def references(**extra: Any) -> list[dict[str, Any]]:
        completion = client.chat.completions.create(
            model="ragcode-code", messages=question, extra_body=extra or None
        )
        found: list[dict[str, Any]] = (completion.model_extra or {})["ragcode_references"]
        return found

    assert {"python", "javascript"} <= {ref["language"] for ref in references()}
    assert references(ragcode_code_language="auto") == references()
    chosen = references(ragcode_code_language="javascript")
    assert chosen and {ref["language"] for ref in chosen} == {"javascript"}
    assert "loadJsonConfig" in llm.calls[-1].messages[-1].content
    assert "def read_config" not in llm.calls[-1].messages[-1].content
    assert {ref["language"] for ref in references(ragcode_code_language="python")} == {"python"}
    calls = len(llm.calls)
    with pytest.raises(openai.BadRequestError) as refused:
        references(ragcode_code_language="cobol")
    assert isinstance(refused.value.body, dict)
    assert refused.value.body["code"] == "invalid_request"
    assert refused.value.body["param"] == "ragcode_code_language"
    assert "ragcode_code_language" in refused.value.body["message"]
    assert len(llm.calls) == calls
