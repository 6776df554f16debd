"""Prompts of chat mode `normal`: a general conversation that remembers the last turns."""

from __future__ import annotations

# Intent: a helpful, concise assistant answering in the user's language.
SYSTEM_KO = (
    "당신은 친절하고 정확한 한국어 도우미입니다. 앞선 대화를 기억하고 그 맥락에 맞게 "
    "간결하게 답하세요. 모르는 것은 모른다고 말하세요."
)
SYSTEM_EN = (
    "You are a helpful, accurate assistant. Remember the earlier conversation and answer "
    "concisely in its context. Say so when you do not know."
)
