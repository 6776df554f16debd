"""What a person is shown of a hit: the description of its summary, which retrievers found it
and its final score. Every place that sends a summary or a reference to a person (the web
client's references and upload cards, the OpenAI-compatible API's `ragcode_references`, MCP)
goes through here; the store keeps the whole summary for search."""

from __future__ import annotations

import re

from ragcode.domain import Hit, Scores

# The lines `ingest.summarize.clean_summary` adds under the description for search only:
# "검색어: ..." (search terms) and "예상 질문: ..." (ingest.questions.QUESTIONS_LABEL).
_SEARCH_ONLY_LINE = re.compile(r"^\s*(?:검색어|키워드|(?:예상\s*)?질문)\s*[:：]")
RETRIEVERS = ("vector", "lexical")  # in the order they are shown


def display_summary(summary: str | None) -> str | None:
    """The description of a unit's summary, without the lines kept for search; None stays
    None (no summary yet, trivial or failed)."""
    if summary is None:
        return None
    kept = [line for line in summary.splitlines() if not _SEARCH_ONLY_LINE.match(line)]
    return "\n".join(kept).strip()


def found_by(scores: Scores) -> list[str]:
    """The retrievers whose ranked lists held the hit ("vector", "lexical"), for the question
    or its expansion (lists named e.g. "lexical:summary", "expanded-vector:code")."""
    names = {name.split(":", 1)[0].removeprefix("expanded-") for name in scores.ranks}
    if scores.vector is not None:
        names.add("vector")
    if scores.lexical is not None:
        names.add("lexical")
    return [name for name in RETRIEVERS if name in names]


def code_reference(hit: Hit) -> dict[str, object]:
    """A code hit as a reference for people: `Hit.as_dict()` with the description only and
    the retrievers that found it."""
    reference = hit.as_dict()
    reference["summary"] = display_summary(hit.summary)
    reference["retrievers"] = found_by(hit.scores)
    return reference
