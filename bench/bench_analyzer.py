"""Throughput of TextAnalyzer.analyze_text on ~2,000 generated Korean sentences.

Run: ``PYTHONPATH=src python bench/bench_analyzer.py``. Prints sentences/s serially, with 4
threads sharing one analyzer, and for the raw NoriTokenizer, plus tokens per sentence.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ragcode.text.analyzer import TextAnalyzer
from ragcode.text.korean import NoriTokenizer

SUBJECTS = ["사용자", "관리자", "서버", "클라이언트", "이 함수", "캐시 모듈", "파서", "스케줄러"]
OBJECTS = ["인증 토큰을", "설정 파일을", "데이터베이스 연결을", "요청 헤더를", "로그 메시지를"]
VERBS = ["검증한다", "초기화했다", "반환합니다", "읽어 들인다", "저장하고 삭제한다", "파싱했어요"]
IDENTIFIERS = ["get_netrc_auth", "parseJSON2Dict", "HTTPServerError", "os.path.join", "load"]
TAILS = ["", " 실패하면 예외를 던진다.", " 결과는 캐시에 보관된다.", " 타임아웃은 30초이다."]


def make_sentences(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(SUBJECTS)}는 {rng.choice(IDENTIFIERS)}로 {rng.choice(OBJECTS)} "
        f"{rng.choice(VERBS)}.{rng.choice(TAILS)}"
        for _ in range(count)
    ]


def measure(label: str, run: Callable[[], object], count: int) -> None:
    run()  # warm-up
    start = time.perf_counter()
    run()
    elapsed = time.perf_counter() - start
    sys.stdout.write(f"{label:<34} {count / elapsed:>9,.0f} sentences/s\n")


def main() -> None:
    sentences = make_sentences(2_000)
    analyzer = TextAnalyzer()
    nori = NoriTokenizer()
    mean_tokens = sum(len(analyzer.analyze_text(s)) for s in sentences) / len(sentences)
    mean_chars = sum(map(len, sentences)) / len(sentences)
    sys.stdout.write(
        f"{len(sentences)} sentences, {mean_chars:.0f} chars, {mean_tokens:.1f} tokens each\n"
    )

    measure("NoriTokenizer.tokens", lambda: [nori.tokens(s) for s in sentences], len(sentences))
    measure(
        "TextAnalyzer.analyze_text",
        lambda: [analyzer.analyze_text(s) for s in sentences],
        len(sentences),
    )
    with ThreadPoolExecutor(max_workers=4) as pool:
        measure(
            "analyze_text, 4 threads",
            lambda: list(pool.map(analyzer.analyze_text, sentences, chunksize=50)),
            len(sentences),
        )


if __name__ == "__main__":
    main()
