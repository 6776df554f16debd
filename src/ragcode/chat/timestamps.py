"""Dates and times in a message, normalized to ISO 8601 against the message's own date."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

_MONTHS = {
    m: i
    for i, names in enumerate(
        [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
         ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
         ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")],
        start=1,
    )
    for m in names
}  # fmt: skip
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_PATTERNS = (
    re.compile(r"(?P<y>\d{4})\s*[-./]\s*(?P<m>\d{1,2})\s*[-./]\s*(?P<d>\d{1,2})"),
    re.compile(r"(?:(?P<y>\d{4})\s*년\s*)?(?P<m>\d{1,2})\s*월\s*(?P<d>\d{1,2})\s*일"),
    re.compile(
        rf"\b(?P<mn>{_MONTH_NAMES})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{{4}}))?",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mn>{_MONTH_NAMES})\.?(?:,?\s+(?P<y>\d{{4}}))?",
        re.IGNORECASE,
    ),
)
_RELATIVE = {
    "그저께": -2, "그제": -2, "어제": -1, "오늘": 0, "내일": 1, "모레": 2, "내일모레": 2,
    "yesterday": -1, "today": 0, "tomorrow": 1,
}  # fmt: skip
_RELATIVE_PATTERN = re.compile(
    "|".join(sorted((re.escape(k) for k in _RELATIVE), key=len, reverse=True)), re.IGNORECASE
)
_TIME_PATTERNS = (
    re.compile(
        r"(?P<ap>오전|오후|아침|저녁|밤|새벽)?\s*(?P<h>\d{1,2})\s*시(?:\s*(?P<half>반)|\s*(?P<mi>\d{1,2})\s*분)?"
    ),
    re.compile(r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?:\s*(?P<ap>[ap]\.?m\.?))?", re.IGNORECASE),
    re.compile(r"\b(?P<h>\d{1,2})\s*(?P<ap>[ap]\.?m\.?)", re.IGNORECASE),
)
_PM = {"오후", "저녁", "밤", "pm", "p.m.", "p.m", "pm."}
_TIME_GAP = 12  # a time at most this many characters after a date belongs to it


@dataclass(frozen=True, slots=True)
class Found:
    text: str  # the expression as written
    iso: str  # YYYY-MM-DD or YYYY-MM-DDTHH:MM
    start: int


def _dates(text: str, today: date) -> list[tuple[int, int, date]]:
    found: list[tuple[int, int, date]] = []
    taken: list[range] = []
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            if any(match.start() in span for span in taken):
                continue
            parts = match.groupdict()
            month = _MONTHS[parts["mn"].lower()] if parts.get("mn") else int(parts["m"])
            year = int(parts["y"]) if parts.get("y") else today.year
            try:
                found.append((match.start(), match.end(), date(year, month, int(parts["d"]))))
            except ValueError:
                continue
            taken.append(range(match.start(), match.end()))
    for match in _RELATIVE_PATTERN.finditer(text):
        if not any(match.start() in span for span in taken):
            offset = _RELATIVE[match.group(0).lower()]
            found.append((match.start(), match.end(), today + timedelta(days=offset)))
    return sorted(found)


def _times(text: str) -> list[tuple[int, int, time]]:
    found: list[tuple[int, int, time]] = []
    taken: list[range] = []
    for pattern in _TIME_PATTERNS:
        for match in pattern.finditer(text):
            if any(match.start() in span for span in taken):
                continue
            parts = match.groupdict()
            hour = int(parts["h"])
            minute = 30 if parts.get("half") else int(parts.get("mi") or 0)
            marker = (parts.get("ap") or "").lower()
            if marker in _PM and hour < 12:
                hour += 12
            elif marker in {"am", "a.m.", "a.m", "오전", "새벽"} and hour == 12:
                hour = 0
            if hour > 23 or minute > 59:
                continue
            found.append((match.start(), match.end(), time(hour, minute)))
            taken.append(range(match.start(), match.end()))
    return sorted(found)


def extract_timestamps(text: str, now: datetime) -> list[Found]:
    """Every date (with the time right after it, if any) and every time on its own."""
    dates = _dates(text, now.date())
    times = _times(text)
    used: set[int] = set()
    results: list[Found] = []
    for start, end, day in dates:
        attached = next(
            (t for t in times if t[0] >= end and t[0] - end <= _TIME_GAP and t[0] not in used),
            None,
        )
        if attached is None:
            results.append(Found(text[start:end], day.isoformat(), start))
            continue
        used.add(attached[0])
        moment = datetime.combine(day, attached[2])
        results.append(Found(text[start : attached[1]], moment.strftime("%Y-%m-%dT%H:%M"), start))
    for start, end, clock in times:
        if start not in used:
            moment = datetime.combine(now.date(), clock)
            results.append(Found(text[start:end], moment.strftime("%Y-%m-%dT%H:%M"), start))
    return sorted(results, key=lambda found: found.start)
