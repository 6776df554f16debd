"""`ragcode eval`: retrieval metrics on a dataset, or (`--answers`) the whole document Q&A."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from ragcode import cli_docs
from ragcode.app import App
from ragcode.evaluation.answers import AnswerResult, answer_table, evaluate_answers
from ragcode.evaluation.dataset import EvalCase, load_dataset
from ragcode.evaluation.metrics import METRICS_HEADER, format_metrics
from ragcode.evaluation.runner import CONFIGURATIONS, by_language, evaluate
from ragcode.ingest.indexer import IndexInputError

OpenApp = Callable[[argparse.Namespace], App]


def cmd_eval(args: argparse.Namespace, open_code_app: OpenApp) -> int:
    cases = load_dataset(Path(args.dataset))
    code = args.collection in (None, cli_docs.CODE_COLLECTION)
    if args.answers:
        if code:
            raise IndexInputError("--answers 는 문서 컬렉션에만 씁니다 (--collection docs 등)")
        return _eval_answers(args, cases)
    app = open_code_app(args) if code else cli_docs.open_docs_app(args.data_dir, args.collection)
    searcher = app.searcher if code else app.docs.searcher
    names = list(CONFIGURATIONS) if args.baselines else ["hybrid"]
    report: dict[str, object] = {}
    languages: dict[str, dict[str, object]] = {}  # configuration -> language -> figures
    try:
        for name in names:
            metrics, results = evaluate(searcher, cases, CONFIGURATIONS[name])
            report[name] = metrics.as_dict()
            languages[name] = {lang: m.as_dict() for lang, m in by_language(results).items()}
            if args.verbose:
                for result in results:
                    if result.rank != 1 and result.case.answerable:
                        print(
                            f"[{name}] rank={result.rank} q={result.case.question} "
                            f"want={result.case.name} top={result.top}",
                            file=sys.stderr,
                        )
    finally:
        app.close()
    if args.json:
        print(json.dumps({**report, "languages": languages}, ensure_ascii=False, indent=2))
        return 0
    answerable = sum(1 for case in cases if case.answerable)
    print(f"{'retriever':<10} {METRICS_HEADER}")
    for name, values in report.items():
        assert isinstance(values, dict)
        print(f"{name:<10} {format_metrics(values)}")
    print(f"(질문 {answerable}개, 답이 없는 질문 {len(cases) - answerable}개)")
    _print_languages(languages)
    return 0


def _print_languages(languages: dict[str, dict[str, object]]) -> None:
    """Per language of the gold files, when the set has more than one (answerable only: an
    unanswerable question has no language, its no-answer rate is in the table above)."""
    if all(len(per) < 2 for per in languages.values()):
        return
    print(f"\n언어별 (per language)\n{'retriever':<10} {'language':<11} {METRICS_HEADER}")
    for name, per in languages.items():
        for language, values in per.items():
            assert isinstance(values, dict)
            row = format_metrics(values, show_no_answer=False)
            print(f"{name:<10} {language:<11} {row}  (질문 {values['questions']}개)")


def _eval_answers(args: argparse.Namespace, cases: list[EvalCase]) -> int:
    """Every question through the document assistant (the LLM answers: slow on a CPU)."""

    def show(result: AnswerResult) -> None:
        wrong = result.answered != result.case.answerable or (
            result.case.answerable and not result.answer_given
        )
        if args.verbose and wrong:
            answer = " ".join(result.answer.split())[:120]
            print(f"[answers] q={result.case.question} answer={answer}", file=sys.stderr)

    app = cli_docs.open_docs_app(args.data_dir, args.collection)
    try:
        assistant = app.document_assistant()
        metrics, _ = evaluate_answers(assistant.ask, cases, show)
    finally:
        app.close()
    if args.json:
        print(json.dumps(metrics.as_dict(), ensure_ascii=False, indent=2))
        return 0
    print(answer_table(metrics))
    return 0
