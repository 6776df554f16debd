"""Endpoint profiles from TOML and env vars, and what build_llm/build_embedder make of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ragcode.app import build_embedder, build_llm
from ragcode.config import Settings
from ragcode.embeddings.bedrock import TitanEmbedder
from ragcode.embeddings.local import LocalEmbedder
from ragcode.embeddings.openai_compat import OpenAICompatEmbedder
from ragcode.embeddings.sagemaker import SageMakerEmbedder
from ragcode.llm.bedrock import BedrockLLM
from ragcode.llm.han_repair import HanRepairLLM
from ragcode.llm.llamacpp import LlamaCppLLM
from ragcode.llm.pool import LLMPool
from ragcode.llm.protocol import ChatMessage, max_concurrency
from ragcode.llm.sagemaker import SageMakerLLM
from tests.llm_servers import FakeOpenAIServer

pytestmark = pytest.mark.unit

TWO_SERVERS = """
[llm]
strategy = "round_robin"
cooldown_s = 12.5

[[llm.endpoints]]
kind = "openai"
url = "http://127.0.0.1:8011/v1"
model = "qwen2.5-coder-1.5b"
max_concurrency = 1

[[llm.endpoints]]
kind = "openai"
url = "http://127.0.0.1:8012/v1"
model = "qwen2.5-coder-1.5b"
max_concurrency = 1
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("RAGCODE_CONFIG", "RAGCODE_LLM__ENDPOINTS", "RAGCODE_EMBEDDINGS__MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAGCODE_DATA_DIR", str(tmp_path / "data"))


def test_zero_configuration_is_the_embedded_model(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, llm={"model_path": tmp_path / "own.gguf"})
    assert settings.llm.endpoints == [] and settings.embeddings.mode == "local"
    llm = build_llm(settings)
    assert isinstance(llm, LlamaCppLLM) and max_concurrency(llm) == 1
    assert isinstance(build_embedder(settings), LocalEmbedder)


def test_toml_with_two_servers_builds_a_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "ragcode.toml"
    config.write_text(TWO_SERVERS)
    monkeypatch.setenv("RAGCODE_CONFIG", str(config))
    settings = Settings(data_dir=tmp_path)
    assert settings.llm.strategy == "round_robin" and settings.llm.cooldown_s == 12.5
    llm = build_llm(settings)
    assert isinstance(llm, LLMPool)
    assert llm.max_concurrency == 2 and llm.name == "qwen2.5-coder-1.5b"
    labels = [status.label for status in llm.status()]
    assert labels == [
        "http://127.0.0.1:8011/v1/chat/completions",
        "http://127.0.0.1:8012/v1/chat/completions",
    ]


def test_one_remote_endpoint_is_a_pool_of_one_with_its_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with FakeOpenAIServer() as server:
        monkeypatch.setenv(
            "RAGCODE_LLM__ENDPOINTS",
            f'[{{"kind": "openai", "url": "{server.url}", "model": "gw-model",'
            f' "api_key_env": "MY_GATEWAY_KEY", "max_concurrency": 8}}]',
        )
        monkeypatch.setenv("MY_GATEWAY_KEY", "sk-from-env")
        llm = build_llm(Settings(data_dir=tmp_path))
        assert isinstance(llm, LLMPool) and llm.max_concurrency == 8  # retries on throttling
        assert [status.label for status in llm.status()] == [f"{server.url}/chat/completions"]
        assert "".join(llm.stream([ChatMessage("user", "hi")], max_tokens=4))
    assert server.stats.headers[0]["Authorization"] == "Bearer sk-from-env"
    assert server.stats.payloads[0]["model"] == "gw-model"


def test_four_bedrock_regions_make_a_pool_without_calling_aws(tmp_path: Path) -> None:
    regions = ["ap-northeast-2", "ap-northeast-1", "us-east-1", "us-west-2"]
    endpoints = [
        {"kind": "bedrock", "region": region, "model_id": "anthropic.claude-x", "max_tokens": 512}
        for region in regions
    ]
    llm = build_llm(Settings(data_dir=tmp_path, llm={"endpoints": endpoints}))
    assert isinstance(llm, LLMPool) and llm.max_concurrency == 16
    assert [s.label for s in llm.status()] == [f"bedrock:{region}" for region in regions]


def test_mixed_pool_counts_embedded_llamacpp_as_one(tmp_path: Path) -> None:
    endpoints = [
        {"kind": "llamacpp", "model_path": str(tmp_path / "own.gguf")},
        {"kind": "openai", "url": "http://127.0.0.1:9/v1", "model": "m", "max_concurrency": 3},
    ]
    llm = build_llm(Settings(data_dir=tmp_path, llm={"endpoints": endpoints}))
    assert isinstance(llm, LLMPool) and llm.max_concurrency == 4


@pytest.mark.parametrize(
    "endpoint",
    [
        {"kind": "openai", "model": "m"},
        {"kind": "openai", "url": "http://h/v1"},
        {"kind": "bedrock", "region": "us-east-1"},
        {"kind": "bedrock", "model_id": "m"},
        {"kind": "sagemaker", "region": "us-east-1"},
        {"kind": "sagemaker", "endpoint_name": "e"},
        {"kind": "openai", "url": "http://h/v1", "model": "m", "max_concurrency": 0},
        {"kind": "vertex", "url": "http://h/v1", "model": "m"},
    ],
)
def test_incomplete_endpoint_is_refused(tmp_path: Path, endpoint: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, llm={"endpoints": [endpoint]})


def test_embedding_modes(tmp_path: Path) -> None:
    openai = Settings(
        data_dir=tmp_path,
        embeddings={"mode": "openai", "url": "http://h:1", "model": "e5", "dimensions": 384},
    )
    embedder = build_embedder(openai)
    assert isinstance(embedder, OpenAICompatEmbedder) and embedder.dim == 384
    bedrock = Settings(data_dir=tmp_path, embeddings={"mode": "bedrock", "region": "us-east-1"})
    titan = build_embedder(bedrock)
    assert isinstance(titan, TitanEmbedder) and titan.dim == 1024
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, embeddings={"mode": "openai"})


def test_bedrock_llm_is_built_lazily(tmp_path: Path) -> None:
    endpoints = [{"kind": "bedrock", "region": "ap-northeast-2", "model_id": "m"}]
    llm = build_llm(Settings(data_dir=tmp_path, llm={"endpoints": endpoints}))
    assert isinstance(llm, LLMPool)  # a single remote endpoint still gets retry and backoff
    guard = llm._slots[0].llm
    assert isinstance(guard, HanRepairLLM)  # ideographs are repaired in a remote stream
    adapter = guard.inner
    assert isinstance(adapter, BedrockLLM) and adapter._client is None  # no AWS call until used


SAGEMAKER = """
[[llm.endpoints]]
kind = "sagemaker"
region = "ap-northeast-2"
endpoint_name = "qwen-coder-tgi"
stream = false
max_tokens = 256

[embeddings]
mode = "sagemaker"
region = "ap-northeast-2"
endpoint_name = "bge-m3-tei"
dimensions = 1024
batch_size = 32
"""


def test_sagemaker_endpoints_from_toml_are_built_lazily(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "ragcode.toml"
    config.write_text(SAGEMAKER)
    monkeypatch.setenv("RAGCODE_CONFIG", str(config))
    settings = Settings(data_dir=tmp_path)
    llm = build_llm(settings)
    assert isinstance(llm, LLMPool)  # a single remote endpoint still gets retry and backoff
    guard = llm._slots[0].llm
    assert isinstance(guard, HanRepairLLM)
    adapter = guard.inner
    assert isinstance(adapter, SageMakerLLM) and adapter._client is None  # no AWS call yet
    assert [s.label for s in llm.status()] == ["sagemaker:ap-northeast-2:qwen-coder-tgi"]
    assert adapter._streaming is False and adapter._max_tokens == 256
    embedder = build_embedder(settings)
    assert isinstance(embedder, SageMakerEmbedder) and embedder._client is None
    assert embedder.dim == 1024 and embedder._batch_size == 32
    assert embedder.name == "sagemaker:ap-northeast-2:bge-m3-tei:1024"


def test_sagemaker_without_an_endpoint_name_is_refused_in_korean(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="region 과 endpoint_name 이 필요합니다"):
        Settings(data_dir=tmp_path, llm={"endpoints": [{"kind": "sagemaker", "region": "r"}]})
    with pytest.raises(ValidationError, match="sagemaker 에는 region 과 endpoint_name"):
        Settings(data_dir=tmp_path, embeddings={"mode": "sagemaker", "region": "us-east-1"})
