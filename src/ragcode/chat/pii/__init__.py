"""Deterministic masking of personal data, before the LLM of mode `pii` and again on its output.

What a pattern finds never reaches the model, the answer or the history: e-mails, phones,
resident, passport and driver's licence numbers, card numbers (Luhn), bank account numbers
where the text speaks of an account, Korean postal addresses. Person names are found by the
dictionary (mecab-ko-dic's 인명) and by their Korean cues (a title after, a label before):
deterministic too, but a name without a cue that the dictionary does not know may stay.
One module per family of detectors; `spans` settles overlaps and writes the placeholders.
"""

from __future__ import annotations

from ragcode.chat.language import Lang
from ragcode.chat.pii.address import find_addresses
from ragcode.chat.pii.contact import find_contacts
from ragcode.chat.pii.documents import find_documents
from ragcode.chat.pii.finance import find_accounts, find_cards
from ragcode.chat.pii.names import find_names
from ragcode.chat.pii.spans import KINDS, PLACEHOLDERS, PiiKind, PiiSpan, replace, settle

__all__ = ["KINDS", "PLACEHOLDERS", "PiiKind", "PiiSpan", "find_pii", "has_pattern_pii"]
__all__ += ["mask_patterns"]


def find_pii(text: str) -> list[PiiSpan]:
    """Every piece of personal data found, without overlaps, in text order."""
    found = [
        *find_contacts(text),
        *find_cards(text),
        *find_documents(text),
        *find_accounts(text),
        *find_addresses(text),
        *find_names(text),
    ]
    return settle(text, found)


def mask_patterns(text: str, lang: Lang) -> str:
    """`text` with every piece of personal data found replaced by its placeholder in `lang`."""
    return replace(text, find_pii(text), lang)


def has_pattern_pii(text: str) -> bool:
    return bool(find_pii(text))
