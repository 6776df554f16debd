"""`ragcode search --language` (issue 15.2): the real store and embedder, in this process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragcode.cli import main
from tests.mixed_languages import QUESTION, write_mixed_project

pytestmark = pytest.mark.integration


def search(data_dir: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> set[str]:
    args = ["search", QUESTION, "--data-dir", str(data_dir), "--json", "--no-expand"]
    assert main([*args, *extra]) == 0
    return {hit["language"] for hit in json.loads(capsys.readouterr().out)}


def test_search_keeps_to_the_chosen_language(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_mixed_project(tmp_path / "project")
    assert main(["index", str(project), "--data-dir", str(data_dir), "--no-summaries"]) == 0
    capsys.readouterr()
    assert search(data_dir, capsys) == {"python", "javascript"}
    assert search(data_dir, capsys, "--language", "javascript") == {"javascript"}
    assert search(data_dir, capsys, "--language", "auto") == {"python", "javascript"}
    with pytest.raises(SystemExit):
        main(["search", QUESTION, "--data-dir", str(data_dir), "--language", "cobol"])
