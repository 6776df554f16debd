"""Regex masking of the personal data a pattern can find (e-mails, phones, resident numbers).

Names and postal addresses need the LLM (mode `pii`); these patterns run before it, so the
model never sees them, and again on its output, so nothing it echoes slips through.
"""

from __future__ import annotations

import re

from ragcode.chat.language import Lang

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Korean resident registration / foreigner numbers: YYMMDD-NNNNNNN (the 7th digit 1-8).
_RESIDENT = re.compile(
    r"(?<!\d)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\s?-?\s?[1-8]\d{6}(?!\d)"
)
_PHONE = re.compile(
    r"(?<![\w+])(?:\+?82[-.\s]?\(?0?[1-9]\d?\)?[-.\s]?\d{3,4}[-.\s]?\d{4}"  # +82 10-...
    r"|(?:\+1[-.\s]?)?"
    r"(?:\(?0\d{1,2}\)?[-.\s)]?\d{3,4}[-.\s]?\d{4}"  # 010-1234-5678, 02) 123-4567
    r"|1[5-9]\d{2}[-.\s]?\d{4}"  # 1588-1234 service numbers
    r"|\(?\d{3}\)?[-.\s]\d{3}[-.\s]\d{4}))"  # (555) 123-4567
    r"(?!\d)"
)

PLACEHOLDERS: dict[Lang, dict[str, str]] = {
    "ko": {"email": "[이메일]", "resident": "[주민등록번호]", "phone": "[전화번호]"},
    "en": {"email": "[EMAIL]", "resident": "[ID_NUMBER]", "phone": "[PHONE]"},
}


def mask_patterns(text: str, lang: Lang) -> str:
    """Replace e-mails, resident numbers and phone numbers (in that order) by placeholders."""
    names = PLACEHOLDERS[lang]
    text = _EMAIL.sub(names["email"], text)
    text = _RESIDENT.sub(names["resident"], text)
    return _PHONE.sub(names["phone"], text)


def has_pattern_pii(text: str) -> bool:
    return any(p.search(text) for p in (_EMAIL, _RESIDENT, _PHONE))
