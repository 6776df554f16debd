"""`ragcode ask` and `ragcode chat`: stream RAG code answers to the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TextIO

from ragcode.app import App
from ragcode.chat.code_answer import AnswerDelta, AnswerRestart, CodeAnswer, CodeAssistant
from ragcode.domain import ChatTurn


def render_references(result: CodeAnswer, out: TextIO) -> None:
    out.write("\n\n--- 참고한 코드 ---\n")
    if result.rewritten_question:
        out.write(f"다시 쓴 질문: {result.rewritten_question}\n")
    if not result.references:
        out.write("(지식 베이스에 관련된 코드가 없습니다)\n")
    for number, hit in enumerate(result.references, start=1):
        unit, scores = hit.record, hit.scores
        out.write(
            f"[{number}] {unit.path}:{unit.start_line}-{unit.end_line} {unit.title} "
            f"(점수 {scores.final:.3f}: 재순위 {scores.rerank:.3f}, 융합 {scores.fused:.3f})\n"
        )
        if hit.summary:
            out.write(f"    요약: {hit.summary}\n")
    if result.syntax_error:
        out.write(f"주의: 생성된 코드에 문법 오류가 남아 있습니다 ({result.syntax_error})\n")


def run_question(
    assistant: CodeAssistant,
    question: str,
    history: list[ChatTurn],
    top_k: int | None,
    out: TextIO | None,
    code_language: str | None = None,
) -> CodeAnswer:
    """Stream one answer to `out` (None: stay silent) and return the final result.
    `code_language`: the language chosen with `--language` (None or "auto": as asked)."""
    events = assistant.ask(question, history, top_k=top_k, code_language=code_language)
    for event in events:
        if isinstance(event, AnswerDelta) and out is not None:
            out.write(event.text)
            out.flush()
        elif isinstance(event, AnswerRestart) and out is not None:
            out.write(event.notice)
        elif isinstance(event, CodeAnswer):
            return event
    raise RuntimeError("the assistant ended without a final answer")  # pragma: no cover


def cmd_ask(args: argparse.Namespace, open_app: Callable[[argparse.Namespace], App]) -> int:
    app = open_app(args)
    try:
        assistant = app.code_assistant()
        out = None if args.json else sys.stdout
        language = getattr(args, "language", None)
        result = run_question(assistant, args.question, [], args.top_k, out, language)
    finally:
        app.close()
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        render_references(result, sys.stdout)
    return 0


def cmd_chat(args: argparse.Namespace, open_app: Callable[[argparse.Namespace], App]) -> int:
    app = open_app(args)
    history: list[ChatTurn] = []
    window = app.settings.generation.history_turns
    print("ragcode 대화 모드입니다. /clear: 기억 지우기, /exit 또는 Ctrl+D: 끝내기")
    try:
        assistant = app.code_assistant()
        while True:
            try:
                question = input("\n질문> ").strip()
            except EOFError:
                print()
                break
            if not question:
                continue
            if question in {"/exit", "/quit"}:
                break
            if question == "/clear":
                history.clear()
                print("대화 기억을 지웠습니다.")
                continue
            language = getattr(args, "language", None)
            result = run_question(assistant, question, history, args.top_k, sys.stdout, language)
            render_references(result, sys.stdout)
            standalone = result.rewritten_question or question
            history.append(ChatTurn(question, result.answer, standalone))
            del history[:-window]
    finally:
        app.close()
    return 0
