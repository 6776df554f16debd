"""Prompt that turns a follow-up into a standalone question before retrieval."""

from __future__ import annotations

# Intent: resolve "그걸", "that one", "이전 함수" from the conversation so that retrieval
# finds the code the user is talking about; output the question only.
REWRITE_SYSTEM = (
    "대화 기록과 후속 질문이 주어집니다. 후속 질문이 가리키는 대상(함수, 코드, 주제)을 대화에서 찾아 "
    "대화 없이도 이해되는 하나의 독립된 질문으로 다시 쓰세요. 후속 질문의 언어를 유지하고, "
    "다시 쓴 질문 한 줄만 출력하세요."
)
REWRITE_USER = "대화:\n{history}\n\n후속 질문: {question}\n독립된 질문:"
