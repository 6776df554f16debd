"""Card numbers (16 digits or Amex's 15, Luhn-checked) and bank account numbers, which have
no shape of their own: digit groups count as one where the text speaks of an account."""

from __future__ import annotations

import re

from ragcode.chat.pii.spans import DASH, PiiSpan

_G = rf"[{DASH}\s]"
# 4-4-4-4 (one separator kind throughout) or solid; Amex 4-6-5.
CARD = re.compile(
    rf"(?<![{DASH}\d])(?:\d{{4}}(?P<sep>{_G}?)\d{{4}}(?P=sep)\d{{4}}(?P=sep)\d{{4}}"
    rf"|\d{{4}}(?P<amex>{_G}?)\d{{6}}(?P=amex)\d{{5}})(?![{DASH}\d])"
)
_CARD_CUE = re.compile(r"카드|card", re.IGNORECASE)
# Korean bank formats: 3-3-6 (신한), 4-3-6 (우리), 6-2-6 (국민), 3-6-5 (하나), 3-4-4-2 (농협),
# 3-6-2-3 (기업), 4-2-7 (카카오뱅크), 4-4-4 (토스뱅크), 4-4-4-1 (새마을금고) ...: 2 to 5
# groups, 10 to 16 digits; or 10 to 14 solid digits.
NUMBER = re.compile(
    rf"(?<![{DASH}\d.,])(?:\d{{10,14}}|\d{{2,7}}(?P<sep>{_G})\d{{1,7}}(?:(?P=sep)\d{{1,7}}){{0,3}})"
    rf"(?![{DASH}\d]|[.,]\d)"
)  # one separator kind throughout: "2025-06-20 02:00" is no account
# What names a number as an account, before it ("계좌 ...", "신한은행 ...") or just after
# ("... 계좌로").
_ACCOUNT_CUE = re.compile(
    r"계좌|통장|입금|이체|송금|예금주|은행|뱅크|농협|신협|수협|새마을금고|우체국|증권|account",
    re.IGNORECASE,
)
# Labels of other numbers: the nearest label before a number decides what it is.
_OTHER_LABEL = re.compile(
    r"주문|송장|운송장|접수|사업자|상품|모델|제품|전화|연락처|휴대폰|핸드폰|카드|여권|면허|주민"
    r"|우편|회원|고객번호|예약|티켓|버전|시리얼|일련|품번|코드|문의번호|청구서|영수증|승인",
)
_LOOKBACK = 30  # characters before a number searched for its label
_LOOKAHEAD = 6  # characters after it, for "... 계좌로"


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def find_cards(text: str) -> list[PiiSpan]:
    """16 (or 15) digits that pass the Luhn check, or that follow the word 카드."""
    spans = []
    for match in CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        before = text[max(0, match.start() - _LOOKBACK) : match.start()]
        if luhn_valid(digits) or _CARD_CUE.search(before):
            spans.append(PiiSpan(match.start(), match.end(), "card"))
    return spans


def find_accounts(text: str) -> list[PiiSpan]:
    spans = []
    for match in NUMBER.finditer(text):
        number = match.group()
        digits = re.sub(r"\D", "", number)
        grouped = digits != number
        if not (10 <= len(digits) <= 16 if grouped else 10 <= len(digits) <= 14):
            continue
        if _in_account_context(text, match.start(), match.end()):
            spans.append(PiiSpan(match.start(), match.end(), "account"))
    return spans


def _in_account_context(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - _LOOKBACK) : start]
    # Within the sentence only: a cue in the previous sentence names something else.
    before = re.split(r"[.!?\n]\s", before)[-1]
    cues = [m.end() for m in _ACCOUNT_CUE.finditer(before)]
    others = [m.end() for m in _OTHER_LABEL.finditer(before)]
    if cues and (not others or max(cues) > max(others)):
        return True
    after = text[end : end + _LOOKAHEAD]
    return bool(re.match(r"\s?(?:\(|번\s?)?(?:계좌|통장)", after))
