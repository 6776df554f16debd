"""`ragcode search` with query expansion on the real small model, answered by the daemon."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sample_project import write_sample_project
from tests.search_daemon_support import (
    QUESTION,
    daemon_env,
    ragcode,
    served,
    stop_daemons,
    wait_ready,
)

pytestmark = pytest.mark.e2e


def test_expanded_search_is_served_by_the_warm_daemon(
    tmp_path: Path, data_dir: Path, cli_env: dict[str, str]
) -> None:
    # A generous expansion timeout: on a busy machine the small model can need more than the
    # default 30 s, and the search would then go on without expansion (nothing to check).
    env = daemon_env(
        cli_env, RAGCODE_SEARCH__EXPAND_QUERY="true", RAGCODE_SEARCH__EXPANSION_TIMEOUT_S="600"
    )
    project = write_sample_project(tmp_path / "project")
    try:
        assert ragcode("index", str(project), "--no-summaries", env=env).returncode == 0
        first = ragcode("search", QUESTION, "--json", env=env)  # in-process, loads the LLM
        assert first.returncode == 0, first.stderr
        wait_ready(data_dir, timeout_s=600)  # the daemon loaded the model and expanded once
        log = (data_dir / "daemon.log").read_text("utf-8")
        assert "loading model=qwen2.5-coder" in log and "gave up" not in log

        second = ragcode("search", QUESTION, "--json", env=env)
        assert second.returncode == 0, second.stderr
        assert served(data_dir) == 1
        assert "expand=True" in (data_dir / "daemon.log").read_text("utf-8")
        local, remote = json.loads(first.stdout), json.loads(second.stdout)
        assert any(key.startswith("expanded-") for hit in remote for key in hit["scores"]["ranks"])
        assert remote[0]["name"] == local[0]["name"] == "Mailer.send_email"
    finally:
        stop_daemons(data_dir)
