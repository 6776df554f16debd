"""Korean tokenization reproducing OpenSearch's Nori analyzer on top of mecab-ko-dic.

Nori (with its defaults: ``decompound_mode=discard`` and the default stop-tags) is emulated by
running python-mecab-ko and then:

* replacing ``Compound`` morphemes by their parts (``데이터베이스`` -> ``데이터``, ``베이스``),
* also splitting ``Inflect``/``Preanalysis`` morphemes into their parts so that verbs reduce to
  stems (``했`` = ``하/VV`` + ``았/EP`` -> ``하``), then
* dropping every morpheme whose tag is one of Nori's default stop-tags, and every symbol, and
* lowercasing Latin text.
"""

from __future__ import annotations

import threading
import unicodedata

import mecab

# Nori's default ``stoptags`` (KoreanPartOfSpeechStopFilter.DEFAULT_STOP_TAGS).
NORI_STOP_TAGS: frozenset[str] = frozenset(
    {
        "E",
        "IC",
        "J",
        "MAG",
        "MAJ",
        "MM",
        "SP",
        "SSC",
        "SSO",
        "SC",
        "SE",
        "XPN",
        "XSA",
        "XSN",
        "XSV",
        "UNA",
        "NA",
        "VSV",
    }
)
# Nori's E and J are families: mecab-ko-dic emits EP/EF/EC/ETN/ETM and JKS/JKC/JKG/JKO/JKB/
# JKV/JKQ/JX/JC.
_STOP_TAG_FAMILIES: tuple[str, ...] = ("E", "J")
# Of the S* (symbol) tags, only foreign letters, hanja and numbers carry content; SF, SE, SSO,
# SSC, SC and SY are punctuation, which Nori discards (``discard_punctuation=true``).
_CONTENT_SYMBOL_TAGS: frozenset[str] = frozenset({"SL", "SH", "SN"})
# Morpheme types whose ``expression`` lists the parts (``하/VV/*+았/EP/*``).
_SPLIT_TYPES: frozenset[str] = frozenset({"Inflect", "Compound", "Preanalysis"})


def is_stop_tag(tag: str) -> bool:
    """True if a mecab-ko-dic tag is removed by Nori's default stop-tags or is punctuation."""
    if tag in NORI_STOP_TAGS or tag.startswith(_STOP_TAG_FAMILIES):
        return True
    return tag.startswith("S") and tag not in _CONTENT_SYMBOL_TAGS


def _parts(surface: str, feature: mecab.Feature) -> list[tuple[str, str]]:
    """(surface, tag) pairs of one morpheme; multi-part morphemes are split into their parts."""
    expression = feature.expression
    if feature.type in _SPLIT_TYPES and expression:
        parts: list[tuple[str, str]] = []
        for chunk in expression.split("+"):
            fields = chunk.split("/")
            if len(fields) < 2 or not fields[0]:
                break
            parts.append((fields[0], fields[1]))
        else:
            return parts
    # Single morpheme, or an expression we cannot read: Nori judges by the leftmost tag.
    return [(surface, feature.pos.split("+", 1)[0])]


def _normalize_token(surface: str, tag: str) -> str:
    if tag == "SL":
        # Full-width Latin (``Ｆｕｌｌ``) becomes ASCII; NFKC is safe here as SL holds no Hangul.
        surface = unicodedata.normalize("NFKC", surface)
    return surface.lower()


class NoriTokenizer:
    """Nori-like Korean tokenizer over one shared ``mecab.MeCab`` instance.

    Thread-safe: calls into MeCab are serialized by a lock. Measured on 2 cores, a lock around
    one tagger is as fast as one tagger per thread (most of the cost is Python-side object
    construction under the GIL), so the simpler design was kept.
    """

    def __init__(self) -> None:
        self._tagger = mecab.MeCab()
        self._lock = threading.Lock()

    def tokens(self, text: str) -> list[str]:
        """Nori tokens of ``text`` (surface forms; stop-tags and symbols dropped)."""
        return [token for _, token in self.tokens_with_offsets(text)]

    def tokens_with_offsets(self, text: str) -> list[tuple[int, str]]:
        """Like :meth:`tokens`, each token paired with the start offset of its morpheme.

        Offsets index into the NFC-normalized ``text`` (equal to ``text`` when it is already
        NFC, which is the normal case); parts of a split morpheme share its start offset.
        """
        text = unicodedata.normalize("NFC", text)
        if not text.strip():
            return []
        with self._lock:
            morphemes = self._tagger.parse(text)
        result: list[tuple[int, str]] = []
        for morpheme in morphemes:
            for surface, tag in _parts(morpheme.surface, morpheme.feature):
                if is_stop_tag(tag):
                    continue
                token = _normalize_token(surface, tag)
                if token:
                    result.append((morpheme.span.start, token))
        return result
