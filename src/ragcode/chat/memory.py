"""Which chat modes share a conversation's memory, and how memory is read from the history.

One memory per conversation, shared by the conversational modes: `normal`, `code`, `qa` and
`step-by-step` read the conversation's last turns of any of these modes, so a follow-up
works across a mode switch ("이 함수 설명해 줘" in normal chat, then "그걸 비동기로 바꿔줘"
in code generation; "예금 해지 방법?" then "그럼 수수료는?" in document Q&A). `code` and `qa`
rewrite the follow-up into a standalone question with that memory before they search.

The single-shot transformation modes (`translation`, `grammar`, `sentiment`, `extraction`,
`pii`, `timestamp-extraction`) work on the text they are given: they neither read the memory
(an earlier answer must not leak into a translation) nor add to it (a translated paragraph
is not context for the next question). Their turns stay in the shown history.

"Forget" (`POST /api/conversations/{id}/forget`) makes memory start after the turns recorded
so far; the history keeps showing them. Another conversation's turns are never memory.
"""

from __future__ import annotations

from collections.abc import Iterable

from ragcode.domain import ChatTurn
from ragcode.history.protocol import StoredTurn

MEMORY_MODES: frozenset[str] = frozenset({"normal", "code", "qa", "step-by-step"})


def memory_turns(turns: Iterable[StoredTurn]) -> list[ChatTurn]:
    """Stored turns as the memory the modes read (oldest first)."""
    return [ChatTurn(t.question, t.answer, t.standalone_question) for t in turns]
