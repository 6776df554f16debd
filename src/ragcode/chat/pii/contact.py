"""E-mail addresses, phone numbers and Korean resident registration numbers."""

from __future__ import annotations

import re

from ragcode.chat.pii.spans import DASH, PiiSpan, spans_of

_SEP = rf"[{DASH}.\s]"
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Korean resident registration / foreigner numbers: YYMMDD-NNNNNNN (the 7th digit 1-8).
RESIDENT = re.compile(
    rf"(?<!\d)\d{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\s?[{DASH}]?\s?[1-8]\d{{6}}(?!\d)"
)
# Not inside an ASCII word or number (a hash, an identifier), but right after Hangul: Korean
# text often has no space before a number ("번호는010-1234-5678입니다").
PHONE = re.compile(
    r"(?<![A-Za-z0-9_+])"
    rf"(?:\+?82{_SEP}?(?:\(0?[1-9]\d?\)|0?[1-9]\d?){_SEP}?\d{{3,4}}{_SEP}?\d{{4}}"  # +82 10-...
    r"|(?:\+1[-.\s]?)?"
    # 010-1234-5678, (02) 123-4567: a parenthesis only around the area code, so that the
    # bracket of a sentence ("고객님(010-...") stays in the text.
    rf"(?:(?:\((?:050\d|0\d{{1,2}})\)\s?|(?:050\d|0\d{{1,2}}){_SEP}?)\d{{3,4}}{_SEP}?\d{{4}}"
    rf"|1[5-9]\d{{2}}{_SEP}?\d{{4}}"  # 1588-1234 service numbers
    rf"|(?:\(\d{{3}}\)\s?|\d{{3}}{_SEP})\d{{3}}{_SEP}\d{{4}}))"  # (555) 123-4567
    r"(?!\d)"
)


def find_contacts(text: str) -> list[PiiSpan]:
    return [
        *spans_of(EMAIL, text, "email"),
        *spans_of(RESIDENT, text, "resident"),
        *spans_of(PHONE, text, "phone"),
    ]
