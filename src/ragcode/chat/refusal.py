"""The LLM's fixed "the documents do not answer" sentence: recognised, and held back while
it streams, so a refused answer can still be retried without the user seeing the refusal."""

from __future__ import annotations

from collections.abc import Generator, Iterable

from ragcode.chat.code_answer import AnswerDelta
from ragcode.chat.prompts import qa as prompts

REFUSALS = (prompts.REFUSAL_KO, prompts.REFUSAL_EN)


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold()


def is_refusal(answer: str) -> bool:
    """The answer contains the prompt's fixed no-answer sentence (either language)."""
    flat = _flat(answer)
    return any(_flat(sentence) in flat for sentence in REFUSALS)


def _may_be_refusal(text: str) -> bool:
    """`text` is still the start of a refusal sentence, or already holds a whole one."""
    flat = _flat(text)
    return any(
        _flat(sentence).startswith(flat) or flat.startswith(_flat(sentence))
        for sentence in REFUSALS
    )


def stream_unless_refusal(deltas: Iterable[str]) -> Generator[AnswerDelta, None, tuple[str, bool]]:
    """Pass the deltas on, holding them back while the text so far may still be (or already
    starts with) the refusal sentence. Returns the whole text and whether it was shown; text
    that starts with the refusal is never shown here (the caller decides what to show)."""
    parts: list[str] = []
    shown = False
    for delta in deltas:
        parts.append(delta)
        if shown:
            yield AnswerDelta(delta)
        elif not _may_be_refusal("".join(parts)):
            shown = True
            yield AnswerDelta("".join(parts))  # the held start with this delta
    return "".join(parts), shown
