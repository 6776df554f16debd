"""The MCP tools' work, on the team knowledge base alone: plain Python, no MCP types.

The App (store, embedders, LLM) is built at the first call, so a client's `initialize` and
`tools/list` are answered before anything heavy is opened or loaded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from ragcode.app import App
from ragcode.chat.code_answer import CodeAnswer
from ragcode.chat.doc_answer import DocAnswer
from ragcode.chat.language import record_languages
from ragcode.domain import TEAM_ONLY, StoredRecord
from ragcode.mcp_server import schema
from ragcode.mcp_server.inputs import (
    MAX_ASK_TOP_K,
    MAX_SEARCH_TOP_K,
    ToolInputError,
    check_code_language,
    check_language,
    check_query,
    check_text,
    check_top_k,
)

Final = TypeVar("Final", CodeAnswer, DocAnswer)


# Units looked at for the hint of a unit not found: the best BM25 matches of its name.
HINT_CANDIDATES = 200


class UnitNotFoundError(ToolInputError):
    """No unit of the team knowledge base has that path and name."""


class LazyApp:
    """The App, built on first use (once, whatever the number of concurrent first calls)."""

    def __init__(self, factory: Callable[[], App]) -> None:
        self._factory = factory
        self._app: App | None = None
        self._lock = threading.Lock()

    def get(self) -> App:
        with self._lock:
            if self._app is None:  # a failed build leaves None: the next call tries again
                self._app = self._factory()
            return self._app

    def close(self) -> None:
        with self._lock:
            app, self._app = self._app, None
        if app is not None:
            app.close()


class KnowledgeTools:
    """One method per MCP tool, each given the owner `scopes` its caller may see: the team's
    over stdio (as for the CLI: a web user's private uploads are never searched, read or
    cited there), what an API key's user sees over HTTP (`ragcode serve`, `/mcp`)."""

    def __init__(self, app: Callable[[], App]) -> None:
        self._app = app  # LazyApp.get for `ragcode mcp`; the server's own App for `/mcp`

    def search_code(
        self,
        query: str,
        language: str | None = None,
        top_k: int | None = None,
        scopes: Sequence[str] = TEAM_ONLY,
    ) -> schema.SearchCodeOut:
        query = check_query(query)
        wanted = check_language(language)
        top_k = check_top_k(top_k, MAX_SEARCH_TOP_K)
        app = self._app()
        limit = top_k or app.settings.search.top_k
        # The language is filtered inside the store's queries, before any cut (issue 15.2):
        # a language with few units still fills the list. TypeScript includes .tsx files.
        # "tsx" alone (not a code language one chooses to be answered in): .tsx files only.
        languages = (wanted,) if wanted == "tsx" else record_languages(wanted)
        hits = app.searcher.search(query, top_k=limit, scopes=scopes, languages=languages)
        return schema.SearchCodeOut(
            query=query, language=wanted, hits=[schema.code_hit(hit) for hit in hits]
        )

    def get_unit(self, path: str, name: str, scopes: Sequence[str] = TEAM_ONLY) -> schema.UnitOut:
        path = check_text(path, "경로").replace("\\", "/").removeprefix("./")
        name = check_text(name, "이름")
        app = self._app()
        # an exact look-up by location: a search could rank the unit out of its candidates
        found = _pick_unit(app.store.units_in_file(path, scopes), path, name)
        if found is not None:
            return schema.unit(found)
        # not there: the files holding that name, found by its identifier tokens, as a hint
        tokens = app.analyzer.analyze_identifiers([name])
        scored = app.store.lexical_search("identifiers", tokens, HINT_CANDIDATES, scopes)
        others = app.store.get_units([hit.uid for hit in scored], scopes).values()
        elsewhere = sorted({s.record.path for s in others if _same_name(s.record.title, name)})
        hint = f" 같은 이름이 있는 파일: {', '.join(elsewhere[:5])}." if elsewhere else ""
        raise UnitNotFoundError(
            f"팀 지식 베이스에서 '{path}'의 '{name}' 단위를 찾지 못했습니다.{hint} "
            f"search_code 로 경로와 이름을 확인하세요 (unit not found)."
        )

    def ask_code(
        self,
        question: str,
        top_k: int | None = None,
        scopes: Sequence[str] = TEAM_ONLY,
        language: str | None = None,
    ) -> schema.CodeAnswerOut:
        """`language`: the code language of the answer, its references that language's
        alone (as the web chat's choice); None: from the question and its context."""
        question = check_query(question, "질문")
        top_k = check_top_k(top_k, MAX_ASK_TOP_K)
        chosen = check_code_language(language)
        assistant = self._app().code_assistant()
        events = assistant.ask(question, (), top_k=top_k, scopes=scopes, code_language=chosen)
        return schema.code_answer(_final(events, CodeAnswer))

    def search_docs(
        self, query: str, top_k: int | None = None, scopes: Sequence[str] = TEAM_ONLY
    ) -> schema.SearchDocsOut:
        query = check_query(query)
        top_k = check_top_k(top_k, MAX_SEARCH_TOP_K)
        hits = self._app().docs.searcher.search(query, top_k=top_k, scopes=scopes)
        numbered = [schema.doc_hit(n, hit) for n, hit in enumerate(hits, start=1)]
        return schema.SearchDocsOut(query=query, hits=numbered)

    def ask_docs(
        self, question: str, top_k: int | None = None, scopes: Sequence[str] = TEAM_ONLY
    ) -> schema.DocAnswerOut:
        question = check_query(question, "질문")
        top_k = check_top_k(top_k, MAX_ASK_TOP_K)
        events = self._app().document_assistant().ask(question, top_k, scopes)
        return schema.doc_answer(_final(events, DocAnswer))


def _final(events: Iterable[object], final: type[Final]) -> Final:
    """The assistant's last event, its complete answer (the deltas are for streaming UIs)."""
    for event in events:
        if isinstance(event, final):
            return event
    raise RuntimeError("the assistant ended without a final answer")  # pragma: no cover


def _pick_unit(in_file: list[StoredRecord], path: str, name: str) -> StoredRecord | None:
    """The unit of the file named `name` (qualified, or its last part when that is unique);
    None when the file has none."""
    exact = [stored for stored in in_file if stored.record.title == name]
    if exact:
        return exact[0]
    by_tail = [stored for stored in in_file if stored.record.title.rsplit(".", 1)[-1] == name]
    if len(by_tail) == 1:
        return by_tail[0]
    if by_tail:
        names = ", ".join(stored.record.title for stored in by_tail)
        raise ToolInputError(
            f"'{path}'에 '{name}' 단위가 여럿입니다: {names}. 정규화된 이름으로 다시 요청하세요 "
            f"(ambiguous name)."
        )
    return None


def _same_name(title: str, name: str) -> bool:
    return title == name or title.rsplit(".", 1)[-1] == name.rsplit(".", 1)[-1]
