"""One settings model: environment variables (RAGCODE_*, nested with __) and an optional TOML file.

Precedence: explicit arguments > environment > TOML file (``$RAGCODE_CONFIG`` or
``<data dir>/ragcode.toml``) > defaults. The defaults are the embedded product: local model,
local embeddings, local store, one data directory, no API key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ModelName = Literal["auto", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]


def default_data_dir() -> Path:
    env = os.environ.get("RAGCODE_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".local" / "share" / "ragcode"


class LlmSettings(BaseModel):
    mode: Literal["llamacpp"] = "llamacpp"
    # "auto" takes the 1.5B model when its packages are installed, else the 0.5B one.
    model: ModelName = "auto"
    model_path: Path | None = None  # a GGUF file of your own; overrides `model`
    n_threads: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    n_ctx: int = 4096
    seed: int = 42


class EmbeddingSettings(BaseModel):
    mode: Literal["local"] = "local"
    threads: int = 2
    batch_size: int = 64


class IndexSettings(BaseModel):
    max_file_bytes: int = 1_000_000
    max_line_length: int = 1000
    summary_max_tokens: int = 160
    summary_max_chars: int = 300
    summary_code_chars: int = 6000  # longer units are cut before they reach the LLM
    summaries: bool = True


class SearchSettings(BaseModel):
    top_k: int = 10
    candidates_per_list: int = 50
    rrf_k: int = 60
    rerank_depth: int = 50
    # Hits whose question-to-unit cosine is below this are not shown at all.
    min_relevance: float = 0.12
    # Weight of the fused rank evidence against the embedding rerank in the final score.
    fused_weight: float = 8.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAGCODE_", env_nested_delimiter="__", extra="ignore"
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_toml_path())
        return (init_settings, env_settings, toml)


def _toml_path() -> Path | None:
    explicit = os.environ.get("RAGCODE_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    candidate = default_data_dir() / "ragcode.toml"
    return candidate if candidate.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """Settings from env + TOML, with explicit overrides (e.g. --data-dir) on top."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**clean)
