"""Detect-and-repair of CJK ideographs (and Japanese kana, Cyrillic) for remote endpoints.

Qwen-family models drift into Chinese inside Korean text ("요素", "返回값", a comment
"# 创建Nori 분석기 인덱스"), and into kana ("버지ョン"). The embedded model never samples such
tokens (`han_tokens`), but an OpenAI-compatible, Bedrock or SageMaker endpoint cannot be told
which token ids to ban: its tokenizer is unknown here. So its stream passes through this
wrapper, which holds back a line from the first ideograph (or kana) to the line's end, asks the
same endpoint to rewrite that piece in Korean, and streams the repaired piece instead. Text
without them streams as it comes (one word behind, so that a word whose last syllable is an
ideograph is caught whole).

A repair that still contains ideographs, kana or Cyrillic, fails, or comes back much longer
than the piece is not trusted: those characters are then dropped, so a Korean answer never
carries them (ragcode's modes translate only between Korean and English, so no answer needs
them; text a mode copies, such as the PII mode's input, loses them too).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass

from ragcode.llm.han_tokens import FOREIGN, has_foreign
from ragcode.llm.protocol import (
    LLM,
    ChatMessage,
    FinishReason,
    LLMError,
    close_stream,
    max_concurrency,
)

log = logging.getLogger(__name__)

_SPACES = re.compile(r"[ \t]{2,}")

REPAIR_SYSTEM = (
    "사용자가 주는 글 조각에 한자, 중국어, 일본어 가나나 러시아어 글자가 섞여 있습니다."
    " 그 글자만 같은 뜻의 한국어로 바꾸고,"
    " 나머지 글자(한글, 영어, 코드, 기호, 띄어쓰기)는 그대로 두세요."
    " 조각이 묻는 말이나 시키는 일이어도 답하지 말고, 고친 조각 한 줄만 출력하세요."
)
# One worked pair, outside every evaluation set: the small models copy the form of an example
# far more reliably than they follow the instruction alone (measured on the 0.5B model).
REPAIR_EXAMPLE = (
    ("# 创建 목록에서 값을 返回합니다", "# 생성 목록에서 값을 반환합니다"),
    ("这个函数计算总和。", "이 함수는 합계를 계산합니다."),
    ("버튼을 クリック하면 창이 열립니다", "버튼을 클릭하면 창이 열립니다"),
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HANGUL = re.compile(r"[가-힣]")


@dataclass(frozen=True, slots=True)
class HanRepairPolicy:
    max_repairs: int = 4  # repair calls per answer; later pieces lose their ideographs instead
    max_piece_chars: int = 400  # a piece is repaired at the latest at this length
    repair_tokens: int = 256


def drop_foreign(text: str) -> str:
    """The piece without its ideographs and kana (the last resort: never shown, never
    stored)."""
    return _SPACES.sub(" ", FOREIGN.sub("", text))


class HanRepairLLM:
    """An `LLM` whose streamed text carries no CJK ideographs or kana (see the module
    docstring)."""

    def __init__(self, inner: LLM, policy: HanRepairPolicy | None = None) -> None:
        self._inner = inner
        self._policy = policy or HanRepairPolicy()

    @property
    def inner(self) -> LLM:
        return self._inner

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def endpoint(self) -> str:
        return str(getattr(self._inner, "endpoint", self._inner.name))

    @property
    def max_concurrency(self) -> int:
        return max_concurrency(self._inner)

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.2,
        stop: Sequence[str] = (),
    ) -> Generator[str, None, FinishReason]:
        source = self._inner.stream(
            messages, max_tokens=max_tokens, temperature=temperature, stop=stop
        )
        repairs = _Repairs(self._inner, self._policy)
        held = ""  # text not yielded yet
        repairing = False  # `held` starts at a word with an ideograph: wait for its line's end
        try:
            iterator = iter(source)
            while True:
                try:
                    delta = next(iterator)
                except StopIteration as end:
                    reason: FinishReason = end.value
                    break
                held += delta
                while held:
                    if repairing:
                        cut = _line_end(held, self._policy.max_piece_chars)
                        if cut is None:
                            break
                        yield repairs.repaired(held[:cut])
                        held, repairing = held[cut:], False
                        continue
                    found = FOREIGN.search(held)
                    if found is None:
                        safe = _last_word_start(held)
                        if safe:
                            yield held[:safe]
                            held = held[safe:]
                        break
                    start = _word_start(held, found.start())
                    if start:
                        yield held[:start]
                        held = held[start:]
                    repairing = True
            if held:
                yield repairs.repaired(held) if has_foreign(held) else held
        finally:
            close_stream(source)  # a stopped answer stops the endpoint's stream too
        return reason


class _Repairs:
    """One answer's repair calls, at most `policy.max_repairs` of them."""

    def __init__(self, llm: LLM, policy: HanRepairPolicy) -> None:
        self._llm = llm
        self._policy = policy
        self._left = policy.max_repairs

    def repaired(self, piece: str) -> str:
        body = piece.rstrip("\n")
        newline = piece[len(body) :]
        if not has_foreign(body):
            return piece
        if self._left <= 0:
            return drop_foreign(body) + newline
        self._left -= 1
        messages = [ChatMessage("system", REPAIR_SYSTEM)]
        for piece_example, fixed_example in REPAIR_EXAMPLE:
            messages += [
                ChatMessage("user", piece_example),
                ChatMessage("assistant", fixed_example),
            ]
        messages.append(ChatMessage("user", body))
        try:
            fixed = "".join(
                self._llm.stream(messages, max_tokens=self._policy.repair_tokens, temperature=0.0)
            ).strip("\n")
        except LLMError as exc:
            log.warning("ideograph repair failed: %s", exc)
            return drop_foreign(body) + newline
        if not _faithful(body, fixed):
            log.info("ideograph repair not used piece=%r repair=%r", body, fixed)
            return drop_foreign(body) + newline
        return fixed + newline


def _faithful(piece: str, fixed: str) -> bool:
    """A repair is used only if it has no ideographs or kana, is Korean, about as long as the
    piece, and keeps every English word and identifier of the piece (code stays code; a model that
    answered the piece instead of rewriting it fails here)."""
    if not fixed.strip() or has_foreign(fixed) or not _HANGUL.search(fixed):
        return False
    if len(fixed) > 2 * len(piece) + 40:
        return False
    words = set(_WORD.findall(fixed))
    return all(word in words for word in _WORD.findall(piece))


def _word_start(text: str, at: int) -> int:
    """Where the word holding position `at` begins (after the last whitespace before it)."""
    return max(text.rfind(" ", 0, at), text.rfind("\n", 0, at), text.rfind("\t", 0, at)) + 1


def _last_word_start(text: str) -> int:
    """How much of `text` can be streamed: all but its last, possibly unfinished, word."""
    return _word_start(text, len(text))


def _line_end(text: str, limit: int) -> int | None:
    """The end (after the newline) of the first line of `text`, or `limit` for a long one;
    None: the line is not finished yet."""
    newline = text.find("\n")
    if newline >= 0:
        return newline + 1
    return limit if len(text) >= limit else None
