"""Which token pieces write CJK ideographs or kana: whole characters and the first bytes of one."""

from __future__ import annotations

import numpy as np
import pytest

from ragcode.llm.han_tokens import foreign_token_ids, has_foreign, has_han, suppress, writes_foreign

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "piece",
    [
        "年".encode(),
        " 返回".encode(),
        "요素".encode(),  # the drift seen in real summaries
        "字符열".encode(),
        "㐀".encode(),  # Extension A
        "豈".encode(),  # compatibility ideograph
        "𠀀".encode(),  # plane 2
        b"\xe4",  # the lead byte of U+4000-U+4FFF, the rest in the next token
        b"ab\xe8\xbf",  # two of the three bytes of U+8FD4 (返)
        b"\xe3\x90",  # U+3400 on: Extension A
        b"\xf0\xa0",  # plane 2
        "버지ョン".encode(),  # the drift into kana once ideographs were banned
        "사이に".encode(),  # hiragana
        "ー".encode(),  # the katakana prolonged sound mark
        "ㇰ".encode(),  # Katakana Phonetic Extensions
        "ｶ".encode(),  # half-width katakana
        b"\xe3\x81",  # U+3040-U+307F: hiragana, the rest in the next token
        b"\xe3\x83",  # U+30C0-U+30FF: katakana
        "프로퍼ти".encode(),  # Cyrillic, seen in two real summaries
        "ни".encode(),
        "Ӿ".encode(),  # U+04FE, the end of the block
        b"\xd0",  # the lead byte of U+0400-U+043F, the rest in the next token
        b"ab\xd3",  # U+04C0-U+04FF
    ],
)
def test_ideographs_kana_and_their_first_bytes_are_suppressed(piece: bytes) -> None:
    assert writes_foreign(piece)


@pytest.mark.parametrize(
    "piece",
    [
        "요소".encode(),
        "ㄱ".encode(),  # Hangul compatibility jamo, U+3131 (lead byte E3 too)
        "。「」".encode(),  # CJK punctuation
        "가・나".encode(),  # U+30FB, the middle dot Korean text writes (in the Katakana block)
        "😀".encode(),
        b"return",
        b"\xea\xb0",  # the first two bytes of 가
        b"\xe3",  # U+3000-U+3FFF: could be jamo or punctuation
        b"\xe3\x80",  # U+3000-U+303F: CJK punctuation
        b"\xe3\x84",  # U+3100-U+313F: jamo
        b"\xef",  # could be a full-width form
        b"\xef\xbc",  # full-width forms
        b"\xf0\x9f",  # emoji
        b"\x80\x80",  # continuation bytes only
        "α λ π".encode(),  # Greek (formulas) stays
        b"\xce",  # the lead byte of Greek letters
        "é ü".encode(),
        b"\xd4",  # U+0500-U+053F: Cyrillic Supplement and Armenian, left alone
    ],
)
def test_korean_punctuation_emoji_and_ascii_are_not(piece: bytes) -> None:
    assert not writes_foreign(piece)


def test_ids_and_suppression() -> None:
    pieces = [b"a", "年".encode(), "가".encode(), b"\xe9", "ス".encode()]
    ids = foreign_token_ids(pieces)
    assert ids.tolist() == [1, 3, 4]
    logits = np.zeros(5, dtype=np.float32)
    assert suppress(logits, ids) is logits
    assert logits.tolist() == [0.0, -np.inf, 0.0, -np.inf, -np.inf]


def test_the_ask_eval_counts_ideographs_and_the_filters_also_kana() -> None:
    assert has_han("返回") and has_foreign("返回")
    assert not has_han("버지ョン") and has_foreign("버지ョン")
    assert not has_foreign("가・나 버전 version")
    assert not has_han("시그ни처") and has_foreign("시그ни처")
