"""Query expansion: the LLM adds the words a question does not say but the index holds.

A Korean question and English code share no tokens; an FAQ says "OTP" where a user says
"일회용 비밀번호". One short generation (~1 s on the embedded model) bridges both. Search
never depends on it: a failure, a missing model or a busy LLM (e.g. writing summaries)
past the timeout gives no expansion and the search goes on without it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ragcode.llm.protocol import LLM, ChatMessage
from ragcode.retrieve.expansion_prompts import ExpansionPrompt

log = logging.getLogger(__name__)

_PREFIX = re.compile(r"^(?:search terms|keywords|검색어|확장|expansion)\s*[:：]\s*", re.IGNORECASE)
_MAX_CHARS = 300


@dataclass(frozen=True, slots=True)
class ExpansionSettings:
    timeout_s: float
    cache_size: int = 512


def clean_expansion(raw: str, question: str) -> str | None:
    """First non-empty line, prefixes and repeated words gone (small models loop)."""
    line = next((part.strip() for part in raw.strip().splitlines() if part.strip()), "")
    line = _PREFIX.sub("", line).strip("\"'`“” ")
    seen: set[str] = set()
    words = []
    for word in line.split():
        key = word.strip(",.;").lower()
        if key and key not in seen:
            seen.add(key)
            words.append(word)
    text = " ".join(words)[:_MAX_CHARS].strip(" ,")
    if not text or text == question.strip():
        return None
    return text


class QueryExpander:
    """Expands questions through an LLM, with a bounded wait and a small LRU cache."""

    def __init__(
        self,
        llm: Callable[[], LLM],
        prompt: ExpansionPrompt,
        settings: ExpansionSettings,
    ) -> None:
        self._llm = llm
        self._prompt = prompt
        self._settings = settings
        self._cache: OrderedDict[str, str | None] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def prompt_name(self) -> str:
        return self._prompt.name

    def preload(self, expansions: Iterable[tuple[str, str]]) -> None:
        """Known expansions (the evaluation ships the ones its figures were measured with)."""
        for question, expansion in expansions:
            self._remember(question, clean_expansion(expansion, question))

    def known(self) -> list[tuple[str, str]]:
        """The cached (question, expansion) pairs, to ship beside an evaluation set."""
        with self._lock:
            return [(q, e) for q, e in self._cache.items() if e is not None]

    def expand(self, question: str) -> str | None:
        with self._lock:
            if question in self._cache:
                self._cache.move_to_end(question)
                return self._cache[question]
        result: list[str | None] = []
        # A daemon thread, not an executor: a CLI must be able to exit while a slow
        # generation it gave up on is still running.
        worker = threading.Thread(
            target=self._generate, args=(question, result), name="query-expansion", daemon=True
        )
        worker.start()
        worker.join(self._settings.timeout_s)
        if worker.is_alive():
            log.warning("query expansion gave up after %.1f s", self._settings.timeout_s)
            return None
        return result[0] if result else None

    def _generate(self, question: str, result: list[str | None]) -> None:
        prompt = self._prompt
        messages = [ChatMessage("system", prompt.system)]
        for shot_question, shot_answer in prompt.shots:
            messages += [ChatMessage("user", shot_question), ChatMessage("assistant", shot_answer)]
        messages.append(ChatMessage("user", question))
        try:
            llm = self._llm()
            raw = "".join(llm.stream(messages, max_tokens=prompt.max_tokens, temperature=0.0))
        except Exception as exc:  # any backend failure only loses the expansion
            log.warning("query expansion failed: %s", exc)
            result.append(None)
            return
        expansion = clean_expansion(raw, question)
        log.debug("expansion %r -> %r", question, expansion)
        self._remember(question, expansion)
        result.append(expansion)

    def _remember(self, question: str, expansion: str | None) -> None:
        with self._lock:
            self._cache[question] = expansion
            self._cache.move_to_end(question)
            while len(self._cache) > self._settings.cache_size:
                self._cache.popitem(last=False)
