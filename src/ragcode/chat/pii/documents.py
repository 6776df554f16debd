"""Korean passport and driver's licence numbers: fixed shapes, found anywhere."""

from __future__ import annotations

import re

from ragcode.chat.pii.spans import DASH, PiiSpan, spans_of

# M/S/R/O/D and 8 digits (before 2021), or letter, 3 digits, letter, 4 digits (since 2021).
# Not inside an ASCII word: "SM12345678X" is a product code, "여권M12345678" is a passport.
PASSPORT = re.compile(r"(?<![A-Za-z0-9])([MSROD])(?:\d{8}|\d{3}[A-Z]\d{4})(?![A-Za-z0-9])")
# M (the ordinary multiple-entry passport) is nearly every passport, anywhere; a letter and
# 8 digits is also the shape of lot and batch codes ("로트번호 S20240601"), so the rare
# S/R/O/D passports count where the text speaks of a passport.
_PASSPORT_CUE = re.compile(r"여권|passport", re.IGNORECASE)
_LOOKBACK = 30
_D = f"[{DASH}]"
_REGIONS = "서울|부산|경기|강원|충북|충남|전북|전남|경북|경남|제주|대구|인천|광주|대전|울산"
# Region code (or, on old licences, region name), 2 digits, 6 digits, 2 check digits.
LICENSE = re.compile(
    rf"(?<![{DASH}\d])(?:\d{{2}}{_D}|(?:{_REGIONS})\s?)\d{{2}}{_D}\d{{6}}{_D}\d{{2}}(?![{DASH}\d])"
)


def find_documents(text: str) -> list[PiiSpan]:
    return [*find_passports(text), *spans_of(LICENSE, text, "license")]


def find_passports(text: str) -> list[PiiSpan]:
    return [
        PiiSpan(match.start(), match.end(), "passport")
        for match in PASSPORT.finditer(text)
        if match.group(1) == "M"
        or _PASSPORT_CUE.search(text[max(0, match.start() - _LOOKBACK) : match.start()])
    ]
