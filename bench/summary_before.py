"""The summary runner as it was before issue 13, kept to measure against: two calls per unit
(description, then doc2query questions), each with its own system prompt and worked example,
one unit after the other. The prompts are the shipped ones of that version, verbatim."""

from __future__ import annotations

from ragcode.config import IndexSettings
from ragcode.domain import Record
from ragcode.ingest.questions import clean_questions, with_questions
from ragcode.ingest.summarize import clean_summary
from ragcode.llm.protocol import LLM, ChatMessage, LLMError

# Korean questions match it lexically as well as by meaning. One worked example fixes the format.
SUMMARY_SYSTEM = (
    "당신은 숙련된 소프트웨어 엔지니어입니다. 주어진 코드를 한국어로 설명합니다. 다음 세 줄 형식으로만 답하세요.\n"
    "설명: 무엇을 입력받아 무엇을 하고 무엇을 돌려주는지 1~2문장\n"
    "특징: 비슷한 다른 함수와 구별되는 세부 동작(경계 조건, 예외 처리, 특별한 경우) 1문장\n"
    "검색어: 이 코드를 찾는 개발자가 입력할 만한 한국어 검색어와 동의어 6~8개, 쉼표로 구분"
)

SUMMARY_USER = "언어: {language}\n종류: {kind}\n이름: {name}\n\n```{language}\n{code}\n```"

EXAMPLE_USER = SUMMARY_USER.format(
    language="python",
    kind="function",
    name="read_json",
    code="def read_json(path):\n    with open(path, encoding='utf-8') as f:\n        return json.load(f)",
)
EXAMPLE_ANSWER = (
    "설명: 경로의 JSON 파일을 UTF-8로 열어 파싱한 파이썬 객체(딕셔너리 등)를 돌려준다.\n"
    "특징: 인코딩을 UTF-8로 고정하고, 파일은 with 문으로 열어 읽은 뒤 바로 닫는다.\n"
    "검색어: JSON 파일 읽기, 설정 파일 로드, 파일 파싱, 딕셔너리로 변환, 역직렬화, 파일 열기"
)

# Intent (second call, doc2query): the questions a Korean developer would type to find this
# code, in their own words; a question is closer to a question than a description is.
QUESTIONS_SYSTEM = (
    "당신은 숙련된 소프트웨어 엔지니어입니다. 주어진 코드를 찾으려는 한국 개발자가 검색창에 입력할 만한 한국어 질문 3개를 씁니다. "
    "함수 이름을 쓰지 말고 동작을 자기 말로 설명하는 질문을 한 줄에 하나씩, 번호 없이 쓰세요."
)
QUESTIONS_USER = "```{language}\n{code}\n```"
QUESTIONS_EXAMPLE_USER = QUESTIONS_USER.format(
    language="python",
    code="def read_json(path):\n    with open(path, encoding='utf-8') as f:\n        return json.load(f)",
)
QUESTIONS_EXAMPLE_ANSWER = (
    "JSON 설정 파일을 읽어서 딕셔너리로 바꾸려면?\n"
    "파일 경로를 받아 JSON 내용을 파이썬 객체로 불러오는 코드\n"
    "UTF-8 JSON 파일 파싱하기"
)

QUESTIONS_CODE_CHARS = 4000
QUESTIONS_MAX_TOKENS = 90


def summarize_before(llm: LLM, unit: Record, index: IndexSettings) -> str:
    code = unit.body
    if len(code) > index.summary_code_chars:
        code = code[: index.summary_code_chars] + "\n# ... (생략)"
    user = SUMMARY_USER.format(language=unit.language, kind=unit.kind, name=unit.title, code=code)
    messages = [
        ChatMessage("system", SUMMARY_SYSTEM),
        ChatMessage("user", EXAMPLE_USER),
        ChatMessage("assistant", EXAMPLE_ANSWER),
        ChatMessage("user", user),
    ]
    raw = "".join(
        llm.stream(
            messages, max_tokens=index.summary_max_tokens, temperature=0.1,
            stop=("\n\n", "\n설명"),
        )
    )  # fmt: skip
    summary = clean_summary(raw, index.summary_max_chars)
    if not summary:
        return summary
    questions = [
        ChatMessage("system", QUESTIONS_SYSTEM),
        ChatMessage("user", QUESTIONS_EXAMPLE_USER),
        ChatMessage("assistant", QUESTIONS_EXAMPLE_ANSWER),
        ChatMessage(
            "user",
            QUESTIONS_USER.format(language=unit.language, code=unit.body[:QUESTIONS_CODE_CHARS]),
        ),
    ]
    try:
        raw = "".join(
            llm.stream(questions, max_tokens=QUESTIONS_MAX_TOKENS, temperature=0.1, stop=("\n\n",))
        )
    except LLMError:
        return summary
    return with_questions(summary, clean_questions(raw))
