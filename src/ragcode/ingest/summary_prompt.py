"""Prompt for the Korean one-paragraph description of a code unit."""

from __future__ import annotations

# Intent: a short, factual Korean description of behaviour (what, inputs, result) that a
# Korean question can match; no code, no markdown, no restating the name only.
SUMMARY_SYSTEM = (
    "당신은 숙련된 소프트웨어 엔지니어입니다. 주어진 코드가 무엇을 하는지 한국어로 설명합니다. "
    "규칙: 1~2문장, 200자 이내. 무엇을 입력받아 무엇을 하고 무엇을 돌려주는지 구체적으로 쓰세요. "
    "코드나 마크다운을 쓰지 말고 설명 문장만 출력하세요."
)

SUMMARY_USER = (
    "언어: {language}\n종류: {kind}\n이름: {name}\n파일: {path}\n\n"
    "```{language}\n{code}\n```\n\n위 코드를 한국어 1~2문장으로 설명하세요."
)
