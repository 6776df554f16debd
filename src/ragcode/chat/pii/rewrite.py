"""Whether the model's rewrite of mode `pii` is the text it was given, with only names or
addresses turned into placeholders. The 0.5B model often summarizes, answers, drops lines or
repeats placeholders instead (eval/README.md, "PII 마스킹"); such an output is worth less than
the deterministically masked text it was given."""

from __future__ import annotations

import re

from ragcode.chat.pii.spans import PLACEHOLDERS

_NAME = frozenset(names["name"] for names in PLACEHOLDERS.values())
_ADDRESS = frozenset(names["address"] for names in PLACEHOLDERS.values())
_TOKEN = re.compile(
    "|".join(re.escape(p) for names in PLACEHOLDERS.values() for p in names.values()) + "|.",
    re.DOTALL,
)
_LONGEST = {**{p: 12 for p in _NAME}, **{p: 60 for p in _ADDRESS}}  # characters replaced


def faithful_rewrite(given: str, rewritten: str) -> str:
    """`rewritten` when it is `given` (blanks aside) with some names or addresses replaced by
    their placeholders; `given` otherwise."""
    return rewritten if _faithful(_squeeze(given), _squeeze(rewritten)) else given


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def _faithful(given: str, rewritten: str) -> bool:
    """Each token of `rewritten` (a placeholder, or one character) matches `given` at the
    positions reached so far: itself, or for a name or address placeholder, a piece of the
    text it may stand for (no digits in a name, no brackets or line breaks in either)."""
    reached = {0}
    for token in _TOKEN.findall(rewritten):
        following: set[int] = set()
        for at in reached:
            if given.startswith(token, at):
                following.add(at + len(token))
            for end in range(at + 1, min(at + _LONGEST.get(token, 0), len(given)) + 1):
                char = given[end - 1]
                if char in "[]\n" or (token in _NAME and char.isdigit()):
                    break
                following.add(end)
        if not following:
            return False
        reached = following
    return len(given) in reached
