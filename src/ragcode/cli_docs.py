"""`ragcode docs add|ask|remove|status`: the document Q&A knowledge base from the terminal."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from ragcode.app import App, build_app
from ragcode.chat.code_answer import AnswerDelta
from ragcode.chat.doc_answer import DocAnswer, DocumentAssistant
from ragcode.config import load_settings
from ragcode.documents.citations import location
from ragcode.ingest.indexer import IndexInputError

CODE_COLLECTION = "code"


def open_docs_app(data_dir: Path | None, collection: str | None) -> App:
    """The app with its documents part on `collection` (default: settings.documents)."""
    if collection == CODE_COLLECTION:
        raise IndexInputError("'code' 컬렉션은 코드 색인용입니다. 문서에는 다른 이름을 쓰세요")
    overrides: dict[str, Any] = {"data_dir": data_dir}
    if collection:
        overrides["documents"] = {"collection": collection}
    try:
        return build_app(load_settings(**overrides))
    except ValidationError as exc:
        message = f"설정이 잘못되었습니다 (컬렉션 이름: 영문, 숫자, _, -): {exc}"
        raise IndexInputError(message) from exc


def _open(args: argparse.Namespace) -> App:
    return open_docs_app(args.data_dir, args.collection)


def cmd_add(args: argparse.Namespace) -> int:
    from ragcode.cli_progress import TerminalProgress

    target = Path(args.path)
    app = _open(args)
    try:
        app.docs.indexer.wait_for_lexicon()  # this process exits right after the run
        report = app.docs.indexer.index(target, TerminalProgress())
        collection = app.docs.collection
    finally:
        app.close()
    if target.is_file() and report.skipped:  # the one file asked for could not be used
        print(f"오류: {report.skipped[0].path}: {report.skipped[0].reason}", file=sys.stderr)
        return 2
    print(
        f"문서 색인 완료 (컬렉션 {collection}): 파일 {report.files_seen}개 "
        f"(변경 {report.files_changed}, 그대로 {report.files_unchanged}, "
        f"삭제 {report.files_removed}, 건너뜀 {len(report.skipped)}), "
        f"청크 {report.units_written}개 기록",
        file=sys.stderr,
    )
    for skipped in report.skipped:
        print(f"  건너뜀: {skipped.path}: {skipped.reason}", file=sys.stderr)
    return 0


def run_question(
    assistant: DocumentAssistant, question: str, top_k: int | None, out: TextIO | None
) -> DocAnswer:
    """Stream the answer to `out` (None: silent) and return the final result."""
    for event in assistant.ask(question, top_k=top_k):
        if isinstance(event, AnswerDelta) and out is not None:
            out.write(event.text)
            out.flush()
        elif isinstance(event, DocAnswer):
            return event
    raise RuntimeError("the assistant ended without a final answer")  # pragma: no cover


def render_answer(result: DocAnswer, out: TextIO, streamed: str | None) -> None:
    """The final answer, with the [n] attached after generation. `streamed`: the text a
    terminal was shown as it was written (None: nothing), the model's own markers only; the
    answer is shown again, marked, only when the attached markers changed it."""
    if streamed is None:
        out.write(result.answer)
    elif result.answer.strip() != streamed.strip():
        out.write(f"\n\n--- 출처 번호를 붙인 답변 ---\n{result.answer}")


class _Shown(io.StringIO):
    """Writes through to the terminal and keeps what it showed."""

    def __init__(self, terminal: TextIO) -> None:
        super().__init__()
        self._terminal = terminal

    def write(self, text: str) -> int:
        self._terminal.write(text)
        return super().write(text)

    def flush(self) -> None:
        self._terminal.flush()


def render_sources(result: DocAnswer, out: TextIO) -> None:
    """The numbered sources under the answer; the ones its sentences cite are marked."""
    if not result.references:
        out.write("\n")
        return
    title = "출처" if result.answered else "살펴본 문서 (이 문서들에서 답을 찾지 못했습니다)"
    out.write(f"\n\n--- {title} ---\n")
    cited = set(result.cited)
    for number, hit in enumerate(result.references, start=1):
        chunk = hit.record
        mark = " · 인용" if number in cited else ""
        out.write(
            f"[{number}] {chunk.title} — {chunk.path} ({location(chunk)}), "
            f"관련도 {hit.scores.rerank:.2f}{mark}\n"
        )


def answer_json(result: DocAnswer) -> dict[str, object]:
    """`DocAnswer.as_dict` with each sentence's text beside its offsets (for scripts)."""
    payload = result.as_dict()
    payload["sentences"] = [
        {**sentence.as_dict(), "text": result.answer[sentence.start : sentence.end]}
        for sentence in result.sentences
    ]
    return payload


def cmd_ask(args: argparse.Namespace) -> int:
    app = _open(args)
    # A terminal sees the answer as it is written; a pipe gets the final text once.
    shown = _Shown(sys.stdout) if not args.json and sys.stdout.isatty() else None
    try:
        result = run_question(app.document_assistant(), args.question, args.top_k, shown)
    finally:
        app.close()
    if args.json:
        print(json.dumps(answer_json(result), ensure_ascii=False, indent=2))
    else:
        render_answer(result, sys.stdout, None if shown is None else shown.getvalue())
        render_sources(result, sys.stdout)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    app = _open(args)
    try:
        removed = app.docs.indexer.remove(Path(args.path))
        collection = app.docs.collection
    finally:
        app.close()
    print(f"문서 색인(컬렉션 {collection})에서 파일 {removed}개를 지웠습니다.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    app = _open(args)
    try:
        status = app.docs.store.status()
        collection = app.docs.collection
    finally:
        app.close()
    skipped = [{"path": s.path, "reason": s.reason} for s in status.skipped]
    if args.json:
        payload = {
            "collection": collection, "files": status.files,
            "chunks": status.units, "embedder": status.embedder, "skipped": skipped,
        }  # fmt: skip
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print(f"컬렉션 {collection}: 파일 {status.files}개, 청크 {status.units}개")
    print(f"임베딩 모델: {status.embedder or '(아직 색인 없음)'}")
    if skipped:
        print(f"건너뛴 파일 {len(skipped)}개:")
        for item in skipped:
            print(f"  {item['path']}: {item['reason']}")
    return 0


def register(sub: Any) -> None:
    """Add `docs` and its subcommands to the main parser's subparsers."""
    docs = sub.add_parser("docs", help="문서 Q&A: FAQ·문서를 색인하고 출처와 함께 답합니다")
    commands = docs.add_subparsers(dest="docs_command", required=True)

    def add(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        command: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
        command.add_argument("--data-dir", type=Path, default=None, help="데이터 디렉터리")
        command.add_argument("--collection", default=None, help="문서 컬렉션 (기본: docs)")
        command.set_defaults(handler=handler)
        return command

    add_cmd = add("add", cmd_add, "문서 파일이나 디렉터리를 색인합니다 (다시 실행하면 바뀐 것만)")
    add_cmd.add_argument("path")
    ask = add("ask", cmd_ask, "문서에서 답을 찾아 출처와 함께 답합니다")
    ask.add_argument("question")
    ask.add_argument("--top-k", type=int, default=None)
    ask.add_argument("--json", action="store_true")
    remove = add("remove", cmd_remove, "문서를 색인에서 지웁니다")
    remove.add_argument("path")
    status = add("status", cmd_status, "문서 컬렉션의 상태를 보여 줍니다")
    status.add_argument("--json", action="store_true")
