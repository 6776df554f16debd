"""The source list appended to an answer's text, and taking it off again when a client sends
the answer back as conversation memory (the web history keeps answers without it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

CODE_SOURCES = "\n\n---\n참고한 코드:\n"
DOCUMENT_SOURCES = "\n\n---\n참고한 문서:\n"


def source_list(mode: str, references: Sequence[Mapping[str, object]]) -> str:
    """A short list of what the answer used, appended to its text (empty without any), so a
    client that shows only the text still shows the sources."""
    if not references:
        return ""
    if mode == "code":
        lines = [_code_line(n, ref) for n, ref in enumerate(references, 1)]
        return CODE_SOURCES + "\n".join(lines)
    if mode == "qa":
        lines = [_document_line(ref) for ref in references]
        return DOCUMENT_SOURCES + "\n".join(lines)
    return ""


def without_sources(answer: str) -> str:
    """An answer of ours as the client shows it, without the source list we appended."""
    cut = max(answer.rfind(CODE_SOURCES), answer.rfind(DOCUMENT_SOURCES))
    return answer[:cut] if cut >= 0 else answer


def _code_line(number: int, ref: Mapping[str, object]) -> str:
    span = f"{ref.get('start_line')}-{ref.get('end_line')}"
    return f"{number}. {ref.get('path')}:{span} `{ref.get('name')}`"


def _document_line(ref: Mapping[str, object]) -> str:
    return f"[{ref.get('number')}] {ref.get('title')} ({ref.get('source')}, {ref.get('location')})"
