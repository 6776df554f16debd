"""`ask_code` and `ask_docs` over MCP stdio, answered by the real embedded 0.5B model."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.client.session import ClientSession

from tests.conftest import TEST_MODEL
from tests.mcp_support import call, payload, ragcode, run_session, write_documents
from tests.sample_project import write_sample_project

pytestmark = pytest.mark.e2e


def test_ask_code_and_ask_docs_through_the_real_model(
    tmp_path: Path, data_dir: Path, cli_env: dict[str, str]
) -> None:
    project = write_sample_project(tmp_path / "project")
    done = ragcode(
        "index", str(project), "--no-summaries", "--data-dir", str(data_dir), env=cli_env
    )
    assert done.returncode == 0, done.stderr
    docs = write_documents(tmp_path / "docs")
    done = ragcode("docs", "add", str(docs), "--data-dir", str(data_dir), env=cli_env)
    assert done.returncode == 0, done.stderr
    env = {
        "RAGCODE_LLM__MODEL": TEST_MODEL, "RAGCODE_LLM__N_THREADS": "2",
        "RAGCODE_GENERATION__MAX_ANSWER_TOKENS": "160",
        "RAGCODE_DOCUMENTS__MAX_ANSWER_TOKENS": "96",
    }  # fmt: skip

    async def body(session: ClientSession) -> None:
        code = payload(
            await call(
                session,
                "ask_code",
                question="설정 파일을 읽어서 딕셔너리로 돌려주는 함수를 만들어줘",
            )
        )
        assert code["answer"].strip()
        # Indexed without summaries: both config functions are close, the reader is cited.
        config = {ref["name"]: ref for ref in code["references"] if ref["path"] == "app/config.py"}
        assert code["references"][0]["path"] == "app/config.py"
        assert config["read_config"]["start_line"] == 4
        assert "json.load(handle)" in config["read_config"]["code"]
        assert {ref["path"] for ref in code["references"]} <= {
            "app/config.py", "app/mailer.py", "web/checksum.js",
        }  # fmt: skip
        assert code["code_blocks"] and code["code_blocks"][0]["code"].strip()

        answer = payload(
            await call(session, "ask_docs", question="비밀번호를 잊어버렸어요. 어떻게 하나요?")
        )
        assert answer["answered"] is True and answer["answer"].strip()
        refs = answer["references"]
        assert refs[0]["number"] == 1
        assert "비밀번호를 잊어버렸어요." in [ref["title"] for ref in refs]
        assert all(number <= len(refs) for number in answer["cited"])

    run_session(data_dir, env, tmp_path / "server.stderr", body)
