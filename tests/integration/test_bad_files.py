"""One bad file never stops a run: `ragcode index` and `ragcode docs add` skip it with a
Korean reason in status and index everything else; a re-run succeeds the same way."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.zip_samples import bomb_docx, write

pytestmark = pytest.mark.integration
DEEP_PYTHON = b"x = (\n" + b"-\n" * 20_000  # ast: MemoryError (parser stack overflow)
DEEP_JS = b"function lost() { return 1; }\nconst x = " + b"[\n" * 20_000 + b"]\n" * 20_000
GOOD = b'def greet(name):\n    """Say hello."""\n    return "hello " + name\n'


def ragcode(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAGCODE_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "ragcode.cli", *args],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_index_skips_files_too_deep_to_parse_and_goes_on(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(repo / "a_first.py", GOOD)
    write(repo / "deep.py", DEEP_PYTHON)
    write(repo / "deep.js", DEEP_JS)
    write(repo / "z_last.py", GOOD.replace(b"greet", b"farewell"))
    data = tmp_path / "data"
    for _ in range(2):  # the re-run must succeed too (it used to fail the same way)
        run = ragcode(data, "index", str(repo), "--no-summaries")
        assert run.returncode == 0, run.stderr
        assert "Traceback" not in run.stderr
        status = json.loads(ragcode(data, "status", "--json").stdout)
        reasons = {item["path"]: item["reason"] for item in status["skipped"]}
        assert set(reasons) == {"deep.py", "deep.js"}
        assert all("중첩" in reason for reason in reasons.values()), reasons
        assert status["units"] == 2  # greet and farewell, before and after the bad files
    shown = ragcode(data, "status").stdout
    assert "deep.py: 코드가 너무 깊게 중첩되었거나" in shown


# `ragcode` in a child that reports its own peak RSS (ru_maxrss of this very process).
MEASURED = (
    "import resource, sys\n"
    "from ragcode.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(f'maxrss_kb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def ragcode_measured(data_dir: Path, *args: str, timeout_s: float) -> tuple[int, str, int]:
    """Exit code, stderr and peak RSS (KB) of one `ragcode` run."""
    env = {**os.environ, "RAGCODE_DATA_DIR": str(data_dir)}
    run = subprocess.run(
        [sys.executable, "-c", MEASURED, *args],
        env=env, capture_output=True, text=True, timeout=timeout_s, check=False,
    )  # fmt: skip
    peak = re.search(r"maxrss_kb=(\d+)", run.stderr)
    assert peak, run.stderr
    return run.returncode, run.stderr, int(peak.group(1))


def test_docs_add_skips_a_docx_bomb_with_bounded_memory(tmp_path: Path) -> None:
    folder = tmp_path / "manuals"
    data = tmp_path / "data"
    write(folder / "guide.md", "# 이체\n\n예약이체는 최대 1년 뒤까지 정할 수 있습니다.\n".encode())
    code, _, baseline_kb = ragcode_measured(data, "docs", "add", str(folder), timeout_s=300)
    assert code == 0
    write(folder / "bomb.docx", bomb_docx())
    write(folder / "later.md", "# 수수료\n\n인터넷뱅킹 이체 수수료는 무료입니다.\n".encode())
    started = time.monotonic()
    # The reported 520 KB bomb took the server from 265 MB to 1.16 GB and minutes of CPU.
    code, stderr, bomb_kb = ragcode_measured(data, "docs", "add", str(folder), timeout_s=120)
    assert code == 0 and "Traceback" not in stderr
    assert "bomb.docx: DOCX 파일을 열지 않았습니다" in stderr
    assert time.monotonic() - started < 60
    assert bomb_kb < baseline_kb + 100_000  # +100 MB at most; the bomb's XML alone is 200 MB
    status = json.loads(ragcode(data, "docs", "status", "--json").stdout)
    skipped = {item["path"]: item["reason"] for item in status["skipped"]}
    assert set(skipped) == {"bomb.docx"}
    assert skipped["bomb.docx"].startswith(
        "DOCX 파일을 열지 않았습니다: 압축을 푼 크기가 너무 큽니다"
    )
    assert status["files"] == 2  # guide.md and later.md: the run went on past the bomb
