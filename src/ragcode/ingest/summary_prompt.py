"""Prompt for the Korean description of a code unit, with search terms and the questions a
developer would ask (doc2query), all in one call."""

from __future__ import annotations

import hashlib

# Intent: a short, factual Korean description of behaviour (input, action, result), the detail
# that tells it apart from its look-alikes (questions about `partition` vs `partition_all` hinge
# on such details), the Korean search terms a developer would type to find it, so that Korean
# questions match it lexically as well as by meaning, and (doc2query) the questions themselves:
# a question is closer to a question than a description is. One call writes all four lines:
# the code is read once, and every unit's prompt starts with the same system text and worked
# example, which the embedded model keeps computed across units (llm/llamacpp_batch.py).
_LINES = (
    "설명: 무엇을 입력받아 무엇을 하고 무엇을 돌려주는지 1~2문장\n"
    "특징: 비슷한 다른 함수와 구별되는 세부 동작(경계 조건, 예외 처리, 특별한 경우) 1문장\n"
    "검색어: 이 코드를 찾는 개발자가 입력할 만한 한국어 검색어와 동의어 6~8개, 쉼표로 구분"
)
_QUESTIONS_LINE = (
    "\n질문: 이 코드를 찾으려는 한국 개발자가 검색창에 입력할 만한 한국어 질문 3개, "
    "함수 이름 없이 동작을 자기 말로, ' / '로 구분"
)
# When an answer ends before its questions line (Summarizer): the line's start, which a
# backend that continues answers goes on from, or the request in words for the others.
QUESTIONS_START = "질문:"
QUESTIONS_ASK = (
    "질문 줄이 빠졌습니다. 이 코드를 찾으려는 한국 개발자가 검색창에 입력할 만한 한국어 질문 "
    "3개를 함수 이름 없이 ' / '로 구분해 한 줄로만 쓰세요."
)
_INTRO = "당신은 숙련된 소프트웨어 엔지니어입니다. 주어진 코드를 한국어로 설명합니다."
SUMMARY_SYSTEM = f"{_INTRO} 다음 네 줄 형식으로만 답하세요.\n{_LINES}{_QUESTIONS_LINE}"
# `index.summary_questions = false`: the three lines without the questions.
DESCRIPTION_SYSTEM = f"{_INTRO} 다음 세 줄 형식으로만 답하세요.\n{_LINES}"

SUMMARY_USER = "언어: {language}\n종류: {kind}\n이름: {name}\n\n```{language}\n{code}\n```"

EXAMPLE_USER = SUMMARY_USER.format(
    language="python",
    kind="function",
    name="read_json",
    code="def read_json(path):\n    with open(path, encoding='utf-8') as f:\n        return json.load(f)",
)
DESCRIPTION_EXAMPLE = (
    "설명: 경로의 JSON 파일을 UTF-8로 열어 파싱한 파이썬 객체(딕셔너리 등)를 돌려준다.\n"
    "특징: 인코딩을 UTF-8로 고정하고, 파일은 with 문으로 열어 읽은 뒤 바로 닫는다.\n"
    "검색어: JSON 파일 읽기, 설정 파일 로드, 파일 파싱, 딕셔너리로 변환, 역직렬화, 파일 열기"
)
SUMMARY_EXAMPLE = (
    f"{DESCRIPTION_EXAMPLE}\n"
    "질문: JSON 설정 파일을 읽어서 딕셔너리로 바꾸려면? / "
    "파일 경로를 받아 JSON 내용을 파이썬 객체로 불러오는 코드 / UTF-8 JSON 파일 파싱하기"
)


def prompt_version(kind: str, *texts: str) -> str:
    """A version that changes with any text of the prompt: `kind` and a short hash of them."""
    digest = hashlib.sha256("\x1f".join(texts).encode("utf-8")).hexdigest()[:12]
    return f"{kind}-{digest}"


# The versions of the prompts' texts: with the summarizer's settings and post-processing they
# make the prompt version of the summary cache (summarize.summary_prompt_version), which with
# the code hash and the model keys it: a summary written by another version of the prompt
# above (any edit of its text, example included) is never reused.
SUMMARY_PROMPT_VERSION = prompt_version(
    "summary", SUMMARY_SYSTEM, EXAMPLE_USER, SUMMARY_EXAMPLE, SUMMARY_USER
)
DESCRIPTION_PROMPT_VERSION = prompt_version(
    "description", DESCRIPTION_SYSTEM, EXAMPLE_USER, DESCRIPTION_EXAMPLE, SUMMARY_USER
)
