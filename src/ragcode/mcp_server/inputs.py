"""What an MCP client may send, checked with messages a user can act on (Korean first)."""

from __future__ import annotations

from ragcode.chat.language import AUTO, CODE_LANGUAGES
from ragcode.ingest.languages import SUPPORTED_LANGUAGES

MAX_SEARCH_TOP_K = 50  # the searcher re-ranks at most `search.rerank_depth` (50) candidates
MAX_ASK_TOP_K = 20  # references given to the LLM: more would not fit its context
MAX_QUERY_CHARS = 4000

# Names clients commonly use for a language, besides ours.
_ALIASES = {"py": "python", "js": "javascript", "ts": "typescript", "golang": "go"}


class ToolInputError(ValueError):
    """An argument the tool cannot use; the message tells the caller what to send instead."""


def check_query(text: str, what: str = "검색어") -> str:
    query = text.strip()
    if not query:
        raise ToolInputError(f"{_subject(what)} 비어 있습니다 (empty {_english(what)}).")
    if len(query) > MAX_QUERY_CHARS:
        raise ToolInputError(
            f"{_subject(what)} 너무 깁니다: {len(query)}자, 최대 {MAX_QUERY_CHARS}자 "
            f"({_english(what)} too long)."
        )
    return query


def check_top_k(top_k: int | None, maximum: int) -> int | None:
    """None: the configured default."""
    if top_k is not None and not 1 <= top_k <= maximum:
        raise ToolInputError(
            f"top_k 는 1 이상 {maximum} 이하여야 합니다: {top_k} "
            f"(top_k must be between 1 and {maximum})."
        )
    return top_k


def check_language(language: str | None) -> str | None:
    """Our name of a programming language, or None (any language)."""
    if language is None or not language.strip():
        return None
    name = language.strip().lower()
    name = _ALIASES.get(name, name)
    if name not in SUPPORTED_LANGUAGES:
        known = ", ".join(sorted(SUPPORTED_LANGUAGES))
        raise ToolInputError(
            f"지원하지 않는 언어입니다: {language!r}. 다음 중 하나를 쓰세요: {known} "
            f"(unknown language)."
        )
    return name


def check_code_language(language: str | None) -> str | None:
    """The code language an answer is written in (chat/language.py CODE_LANGUAGES), or
    None (chosen from the question and its context). "tsx" is TypeScript here."""
    if language is None or not language.strip() or language.strip().lower() == AUTO:
        return None
    name = language.strip().lower()
    name = {**_ALIASES, "tsx": "typescript"}.get(name, name)
    if name not in CODE_LANGUAGES:
        known = ", ".join(CODE_LANGUAGES)
        raise ToolInputError(
            f"코드 언어로 고를 수 없는 언어입니다: {language!r}. 다음 중 하나를 쓰거나 "
            f"생략하세요: {known} (unknown code language)."
        )
    return name


def check_text(text: str, what: str) -> str:
    value = text.strip()
    if not value:
        raise ToolInputError(f"{_subject(what)} 비어 있습니다 (empty {_english(what)}).")
    return value


def _subject(word: str) -> str:
    """The word with its subject particle: 이 after a final consonant, 가 after a vowel."""
    last = word[-1]
    has_final = "가" <= last <= "힣" and (ord(last) - ord("가")) % 28 != 0
    return word + ("이" if has_final else "가")


def _english(what: str) -> str:
    return {"검색어": "query", "질문": "question", "경로": "path", "이름": "name"}.get(what, what)
