"""Regex masking of the personal data a pattern can find (e-mails, phones, resident numbers).

These patterns run before the LLM of mode `pii`, so the model never sees what they match, and
again on its output, so nothing it writes slips through: the guarantee. Names and postal
addresses need the LLM and are masked only as well as the model does it (best effort; the
0.5B model leaves most names, tests/integration/test_server_real_model.py).
"""

from __future__ import annotations

import re

from ragcode.chat.language import Lang

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Separators: ASCII hyphen and the dashes pasted from word processors and PDFs (hyphen,
# non-breaking hyphen, figure dash, en/em dash, minus, small and full-width hyphen-minus).
_DASH = "-\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d"
_SEP = rf"[{_DASH}.\s]"
# Korean resident registration / foreigner numbers: YYMMDD-NNNNNNN (the 7th digit 1-8).
_RESIDENT = re.compile(
    rf"(?<!\d)\d{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\s?[{_DASH}]?\s?[1-8]\d{{6}}(?!\d)"
)
# Not inside an ASCII word or number (a hash, an identifier), but right after Hangul: Korean
# text often has no space before a number ("번호는010-1234-5678입니다").
_PHONE = re.compile(
    r"(?<![A-Za-z0-9_+])"
    rf"(?:\+?82{_SEP}?\(?0?[1-9]\d?\)?{_SEP}?\d{{3,4}}{_SEP}?\d{{4}}"  # +82 10-...
    r"|(?:\+1[-.\s]?)?"
    rf"(?:\(?(?:050\d|0\d{{1,2}})\)?(?:{_SEP}|\))?\d{{3,4}}{_SEP}?\d{{4}}"  # 010-1234-5678
    rf"|1[5-9]\d{{2}}{_SEP}?\d{{4}}"  # 1588-1234 service numbers
    rf"|\(?\d{{3}}\)?{_SEP}\d{{3}}{_SEP}\d{{4}}))"  # (555) 123-4567
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
