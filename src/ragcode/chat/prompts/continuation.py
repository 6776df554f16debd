"""Prompts of a continuation: an answer that stopped at its mode's token budget, asked to go
on ("계속" in the web client). The mode's own system prompt stays; these follow the cut answer."""

from __future__ import annotations

# Intent: pick up mid-sentence where the cut answer ends; no repetition, no preamble.
CONTINUE_KO = (
    "앞의 답이 길이 제한에서 끊겼습니다. 끊긴 곳 바로 다음부터 이어서 쓰세요. "
    "이미 쓴 부분을 되풀이하거나 설명을 덧붙이지 마세요."
)
CONTINUE_EN = (
    "Your previous answer was cut off at the length limit. Continue exactly where it stopped, "
    "without repeating what you already wrote and without any comment."
)
# What the history keeps as the question of a continuation turn (the web shows it as sent).
STORED_QUESTION = "계속"
