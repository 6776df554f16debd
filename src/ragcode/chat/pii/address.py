"""Korean postal addresses: road names (도로명) and lot numbers (지번), from the province or
the city, county or district down to the building number and the unit inside it."""

from __future__ import annotations

import re

from ragcode.chat.pii.spans import PiiSpan, spans_of

_PROVINCE = (
    r"(?:서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충청북|충청남|충북|충남|전라북|전라남"
    r"|전북|전남|경상북|경상남|경북|경남|제주)(?:특별시|광역시|특별자치시|특별자치도|도|시)?"
)
_UNIT = r"[가-힣]{1,5}(?:시|군|구)"  # 시/군/구: 성남시, 분당구, 양평군
_TOWN = r"[가-힣]{1,5}\d{0,2}(?:읍|면|동|리|가)"  # 읍/면/동/리: 역삼1동, 수지읍
# 테헤란로, 봉은사로68길, 강남대로94길, 세종대로 ... (the name may hold digits and a "번길").
_ROAD = r"[가-힣A-Za-z0-9]{1,15}?(?:로|길)(?:\s?\d{1,4}(?:번)?(?:길|가길))?"
_NUMBER = r"\s?(?:지하\s?)?\d{1,5}(?:-\d{1,5})?(?:번지)?"
# What follows the building number: "101동 1203호", "3층", "(역삼동)", "OO아파트".
_UNIT_NO = r"(?:제\s?)?[A-Za-z0-9]{1,4}(?:동|층|호)"
_BUILDING = r"[가-힣A-Za-z0-9]{1,15}(?:아파트|빌딩|오피스텔|타워|빌라|맨션|하이츠|센터|스퀘어|파크)"
# A building's name without such a suffix counts when a unit or a named building follows.
_NAMED = rf"[가-힣A-Za-z0-9]{{2,15}}(?=\s(?:{_UNIT_NO}|{_BUILDING}))"
_DETAIL = (
    rf"(?:,?\s?(?:{_UNIT_NO}|{_BUILDING}|{_NAMED}"
    r"|\([가-힣0-9]{1,10}(?:동|가|리)(?:,\s?[가-힣A-Za-z0-9 ]{1,20})?\))){0,5}"
)
_START = rf"(?:{_PROVINCE}\s?(?:{_UNIT}\s?){{0,2}}|(?:{_UNIT}\s?){{1,2}})"
ADDRESS = re.compile(
    rf"(?<![가-힣]){_START}(?:{_TOWN}\s?)?(?:{_ROAD}{_NUMBER}|{_TOWN}{_NUMBER}){_DETAIL}(?!\d)"
)


def find_addresses(text: str) -> list[PiiSpan]:
    return spans_of(ADDRESS, text, "address")
