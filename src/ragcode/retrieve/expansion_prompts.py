"""Prompts that turn a question into extra search words (query expansion).

The few-shot examples are deliberately outside every shipped evaluation set's topics (toolz's
sequence, dictionary and function utilities, lodash-es's, govalidator's string validation and
conversion, their unanswerable questions; the bank FAQ), so the expansion is not tuned to the
questions it is measured on. A new evaluation set must not ask about these examples' topics
either (image thumbnails, crawling prices into a CSV file, returns and parcel tracking);
`tests/unit/test_expansion_prompts.py` checks the shipped sets. (Version 2's e-mail format
example was retired when the held-out Go set, a validation library, came: three of its
questions shared its "X 가 올바른 형식인지" wording.)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ExpansionPrompt:
    name: str  # part of the cache key: a changed prompt never reuses old expansions
    system: str
    shots: tuple[tuple[str, str], ...]
    max_tokens: int


# Code: a Korean question meets English identifiers and docstrings only through words the
# code would use, so the LLM translates the intent into them.
CODE_EXPANSION = ExpansionPrompt(
    name="code-en-terms-v3",
    system=(
        "You translate a question about a code base into English search terms. "
        "Answer with one line: likely function names (snake_case) and English keywords "
        "that would appear in the code or its docstring. No explanation."
    ),
    shots=(
        (
            "올린 이미지를 가로세로 비율을 유지하면서 작은 썸네일로 줄여 저장하는 코드",
            "thumbnail resize image aspect_ratio width height scale save",
        ),
        (
            "쇼핑몰 상품 페이지에서 가격을 긁어 와 CSV 파일로 저장하는 크롤러",
            "crawler scrape_prices html_parser product price csv_writer requests",
        ),
    ),
    max_tokens=40,
)

# Documents: users and FAQ writers name the same thing differently (synonyms, abbreviations,
# formal vs. spoken words), so the LLM adds the other names.
DOCUMENT_EXPANSION = ExpansionPrompt(
    name="doc-ko-paraphrase-v1",
    system=(
        "사용자의 질문을 검색어로 넓힙니다. 같은 뜻의 다른 표현, 공식 용어, 약어와 동의어를 "
        "한 줄로 쉼표로 구분해 쓰세요. 설명은 쓰지 마세요."
    ),
    shots=(
        (
            "주문한 물건 돌려보내고 돈 돌려받고 싶어요",
            "상품 반품 신청, 환불 절차, 구매 취소, 교환 반품, 결제 취소",
        ),
        (
            "택배가 어디쯤 왔는지 알고 싶어요",
            "배송 조회, 배송 추적, 운송장 번호, 배송 현황, 택배 위치 확인",
        ),
    ),
    max_tokens=48,
)
