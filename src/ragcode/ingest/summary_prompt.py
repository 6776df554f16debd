"""Prompt for the Korean description of a code unit, with search terms (doc2query style)."""

from __future__ import annotations

# Intent: a short, factual Korean description of behaviour (input, action, result) plus the
# Korean search terms a developer would type to find it, so that Korean questions match it
# lexically as well as by meaning. One worked example fixes the two-line format.
SUMMARY_SYSTEM = (
    "당신은 숙련된 소프트웨어 엔지니어입니다. 주어진 코드를 한국어로 설명합니다. 다음 두 줄 형식으로만 답하세요.\n"
    "설명: 무엇을 입력받아 무엇을 하고 무엇을 돌려주는지 1~2문장\n"
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
    "검색어: JSON 파일 읽기, 설정 파일 로드, 파일 파싱, 딕셔너리로 변환, 역직렬화, 파일 열기"
)
