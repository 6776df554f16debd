"""The tokens of a vocabulary that write CJK ideographs (Hanja, Hanzi, Kanji), Japanese kana or
Cyrillic letters.

Qwen models drift into Chinese in Korean text ("요素", "기본값을返回", "字符열"): 13 of the 148
toolz summaries and 21 of the 152 govalidator summaries the 1.5B model wrote carried such
characters, which also hide the Korean word from the morphological index. Korean answers must
contain none, so the embedded model never samples these tokens (`llm.suppress_han`). With the
ideographs banned the drift goes to kana instead ("버지ョン", "시퀀ス", "사이に": 10 of the 148
toolz summaries regenerated that way), so kana are banned too: ragcode's modes write Korean
or English only, and the Korean middle dot U+30FB (in the Katakana block) stays allowed.
Cyrillic letters are banned as well: 2 of the 148 toolz summaries in the eval cache (written
with ideographs banned, before kana were) carried them ("프로퍼ти", "시그ни처"). Greek stays
(α, λ, π in formulas). Text a mode copies (PII masking, a quoted code line) loses them too.

A byte-level BPE vocabulary also has tokens holding only the first bytes of a character; the
lead byte of a three- or four-byte UTF-8 sequence (and its second byte where the lead byte is
shared with other blocks) says whether the character will be an ideograph, so those tokens
are suppressed too. Hangul, Hangul jamo, CJK punctuation and emoji are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

# CJK Unified Ideographs, Extension A, Compatibility Ideographs, Extensions B-F (plane 2).
HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
# Hiragana and Katakana (but U+30FB, the middle dot Korean text uses), Katakana Phonetic
# Extensions, half-width Katakana.
KANA = re.compile("[\u3040-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
# Cyrillic (U+0400-U+04FF: two UTF-8 bytes, lead bytes D0-D3).
CYRILLIC = re.compile("[\u0400-\u04ff]")
# What a Korean (or English) answer never needs.
FOREIGN = re.compile(f"{HAN.pattern}|{KANA.pattern}|{CYRILLIC.pattern}")


def has_han(text: str) -> bool:
    """CJK ideographs (the drift the ask eval counts)."""
    return HAN.search(text) is not None


def has_foreign(text: str) -> bool:
    """Ideographs, kana or Cyrillic: what the embedded model never writes and a repair
    removes."""
    return FOREIGN.search(text) is not None


def _is_continuation(byte: int) -> bool:
    return 0x80 <= byte <= 0xBF


def _unfinished_foreign(piece: bytes) -> bool:
    """Whether the piece ends inside a multi-byte character that can only be an ideograph,
    kana or Cyrillic."""
    for start in range(len(piece) - 1, max(-1, len(piece) - 4), -1):
        lead = piece[start]
        if _is_continuation(lead):
            continue
        tail = piece[start + 1 :]
        needed = 2 if 0xC0 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else 4
        if lead < 0xC0 or len(tail) + 1 >= needed:
            return False  # ASCII, or a finished character (the regex judged it)
        second = tail[0] if tail else None
        if 0xD0 <= lead <= 0xD3:
            return True  # U+0400-U+04FF
        if 0xE4 <= lead <= 0xE9:
            return True  # U+4000-U+9FFF
        if lead == 0xE3:  # U+3000-U+3FFF: punctuation, kana, jamo; U+3400 on: Extension A
            # U+3040-U+30FF (second byte 81-83): hiragana and katakana. A token holding only
            # the first bytes of U+30FB is suppressed too; the whole middle dot is not.
            return second is not None and (0x81 <= second <= 0x83 or second >= 0x90)
        if lead == 0xEF:  # U+F000-U+FFFF: U+F900-U+FAFF are compatibility ideographs
            return second is not None and 0xA4 <= second <= 0xAB
        if lead == 0xF0:  # U+10000-U+3FFFF: plane 2 is ideographs (emoji are U+1F...)
            return second is not None and 0xA0 <= second <= 0xAF
        return False
    return False


def writes_foreign(piece: bytes) -> bool:
    """Whether a token's bytes write (or begin) a CJK ideograph, kana or Cyrillic letter."""
    text = piece.decode("utf-8", errors="ignore")
    return bool(FOREIGN.search(text)) or _unfinished_foreign(piece)


def foreign_token_ids(pieces: Iterable[bytes]) -> np.ndarray:
    """Ids (positions in `pieces`, the vocabulary in id order) of the tokens to suppress."""
    ids = [i for i, piece in enumerate(pieces) if writes_foreign(piece)]
    return np.array(ids, dtype=np.int64)


def suppress(logits: np.ndarray, token_ids: np.ndarray) -> np.ndarray:
    """The logits with those tokens made impossible (in place; returned for processors)."""
    if token_ids.size:
        logits[token_ids] = -np.inf
    return logits
