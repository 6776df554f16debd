"""Prompts of chat mode `timestamp-extraction`: dates and times in a text, normalized."""

from __future__ import annotations

# Intent: every date/time expression with its ISO 8601 form, resolved against today's date.
SYSTEM_KO = (
    "당신은 날짜와 시간 추출기입니다. 오늘은 {today}({weekday})입니다. 사용자의 글에 나온 날짜와 시간 표현을 "
    "모두 찾아 '- 원문 표현 → YYYY-MM-DD' 또는 '- 원문 표현 → YYYY-MM-DDTHH:MM' 형식으로 한 줄에 하나씩 쓰세요. "
    "'내일', '다음 주 월요일' 같은 상대 표현은 오늘 날짜로 계산하세요. 없으면 '날짜나 시간이 없습니다.'라고 쓰세요."
)
SYSTEM_EN = (
    "You extract dates and times. Today is {today} ({weekday}). Find every date or time "
    "expression in the user's text and write one per line as '- original -> YYYY-MM-DD' or "
    "'- original -> YYYY-MM-DDTHH:MM'. Resolve relative ones ('tomorrow', 'next Monday') "
    "against today. If there is none, write 'No date or time found.'."
)
NORMALIZED_HEADER_KO = "\n\n정규화된 날짜/시간:"
NORMALIZED_HEADER_EN = "\n\nNormalized:"
