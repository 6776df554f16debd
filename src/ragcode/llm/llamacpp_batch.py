"""Background generation on the embedded model: many sequences decoded in one batch.

On this CPU one decode step costs about the same for one sequence as for several (the weights
are read once per step), so summaries decoded eight at a time come out ~1.7x faster than one
after the other. Every prompt of the summary prompt shares its system text and worked example;
that prefix is computed once and kept in the KV cache (sequence 0), and each new sequence
starts from a copy of it, so only the unit's own code is prefilled. A finished sequence's
cells (its prompt and answer) are kept until their sequence id or cells are needed: a request
that continues that answer (the summarizer asking for a line the answer left out) starts from
them and prefills only its own last tokens.

One thread runs the batch. Requests join and leave it between steps (continuous batching), and
the thread waits whenever an interactive call (chat, query expansion) runs on the model's other
context: background work never slows an answer someone is waiting for by more than one step.
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ragcode.llm.gate import InteractiveGate
from ragcode.llm.han_tokens import suppress
from ragcode.llm.protocol import LLMError, LLMStopped

log = logging.getLogger(__name__)

PREFIX_SEQ = 0  # the shared prompt prefix lives here; requests use 1..slots
MIN_SHARED_PREFIX = 32  # tokens: below this a copy is not worth the bookkeeping
# Prompt tokens per step: a longer prefill would hold the CPU longer when a chat arrives.
PREFILL_CHUNK = 128
_DONE = object()


class _Wait(enum.Enum):
    """`_continued`: the request waits (its kept cells stay) until cells are given back."""

    WAIT = enum.auto()


@dataclass(slots=True)
class BatchRequest:
    prompt: list[int]
    max_tokens: int
    stop: tuple[str, ...]
    # Greedy decoding of a small model falls into loops ("이 함수는 ... 사용됩니다." again and
    # again until the token limit): a token that would repeat an n-gram of this size already
    # in the answer is not taken (0: no such rule).
    no_repeat_ngram: int = 0
    out: queue.Queue[object] = field(default_factory=queue.Queue)  # str pieces, error, _DONE
    cancelled: threading.Event = field(default_factory=threading.Event)

    def pieces(self) -> Iterator[str]:
        """What the caller iterates; closing it early cancels the sequence."""
        try:
            while (item := self.out.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, str)
                yield item
        finally:
            self.cancelled.set()


@dataclass(slots=True)
class _Sequence:
    seq_id: int
    request: BatchRequest
    shared: int  # leading prompt tokens copied from the cached prefix (cells not its own)
    todo: list[int]  # prompt tokens not prefilled yet
    pos: int = 0  # next position to write
    generated: int = 0
    raw: bytearray = field(default_factory=bytearray)
    emitted: int = 0  # characters of the decoded text already sent
    next_token: int | None = None
    answer: list[int] = field(default_factory=list)
    seen: dict[tuple[int, ...], set[int]] = field(default_factory=dict)  # n-1 tokens -> next

    def banned(self) -> set[int] | None:
        size = self.request.no_repeat_ngram
        if size <= 1 or len(self.answer) < size - 1:
            return None
        return self.seen.get(tuple(self.answer[len(self.answer) - size + 1 :]))

    def remember(self, token: int) -> None:
        size = self.request.no_repeat_ngram
        if size > 1 and len(self.answer) >= size - 1:
            key = tuple(self.answer[len(self.answer) - size + 1 :])
            self.seen.setdefault(key, set()).add(token)
        self.answer.append(token)

    @property
    def reserved(self) -> int:
        """KV cells this sequence may still need, counted from its start."""
        return self.pos - self.shared + len(self.todo) + self.request.max_tokens - self.generated


@dataclass(slots=True)
class _Kept:
    """A finished sequence's cells, kept for a request that continues its answer."""

    tokens: list[int]  # what its cells hold, position by position
    shared: int  # leading cells copied from the cached prefix (counted as the prefix's)
    prompt: int  # how many of the tokens were its prompt (the rest: its answer)

    @property
    def own(self) -> int:
        return len(self.tokens) - self.shared


def _held_back(text: str, stops: tuple[str, ...]) -> int:
    """Characters at the end of `text` that may be the start of a stop string."""
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:size]):
                longest = size
                break
    return longest


class BatchEngine:
    def __init__(
        self,
        llama: Any,
        *,
        slots: int,
        n_ctx: int,
        n_threads: int,
        gate: InteractiveGate,
        suppressed: np.ndarray | None = None,
    ) -> None:
        """`suppressed`: token ids never taken (`han_tokens`: no ideographs or kana in Korean)."""
        import llama_cpp

        self._lib = llama_cpp
        self._llama = llama
        self._slots = slots
        self._n_ctx = n_ctx
        self._gate = gate
        self._suppressed = suppressed
        self._vocab = llama_cpp.llama_model_get_vocab(llama.model)
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = max(PREFILL_CHUNK + slots, 512)
        params.n_ubatch = params.n_batch
        params.n_seq_max = slots + 1
        params.n_threads = n_threads
        params.n_threads_batch = n_threads
        params.kv_unified = True  # copies of the shared prefix point at the same cells
        params.no_perf = True
        self._ctx = llama_cpp.llama_init_from_model(llama.model, params)
        if not self._ctx:
            raise LLMError("로컬 LLM 배치 컨텍스트를 만들지 못했습니다")
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._batch = llama_cpp.llama_batch_init(params.n_batch, 0, 1)
        self._prefix: list[int] = []
        self._computed = 0
        self._last_prompt: list[int] = []
        self._pending: queue.Queue[BatchRequest | None] = queue.Queue()  # None: close
        # submit() and the thread's exit agree under this lock, so no request is put after
        # the exit drained the queue (it would wait forever).
        self._state = threading.Lock()
        self._closed = False
        self._waiting: list[BatchRequest] = []
        self._active: dict[int, _Sequence] = {}
        self._kept: dict[int, _Kept] = {}  # sequence id -> cells; oldest first
        self._thread = threading.Thread(target=self._loop, name="llm-batch", daemon=True)
        self._thread.start()

    @property
    def prefix_tokens(self) -> int:
        """Length of the cached prompt prefix that new sequences start from."""
        return len(self._prefix)

    @property
    def computed_prompt_tokens(self) -> int:
        """Prompt tokens run through the model so far (shared prefix once, then suffixes)."""
        return self._computed

    @property
    def alive(self) -> bool:
        with self._state:
            return not self._closed

    def submit(self, request: BatchRequest) -> None:
        if len(request.prompt) + request.max_tokens > self._n_ctx:
            raise LLMError(
                f"로컬 LLM 생성 실패: 프롬프트({len(request.prompt)} 토큰)가 너무 깁니다"
            )
        with self._state:
            if self._closed:
                raise LLMStopped("로컬 LLM 배치가 종료되었습니다")
            self._pending.put(request)

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop the thread after its current step (what runs or waits ends with LLMStopped);
        the thread frees the context on its way out."""
        self._pending.put(None)
        self._thread.join(timeout_s)

    # The loop: admit, wait for interactive calls, one step, hand out tokens.
    def _loop(self) -> None:
        try:
            while self._receive():
                self._run_once()
        except Exception:  # a bug here must not leave callers waiting forever
            log.exception("batch thread failed")
        finally:
            with self._state:
                self._closed = True
            stopped = LLMStopped("로컬 LLM 배치가 종료되었습니다")
            self._fail_all(stopped)
            for request in [*self._waiting, *self._drain_pending()]:
                if request is not None:
                    request.out.put(stopped)
            self._waiting = []
            self._lib.llama_batch_free(self._batch)
            self._lib.llama_free(self._ctx)

    def _drain_pending(self) -> list[BatchRequest | None]:
        """Everything submitted so far, without waiting."""
        items: list[BatchRequest | None] = []
        while True:
            try:
                items.append(self._pending.get_nowait())
            except queue.Empty:
                return items

    def _receive(self) -> bool:
        """Take new requests, blocking only when there is nothing to do; False once closed."""
        items: list[BatchRequest | None] = []
        if not self._active and not self._waiting:
            items.append(self._pending.get())
        items += self._drain_pending()
        self._waiting.extend(item for item in items if item is not None)
        return None not in items

    def _run_once(self) -> None:
        self._drop_cancelled()
        self._admit()
        if not self._active:
            return
        self._gate.wait_idle()
        try:
            self._step()
        except Exception as exc:  # the context is unusable: fail everyone, start clean
            log.exception("batch step failed")
            self._fail_all(LLMError(f"로컬 LLM 생성 실패: {exc}"))

    def _used_cells(self) -> int:
        return (
            len(self._prefix)
            + sum(s.reserved for s in self._active.values())
            + sum(k.own for k in self._kept.values())
        )

    def _admit(self) -> None:
        while self._waiting:
            request = self._waiting[0]
            seq = self._continued(request)
            if seq is _Wait.WAIT:
                return
            if seq is None:
                self._share_prefix(request.prompt)
                seq = self._started(request)
            if seq is None:
                return  # waits until finished sequences give their ids or cells back
            self._waiting.pop(0)
            self._last_prompt = request.prompt
            self._active[seq.seq_id] = seq

    def _continued(self, request: BatchRequest) -> _Sequence | _Wait | None:
        """A sequence on kept cells whose request this one continues: the prompt holds that
        whole prompt and reaches into its answer (a new unit that merely shares a few more
        tokens with a kept prompt than with the cached prefix must not take cells that the
        kept answer's own continuation is about to ask for). It prefills only the rest."""
        prompt = request.prompt
        best, size = None, max(self._shared_prefix(prompt), MIN_SHARED_PREFIX - 1)
        for seq_id, kept in self._kept.items():
            common = min(_common_length(kept.tokens, prompt), len(prompt) - 1)
            if common >= kept.prompt and common > size:
                best, size = seq_id, common
        if best is None:
            return None
        kept = self._kept[best]
        seq = _Sequence(best, request, min(kept.shared, size), prompt[size:], pos=size)
        for other in [i for i in self._kept if i != best]:
            if self._used_cells() - kept.own + seq.reserved <= self._n_ctx:
                break
            self._evict(other)
        if self._used_cells() - kept.own + seq.reserved > self._n_ctx:
            # Waits for running sequences to give cells back, keeping these; alone it would
            # fit once the prefix is given up, which starting afresh does.
            return _Wait.WAIT if self._active else None
        del self._kept[best]
        self._lib.llama_memory_seq_rm(self._memory, best, size, -1)  # the answer's tail
        return seq

    def _started(self, request: BatchRequest) -> _Sequence | None:
        """A sequence on a free id, from a copy of the cached prefix when it shares it."""
        free = [i for i in range(1, self._slots + 1) if i not in self._active]
        while self._kept and not [i for i in free if i not in self._kept]:
            self._evict()
        free = [i for i in free if i not in self._kept]
        if not free:
            return None
        prompt = request.prompt
        shared = self._shared_prefix(prompt)
        need = len(prompt) - shared + request.max_tokens
        while self._used_cells() + need > self._n_ctx and self._kept:
            self._evict()
        if self._used_cells() + need > self._n_ctx:
            if self._active:
                return None
            self._forget_prefix()  # alone it fits (submit checked), without the prefix
            shared = 0
        seq_id = free[0]
        if shared:
            self._lib.llama_memory_seq_cp(self._memory, PREFIX_SEQ, seq_id, 0, shared)
        return _Sequence(seq_id, request, shared, prompt[shared:], pos=shared)

    def _evict(self, seq_id: int | None = None) -> None:
        """Give kept cells back: these, or the oldest."""
        seq_id = next(iter(self._kept)) if seq_id is None else seq_id
        del self._kept[seq_id]
        self._lib.llama_memory_seq_rm(self._memory, seq_id, -1, -1)

    def _shared_prefix(self, prompt: list[int]) -> int:
        size = _common_length(self._prefix, prompt)
        # Keep at least one prompt token to prefill: its logits start the answer.
        size = min(size, len(prompt) - 1)
        return size if size >= MIN_SHARED_PREFIX else 0

    def _share_prefix(self, prompt: list[int]) -> None:
        """Before admitting `prompt`: when it shares more with the next waiting prompt (or the
        previous one) than with the cached prefix, that common part becomes the cached prefix,
        computed once here rather than once per sequence."""
        if self._shared_prefix(prompt) or any(s.shared for s in self._active.values()):
            # Kept while it serves this prompt, and while running sequences hold cells
            # copied from it (they are counted as the prefix's; replacing it would leave
            # them uncounted). So it changes only when the prompt template changes.
            return
        other = self._waiting[1].prompt if len(self._waiting) > 1 else self._last_prompt
        common = min(_common_length(prompt, other), len(prompt) - 1)
        if common < MIN_SHARED_PREFIX:
            return
        kept = sum(k.own for k in self._kept.values())  # given back below
        if self._used_cells() - kept - len(self._prefix) + common > self._n_ctx:
            return
        while self._kept:  # cells copied from the old prefix would be counted by nobody
            self._evict()
        self._forget_prefix()
        for start in range(0, common, PREFILL_CHUNK):
            self._gate.wait_idle()
            self._batch.n_tokens = 0
            for pos in range(start, min(common, start + PREFILL_CHUNK)):
                self._add(prompt[pos], pos, PREFIX_SEQ, False)
            if self._lib.llama_decode(self._ctx, self._batch) != 0:
                self._forget_prefix()
                return
            self._computed += self._batch.n_tokens
        self._prefix = prompt[:common]

    def _forget_prefix(self) -> None:
        self._lib.llama_memory_seq_rm(self._memory, PREFIX_SEQ, -1, -1)
        self._prefix = []

    def _drop_cancelled(self) -> None:
        self._waiting = [r for r in self._waiting if not r.cancelled.is_set()]
        for seq in [s for s in self._active.values() if s.request.cancelled.is_set()]:
            self._finish(seq, None)

    def _step(self) -> None:
        lib, batch = self._lib, self._batch
        batch.n_tokens = 0
        outputs: list[tuple[int, _Sequence]] = []  # (index in the batch, sequence)
        for seq in self._active.values():
            if seq.next_token is not None:
                outputs.append((batch.n_tokens, seq))
                self._add(seq.next_token, seq.pos, seq.seq_id, True)
                seq.pos += 1
        budget = PREFILL_CHUNK
        for seq in self._active.values():
            if not seq.todo or budget <= 0:
                continue
            chunk, seq.todo = seq.todo[:budget], seq.todo[budget:]
            budget -= len(chunk)
            self._computed += len(chunk)
            for offset, token in enumerate(chunk):
                last = not seq.todo and offset == len(chunk) - 1
                self._add(token, seq.pos + offset, seq.seq_id, last)
            seq.pos += len(chunk)
            if not seq.todo:
                outputs.append((batch.n_tokens - 1, seq))
        result = lib.llama_decode(self._ctx, batch)
        if result != 0:
            raise LLMError(f"llama_decode={result}")
        for index, seq in outputs:
            logits = np.ctypeslib.as_array(
                lib.llama_get_logits_ith(self._ctx, index), shape=(self._n_vocab,)
            )
            # The logits buffer is ours until the next decode.
            if self._suppressed is not None:
                suppress(logits, self._suppressed)
            banned = seq.banned()
            if banned:
                logits[list(banned)] = -np.inf
            self._take(seq, int(logits.argmax()))

    def _add(self, token: int, pos: int, seq_id: int, logits: bool) -> None:
        batch = self._batch
        i = batch.n_tokens
        batch.token[i] = token
        batch.pos[i] = pos
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = seq_id
        batch.logits[i] = logits
        batch.n_tokens = i + 1

    def _take(self, seq: _Sequence, token: int) -> None:
        """One generated token: stop at an end-of-generation token, a stop string or the
        length limit; send the text that can no longer turn out to be a stop string."""
        if self._lib.llama_vocab_is_eog(self._vocab, token):
            self._send(seq, seq.raw.decode("utf-8", errors="ignore"))  # the held-back tail
            self._finish(seq, None)
            return
        seq.generated += 1
        seq.remember(token)
        seq.raw += self._llama.detokenize([token])
        text = seq.raw.decode("utf-8", errors="ignore")
        stops = seq.request.stop
        hits = [i for i in (text.find(s, max(0, seq.emitted - len(s))) for s in stops) if i >= 0]
        if hits:
            self._send(seq, text[: min(hits)])
            self._finish(seq, None)
            return
        if seq.generated >= seq.request.max_tokens:
            self._send(seq, text)
            self._finish(seq, None)
            return
        self._send(seq, text[: len(text) - _held_back(text, stops)])
        seq.next_token = token

    @staticmethod
    def _send(seq: _Sequence, text: str) -> None:
        if len(text) > seq.emitted:
            seq.request.out.put(text[seq.emitted :])
            seq.emitted = len(text)

    def _finish(self, seq: _Sequence, error: BaseException | None) -> None:
        self._active.pop(seq.seq_id, None)
        if error is None and not seq.request.cancelled.is_set():
            # Its cells hold the prompt, then the answer up to `pos` (the token that ended
            # it was never decoded).
            tokens = [*seq.request.prompt, *seq.answer][: seq.pos]
            self._kept[seq.seq_id] = _Kept(tokens, seq.shared, len(seq.request.prompt))
        else:
            self._lib.llama_memory_seq_rm(self._memory, seq.seq_id, -1, -1)
        seq.request.out.put(error if error is not None else _DONE)

    def _fail_all(self, error: BaseException) -> None:
        for seq in list(self._active.values()):
            self._finish(seq, error)
        self._lib.llama_memory_clear(self._memory, True)
        self._kept = {}
        self._prefix = []
        self._last_prompt = []


def _common_length(a: list[int], b: list[int]) -> int:
    size = min(len(a), len(b))
    for i in range(size):
        if a[i] != b[i]:
            return i
    return size
