"""The deterministic PII detectors one family at a time, with the real mecab-ko analyzer:
what each must mask, and look-alikes it must leave (order numbers, dates, prices, codes)."""

from __future__ import annotations

import pytest

from ragcode.chat.pii import find_pii, has_pattern_pii, mask_patterns
from ragcode.chat.pii.finance import luhn_valid
from ragcode.chat.pii.rewrite import faithful_rewrite

pytestmark = pytest.mark.unit


def masked(text: str) -> str:
    return mask_patterns(text, "ko")


ISSUE_EXAMPLE = (
    "김민지 고객님(010-1234-5678, minji.kim@example.com)의 주민등록번호 950101-2345678로 "
    "계좌 123-456-789012 개설을 요청하셨습니다."
)


def test_the_issue_example_keeps_no_personal_data() -> None:
    assert masked(ISSUE_EXAMPLE) == (
        "[이름] 고객님([전화번호], [이메일])의 주민등록번호 [주민등록번호]로 "
        "계좌 [계좌번호] 개설을 요청하셨습니다."
    )
    assert [span.kind for span in find_pii(ISSUE_EXAMPLE)] == [
        "name", "phone", "email", "resident", "account",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("박지훈 대리와 이수민 사원이 왔습니다", "[이름] 대리와 [이름] 사원이 왔습니다"),
        ("정우성씨가 전화했어요", "[이름]씨가 전화했어요"),
        ("홍길동 님께 전달", "[이름] 님께 전달"),  # a compound the dictionary reads as a noun
        ("CS 담당 남궁민수 매니저", "CS 담당 [이름] 매니저"),  # a double surname
        ("예금주: 문가영", "예금주: [이름]"),
        ("예금주 김민지님께 송금", "예금주 [이름]님께 송금"),  # the suffix stays
        ("운전자 박보검의 면허", "운전자 [이름]의 면허"),  # the particle stays
        ("안녕하세요, 송하은입니다.", "안녕하세요, [이름]입니다."),
        ("어제 최민호, 김서연이 왔어요", "어제 [이름], [이름]이 왔어요"),  # the dictionary's
        ("윤아랑 밥 먹었어", "[이름]랑 밥 먹었어"),
        # Names the dictionary does not know, split into a surname and pieces of other kinds
        # (천 a numeral, 하 an interjection, 도 a particle).
        ("수령인 천유진 님", "수령인 [이름] 님"),
        ("하윤서 선임이 승진", "[이름] 선임이 승진"),
        ("고객 곽도윤 님이 전화", "고객 [이름] 님이 전화"),
        ("탑승객 BAEK JIWOO", "탑승객 [이름]"),
        ("Call Ms. Jane Doe today", "Call Ms. [이름] today"),
    ],
)
def test_names(text: str, expected: str) -> None:
    assert masked(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "정기 고객님께 안내드립니다",  # 정기 starts like the surname 정
        "우리 대리가 갑니다",
        "신규 회원님 혜택",
        "고객님, 선생님, 박사님께",
        "이체 받을 계좌는 아직 없습니다",  # the dictionary also knows 이체 as a name
        "보호자 연락처는 나중에 드릴게요",
        "v2.10.1234 빌드",
        "강남 고객님 대상 행사",  # a place
        "지난번 고객님께 보낸 메일",  # a compound noun, like 배수지 (a reservoir, and a name)
        "한번도 고객님이 불편하지 않게",  # surname-like syllable, then a particle
        "조금씩 과장님께 넘겨 주세요",
    ],
)
def test_words_that_only_look_like_names(text: str) -> None:
    assert masked(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("신한은행 110-234-567890으로 입금", "신한은행 [계좌번호]으로 입금"),
        ("계좌번호 391-910123-45607", "계좌번호 [계좌번호]"),
        ("카카오뱅크 3333-01-4567890", "카카오뱅크 [계좌번호]"),
        ("농협 351-1234-5678-93 계좌", "농협 [계좌번호] 계좌"),
        ("새마을금고 9002-1234-5678-9", "새마을금고 [계좌번호]"),
        ("IBK기업은행 010-123456-01-011", "IBK기업은행 [계좌번호]"),
        ("환불 계좌 1002845123456", "환불 계좌 [계좌번호]"),
        ("123-456-789012 계좌로 보내 주세요", "[계좌번호] 계좌로 보내 주세요"),
    ],
)
def test_account_numbers(text: str, expected: str) -> None:
    assert masked(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "주문번호 2024-0314-5678",
        "계좌 개설 후 주문번호 2024-0314-5678로 조회하세요",  # the nearest label decides
        "택배 송장 5512-3456-7890 건",
        "사업자등록번호 123-45-67890",
        "회의 ID 845 2210 9937",
        "이체 한도 1,000,000원, 2025-03-14 기준",
        "은행 점검 2025-06-20 02:00~06:00",
        "입금 대기. 운송장 6892-1234-5678",  # another sentence's cue
    ],
)
def test_numbers_that_are_not_accounts(text: str) -> None:
    assert masked(text) == text


def test_card_numbers_by_luhn_or_by_the_word_card() -> None:
    assert luhn_valid("4532015112830366") and not luhn_valid("4532015112830367")
    assert masked("결제 4532-0151-1283-0366 승인") == "결제 [카드번호] 승인"
    assert masked("결제 5408 1234 5678 9012") == "결제 [카드번호]"
    assert masked("결제 3567890123456785") == "결제 [카드번호]"
    assert masked("아멕스 3775-123456-78907") == "아멕스 [카드번호]"
    assert masked("카드번호 1234-5678-9012-3456") == "카드번호 [카드번호]"  # no Luhn, but a card
    # 16 digits that fail the check and are not called a card; mixed separators.
    assert masked("일련번호 1234-5678-9012-3456") == "일련번호 1234-5678-9012-3456"
    assert masked("결제 4532-0151 1283-0366") == "결제 4532-0151 1283-0366"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("서울특별시 강남구 테헤란로 152, 101동 1203호로", "[주소]로"),
        ("배송지 경기도 성남시 분당구 판교역로 235 / 연락처", "배송지 [주소] / 연락처"),
        ("부산광역시 해운대구 우동 1408-3번지입니다", "[주소]입니다"),
        ("세종특별자치시 한누리대로 2130", "[주소]"),
        ("강남구 봉은사로68길 12 (역삼동)", "[주소]"),
        ("부산 수영구 광안해변로 219 광안리아파트 103동 1502호, 보증금", "[주소], 보증금"),
    ],
)
def test_addresses(text: str, expected: str) -> None:
    assert masked(text) == expected


@pytest.mark.parametrize(
    "text", ["3호선 강남구청역 2번 출구", "서울 강남구 역삼동 사무실", "본관 7층 701호 회의실"]
)
def test_places_that_are_not_addresses(text: str) -> None:
    assert masked(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("여권번호 M12345678", "여권번호 [여권번호]"),
        ("여권번호M123A4567입니다", "여권번호[여권번호]입니다"),  # the format since 2021
        ("여권(S12345678) 제시", "여권([여권번호]) 제시"),
        ("면허번호 11-23-456789-01", "면허번호 [운전면허번호]"),
        ("면허번호 서울 12-345678-90", "면허번호 [운전면허번호]"),
    ],
)
def test_passport_and_licence_numbers(text: str, expected: str) -> None:
    assert masked(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "로트번호 S20240601 제품",  # a letter and 8 digits, but no passport
        "모델명 SM-G991N, 사번 E20190412",
        "빌드 2024-06-11-01 배포",
        "버전 3.12.4, 가격 1,390,000원, 2025년 1월 1일",
    ],
)
def test_codes_that_are_not_documents(text: str) -> None:
    assert masked(text) == text


def test_placeholders_are_left_alone_and_english_ones_are_used_for_english() -> None:
    already = "[이름] 고객님, [계좌번호]로 [이름] 님께"
    assert masked(already) == already and not has_pattern_pii(already)
    assert mask_patterns("Ms. Jane Doe, card 4532-0151-1283-0366", "en") == (
        "Ms. [NAME], card [CARD_NUMBER]"
    )


GIVEN = "팀장님이 [이름]랑 지호한테 보고서 검토를 맡기셨어요. 버전 3.12.4"


@pytest.mark.parametrize(
    "rewritten",
    [
        GIVEN,
        "팀장님이 [이름]랑 [이름]한테 보고서 검토를 맡기셨어요. 버전 3.12.4",
        "  팀장님이 [이름]랑 [이름]한테 보고서 검토를 맡기셨어요.\n버전 3.12.4\n",  # blanks
    ],
)
def test_a_faithful_rewrite_is_kept(rewritten: str) -> None:
    assert faithful_rewrite(GIVEN, rewritten) == rewritten


@pytest.mark.parametrize(
    "rewritten",
    [
        "[이름]님과 지호한테 보고서 검토를 맡기셨어요. 버전 3.12.4",  # reworded
        "팀장님이 [이름]랑 지호한테 보고서 검토를 맡기셨어요.",  # a part dropped
        "팀장님이 [이름]랑 지호한테 보고서 검토를 맡기셨어요. 버전 [이름]",  # digits as a name
        "[이름]님과 " * 30,  # the small model's loops
        "보고서 검토를 맡기셨군요. 무엇을 도와드릴까요?",  # an answer, not a rewrite
    ],
)
def test_an_unfaithful_rewrite_gives_way_to_the_text_it_was_given(rewritten: str) -> None:
    assert faithful_rewrite(GIVEN, rewritten) == GIVEN


def test_a_rewrite_may_mask_an_address_the_patterns_missed() -> None:
    given = "수거지는 충남대학교 공과대학 5호관 앞입니다"
    assert faithful_rewrite(given, "수거지는 [주소] 앞입니다") == "수거지는 [주소] 앞입니다"


def test_text_the_analyzer_cannot_take_is_still_masked() -> None:
    """A lone surrogate (JSON can carry "\\ud800") made the morphological analyzer raise."""
    text = "\ud800 김민지 고객님 010-1234-5678 😀 박서준 대리"
    assert masked(text) == "\ud800 [이름] 고객님 [전화번호] 😀 [이름] 대리"
