"""Found personal data as spans, their placeholders, and how overlapping finds are settled."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ragcode.chat.language import Lang

PiiKind = Literal[
    "email", "resident", "card", "license", "passport", "phone", "account", "address", "name"
]  # fmt: skip
# When two finds of the same length overlap, the earlier kind wins: a 16-digit card number
# also looks like a hyphenated account number, a phone number in an account context too.
KINDS: tuple[PiiKind, ...] = (
    "email", "resident", "card", "license", "passport", "phone", "account", "address", "name"
)  # fmt: skip

PLACEHOLDERS: dict[Lang, dict[str, str]] = {
    "ko": {
        "email": "[이메일]", "resident": "[주민등록번호]", "phone": "[전화번호]",
        "name": "[이름]", "account": "[계좌번호]", "card": "[카드번호]", "address": "[주소]",
        "passport": "[여권번호]", "license": "[운전면허번호]",
    },
    "en": {
        "email": "[EMAIL]", "resident": "[ID_NUMBER]", "phone": "[PHONE]", "name": "[NAME]",
        "account": "[ACCOUNT_NUMBER]", "card": "[CARD_NUMBER]", "address": "[ADDRESS]",
        "passport": "[PASSPORT_NUMBER]", "license": "[DRIVER_LICENSE]",
    },
}  # fmt: skip
_PLACEHOLDER = re.compile(
    "|".join(re.escape(p) for names in PLACEHOLDERS.values() for p in names.values())
)

# Separators of digit groups: ASCII hyphen and the dashes pasted from word processors and PDFs
# (hyphen, non-breaking hyphen, figure dash, en/em dash, minus, small and full-width hyphen).
DASH = "-\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d"


@dataclass(frozen=True, slots=True)
class PiiSpan:
    start: int
    end: int  # exclusive
    kind: PiiKind


def spans_of(pattern: re.Pattern[str], text: str, kind: PiiKind, group: int = 0) -> list[PiiSpan]:
    return [PiiSpan(m.start(group), m.end(group), kind) for m in pattern.finditer(text)]


def settle(text: str, found: Iterable[PiiSpan]) -> list[PiiSpan]:
    """Non-overlapping spans in text order: the longest first (a whole account number beats
    a phone-like piece of it), then by kind; none that touches a placeholder already in the
    text (the model's output is masked again, and "[이름]" must stay as it is)."""
    taken = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
    chosen: list[PiiSpan] = []
    order = sorted(found, key=lambda s: (-(s.end - s.start), KINDS.index(s.kind), s.start))
    for span in order:
        if span.end > span.start and all(span.end <= a or span.start >= b for a, b in taken):
            chosen.append(span)
            taken.append((span.start, span.end))
    return sorted(chosen, key=lambda s: s.start)


def replace(text: str, spans: list[PiiSpan], lang: Lang) -> str:
    """`text` with each settled span replaced by its kind's placeholder."""
    names = PLACEHOLDERS[lang]
    out: list[str] = []
    last = 0
    for span in spans:
        out += [text[last : span.start], names[span.kind]]
        last = span.end
    out.append(text[last:])
    return "".join(out)
