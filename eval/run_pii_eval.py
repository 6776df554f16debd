"""Recall and precision of PII masking per type on `eval/pii_ko_spans.jsonl` (issue 15 item 15).

Configurations: (a) the deterministic masker alone (`ragcode.chat.pii.mask_patterns`); (b) the
whole chat mode `pii` through the real embedded model (deterministic masking, the model,
deterministic masking of its output); (c), computed from (b)'s outputs, what a faithfulness
check on the model's rewrite (`chat/pii/rewrite.py`, not wired in yet) would give. How a span
counts as masked, and how precision is counted, is in eval/README.md ("PII 마스킹").

    python eval/run_pii_eval.py                  # both, with qwen2.5-coder-0.5b
    python eval/run_pii_eval.py --masker-only    # (a) only, in a second
    python eval/run_pii_eval.py --show-misses    # every leaked span and lost negative

Wrap (b) in `flock /tmp/ragcode-cpu.lock` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ragcode.app import build_llm
from ragcode.chat.code_answer import CodeAssistant
from ragcode.chat.modes import ChatModes, ModeRequest, ModeResult
from ragcode.chat.pii import KINDS, PLACEHOLDERS, mask_patterns
from ragcode.chat.pii.rewrite import faithful_rewrite
from ragcode.config import load_settings

HERE = Path(__file__).resolve().parent
DATASET = HERE / "pii_ko_spans.jsonl"
MODEL = "qwen2.5-coder-0.5b"
STRUCTURED = ("resident", "phone", "email", "account", "card", "passport", "license")
# Separators people and models write between the pieces of a number or an address.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212\ufe63\uff0d.,()/:·]")
_HANGUL = re.compile(r"[가-힣]")


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    text: str
    spans: list[dict[str, object]]
    keep: list[str]


@dataclass
class Tally:
    spans: Counter[str] = field(default_factory=Counter)  # labelled spans per type
    masked: Counter[str] = field(default_factory=Counter)  # of them, masked
    placed: Counter[str] = field(default_factory=Counter)  # placeholders of the type
    right: Counter[str] = field(default_factory=Counter)  # placeholders that are right
    kept: int = 0
    keep_total: int = 0
    clean_rows: int = 0
    misses: list[str] = field(default_factory=list)


def load(path: Path) -> list[Row]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            rows.append(Row(data["id"], data["text"], data["spans"], data["keep"]))
    return rows


def normalize(text: str) -> str:
    return _SEPARATORS.sub("", text).lower()


def grams(text: str, size: int) -> set[str]:
    if len(text) <= size:
        return {text}
    return {text[i : i + size] for i in range(len(text) - size + 1)}


def gram_size(kind: str, piece: str) -> int:
    """2 for a Korean name (a surviving syllable pair is a leak), 4 for everything else."""
    return 2 if kind == "name" and _HANGUL.search(piece) else 4


def is_masked(row: Row, span: dict[str, object], output: str) -> bool:
    """No identifying n-gram of the span is left in the output (both normalized). N-grams that
    also occur in the sentence outside every labelled span tell nothing and are not counted."""
    kind, piece = str(span["type"]), str(span["text"])
    size = gram_size(kind, piece)
    rest = list(row.text)
    for other in row.spans:
        start, end = int(str(other["start"])), int(str(other["end"]))
        rest[start:end] = ["\0"] * (end - start)
    background = grams(normalize("".join(rest)), size)
    identifying = grams(normalize(piece), size) - background or {normalize(piece)}
    seen = normalize(output)
    return not any(gram in seen for gram in identifying)


def placeholder_counts(output: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for names in PLACEHOLDERS.values():
        for kind, placeholder in names.items():
            counts[kind] += output.count(placeholder)
    return counts


def score(rows: list[Row], outputs: list[str]) -> Tally:
    tally = Tally()
    for row, output in zip(rows, outputs, strict=True):
        masked_here: Counter[str] = Counter()
        clean = True
        for span in row.spans:
            kind = str(span["type"])
            tally.spans[kind] += 1
            if is_masked(row, span, output):
                masked_here[kind] += 1
            else:
                clean = False
                tally.misses.append(f"{row.id} 남음 {kind} {span['text']!r} -> {output!r}")
        tally.masked.update(masked_here)
        placed = placeholder_counts(output)
        tally.placed.update(placed)
        for kind, count in placed.items():
            tally.right[kind] += min(count, masked_here[kind])
        for piece in row.keep:
            tally.keep_total += 1
            if piece in output:
                tally.kept += 1
            else:
                tally.misses.append(f"{row.id} 지워짐 {piece!r} -> {output!r}")
        tally.clean_rows += clean
    return tally


def ratio(part: int, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else "  -  "


def report(name: str, tally: Tally, rows: int, seconds: float, show_misses: bool) -> None:
    print(f"\n## {name} ({rows} 문장, {seconds:.1f} 초)")
    print(f"{'type':10} {'spans':>5} {'recall':>7} {'placed':>6} {'precision':>9}")
    for kind in KINDS:
        n = tally.spans[kind]
        recall = ratio(tally.masked[kind], n)
        precision = ratio(tally.right[kind], tally.placed[kind])
        print(f"{kind:10} {n:5d} {recall:>7} {tally.placed[kind]:6d} {precision:>9}")
    structured = sum(tally.spans[k] for k in STRUCTURED)
    found = sum(tally.masked[k] for k in STRUCTURED)
    print(f"{'structured':10} {structured:5d} {ratio(found, structured):>7}")
    total = sum(tally.spans.values())
    print(f"{'all':10} {total:5d} {ratio(sum(tally.masked.values()), total):>7}")
    print(f"keep (negatives left verbatim): {tally.kept}/{tally.keep_total}")
    print(f"sentences with nothing left: {tally.clean_rows}/{rows}")
    if show_misses:
        for miss in tally.misses:
            print("  " + miss)


def masker_outputs(rows: list[Row]) -> list[str]:
    return [mask_patterns(row.text, "ko") for row in rows]


def model_outputs(rows: list[Row], max_tokens: int) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings(data_dir=Path(data_dir), llm={"model": MODEL, "n_threads": 2})
        llm = build_llm(settings)
        modes = ChatModes(
            lambda: llm, _no_code, None, max_tokens=max_tokens, temperature=0.0
        )  # greedy: the same outputs every run
        for number, row in enumerate(rows, 1):
            print(f"\r(b) {number}/{len(rows)}", end="", file=sys.stderr, flush=True)
            final = [
                e for e in modes.run("pii", ModeRequest(row.text)) if isinstance(e, ModeResult)
            ]
            yield final[-1].answer


def _no_code() -> CodeAssistant:
    raise RuntimeError("mode pii does not generate code")


def timed(make: Callable[[], list[str]]) -> tuple[list[str], float]:
    began = time.perf_counter()
    outputs = make()
    return outputs, time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--masker-only", action="store_true", help="skip (b), the real model")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--save", type=Path, help="write (b)'s outputs here (JSON lines)")
    args = parser.parse_args(argv)
    rows = load(args.dataset)
    outputs, seconds = timed(lambda: masker_outputs(rows))
    report("(a) 결정적 마스킹만", score(rows, outputs), len(rows), seconds, args.show_misses)
    if args.masker_only:
        return 0
    answers, seconds = timed(lambda: list(model_outputs(rows, args.max_tokens)))
    if args.save:
        with args.save.open("w", encoding="utf-8") as out:
            for row, answer in zip(rows, answers, strict=True):
                out.write(json.dumps({"id": row.id, "output": answer}, ensure_ascii=False) + "\n")
    title = f"(b) 모드 pii 전체, {MODEL}"
    report(title, score(rows, answers), len(rows), seconds, args.show_misses)
    # (c) (b)'s outputs where the model's rewrite is kept only if it is faithful to the text it
    # was given (chat/pii/rewrite.py), else that premasked text: not wired into mode `pii` yet.
    guarded = [
        faithful_rewrite(premasked, answer)
        for premasked, answer in zip(outputs, answers, strict=True)
    ]
    report("(c) (b) + 충실도 검사 (제안)", score(rows, guarded), len(rows), 0.0, args.show_misses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
