"""`ragcode search` from the shell, process start included: today vs. the search daemon.

Run: ``python bench/bench_cli_search.py`` (``--files 500`` = 10,000 units).

Indexes a generated Python project (bench_index.py's generator, 20 units per file, no
summaries), then times ``python -m ragcode.cli search "<Korean question>"`` subprocesses with
query expansion on the small model (RAGCODE_LLM__MODEL, default qwen2.5-coder-0.5b), for N
different questions, in three modes interleaved question by question:
  today        --no-daemon: imports, analyzer, encoder and the LLM loaded by every call
  daemon       the same call answered by the warm per-user daemon (started by a first call)
  no-expand    --no-daemon --no-expand: today's cheapest path, without the LLM
Each question is new to the daemon (its expansion cache cannot answer it). Prints p50/p95
per mode and the ratios, the first (daemon-starting) call, and how many daemon answers equal
the in-process ones.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_index import KO_NOUNS, KO_VERBS, object_particle, write_project
from console import load_note, out
from ragcode.app import build_app
from ragcode.config import load_settings
from ragcode.llm import weights
from ragcode.search_daemon import client

SMALL_MODEL = "qwen2.5-coder-0.5b"


def questions(count: int, seed: int) -> list[str]:
    """Distinct Korean questions in the vocabulary of the generated code."""
    rng = random.Random(seed)
    verbs = [verb[:-2] for verb in KO_VERBS.values() if verb.endswith("한다")]  # 저장, 검증 ...
    pairs = [(noun, stem) for noun in KO_NOUNS.values() for stem in verbs]
    rng.shuffle(pairs)
    forms = (
        "{n}{p} {v}하는 함수",
        "{n}{p} 어떻게 {v}하나요?",
        "{n}{p} {v}하는 코드는 어디 있나요?",
    )
    return [
        forms[i % len(forms)].format(n=noun, p=object_particle(noun), v=stem)
        for i, (noun, stem) in enumerate(pairs[:count])
    ]


def build_index(data_dir: Path, project: Path, files: int, seed: int) -> int:
    write_project(project, files, seed)
    app = build_app(load_settings(data_dir=data_dir))
    try:
        app.indexer.wait_for_lexicon()  # as `ragcode index`: the searches find it built
        report = app.indexer.index(project)
    finally:
        app.close()
    return report.units_written


def timed_search(question: str, flags: list[str], env: dict[str, str]) -> tuple[float, str]:
    command = [sys.executable, "-m", "ragcode.cli", "search", question, "--json", *flags]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"search failed: {done.stderr}")
    return elapsed, done.stdout


def served_count(data_dir: Path) -> int:
    log = data_dir / "daemon.log"
    return log.read_text(encoding="utf-8").count("search served") if log.exists() else 0


def wait_ready(data_dir: Path, timeout_s: float = 300.0) -> float:
    start = time.perf_counter()
    while client.request(data_dir, {"op": "ping"}, timeout_s=5.0) is None:
        if time.perf_counter() - start > timeout_s:
            raise SystemExit("the search daemon did not come up; see daemon.log")
        time.sleep(0.2)
    return time.perf_counter() - start


def daemon_rss_mb(data_dir: Path) -> float:
    pid = (data_dir / "run" / "search.pid").read_text().strip()
    status = Path(f"/proc/{pid}/status").read_text()
    kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(kb) / 1024


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(times: dict[str, list[float]]) -> None:
    out(f"  {'mode':<11} {'p50 s':>7} {'p95 s':>7} {'mean s':>7}")
    for mode, values in times.items():
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        out(f"  {mode:<11} {p50:7.2f} {p95:7.2f} {statistics.fmean(values):7.2f}")
    today, daemon = statistics.median(times["today"]), statistics.median(times["daemon"])
    cheap = statistics.median(times["no-expand"])
    out(f"  today / daemon (p50)      {today / daemon:6.1f}x")
    out(f"  no-expand / daemon (p50)  {cheap / daemon:6.1f}x")


def run(args: argparse.Namespace, work: Path) -> None:
    data_dir = (args.data_dir or work / "data").absolute()
    weights.assemble(weights.SHIPPED[args.model], data_dir / "models")
    if (data_dir / "index.sqlite3").exists():  # --data-dir of an earlier run: reuse its index
        out(f"index: reused {data_dir}")
    else:
        start = time.perf_counter()
        units = build_index(data_dir, work / "project", args.files, args.seed)
        out(f"index: {units} units in {time.perf_counter() - start:.1f} s (no summaries)")
    env = {**os.environ, "RAGCODE_DATA_DIR": str(data_dir), "RAGCODE_LLM__MODEL": args.model}
    env.pop("RAGCODE_SEARCH__DAEMON", None)
    asked = questions(args.n + 1, args.seed)
    first_s, _ = timed_search(asked[-1], [], env)  # no daemon yet: in-process, starts one
    ready_s = wait_ready(data_dir)
    out(f"first call (daemon on, none running) {first_s:.2f} s; daemon ready {ready_s:.1f} s later")
    times: dict[str, list[float]] = {"today": [], "daemon": [], "no-expand": []}
    same = 0
    served_before = served_count(data_dir)
    for question in asked[: args.n]:
        today_s, today_out = timed_search(question, ["--no-daemon"], env)
        daemon_s, daemon_out = timed_search(question, [], env)
        cheap_s, _ = timed_search(question, ["--no-daemon", "--no-expand"], env)
        times["today"].append(today_s)
        times["daemon"].append(daemon_s)
        times["no-expand"].append(cheap_s)
        same += today_out == daemon_out
        out(f"  {question}: today {today_s:.2f}  daemon {daemon_s:.2f}  no-expand {cheap_s:.2f}")
    served = served_count(data_dir) - served_before
    rss = daemon_rss_mb(data_dir)
    client.request(data_dir, {"op": "stop"}, timeout_s=10.0)
    out(f"searches of {args.n} questions, expansion on ({args.model}); {load_note()}")
    report(times)
    out(f"  daemon served {served}/{args.n}; output identical to in-process: {same}/{args.n}")
    out(f"  daemon RSS {rss:.0f} MB (models kept loaded)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500, help="generated files, 20 units each")
    parser.add_argument("-n", type=int, default=10, help="questions (timed calls per mode)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--model", default=SMALL_MODEL, help="RAGCODE_LLM__MODEL")
    parser.add_argument("--data-dir", type=Path, help="keep the index here (reused when present)")
    args = parser.parse_args()
    out(f"start: {load_note()}")
    with tempfile.TemporaryDirectory(prefix="ragcode-bench-cli-") as tmp:
        run(args, Path(tmp))
    out(f"end:   {load_note()}")


if __name__ == "__main__":
    main()
