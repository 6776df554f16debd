"""OpenAI-compatible embeddings (`/v1/embeddings`): vLLM, Ollama, llama.cpp server, gateways."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from ragcode.embeddings.protocol import EmbeddingError, Vectors, normalize
from ragcode.llm.openai_compat import api_base

MAX_CHARS = 8000  # keeps one input well inside common 2k-8k token limits


class OpenAICompatEmbedder:
    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 64,
        timeout_s: float = 60.0,
    ) -> None:
        self._url = api_base(url) + "/embeddings"
        self._model = model
        self._dimensions = dimensions
        self._batch_size = max(1, batch_size)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0))
        )
        self._dim = dimensions

    @property
    def name(self) -> str:
        return f"openai:{self._model}:{self._dimensions or 'default'}"

    @property
    def dim(self) -> int:
        if self._dim is None:  # learn it from the server once
            self._dim = int(self.embed(["dimension probe"]).shape[1])
        return self._dim

    def close(self) -> None:
        self._client.close()

    def _post(self, texts: list[str]) -> list[list[float]]:
        payload: dict[str, Any] = {"model": self._model, "input": texts}
        if self._dimensions:
            payload["dimensions"] = self._dimensions
        try:
            response = self._client.post(self._url, json=payload)
        except httpx.HTTPError as exc:
            message = f"임베딩 서버에 연결할 수 없습니다 ({self._url}): {exc!r}"
            raise EmbeddingError(message) from exc
        if response.status_code >= 400:
            raise EmbeddingError(
                f"임베딩 요청 실패 ({self._url}, HTTP {response.status_code}): "
                f"{response.text[:200]}"
            )
        try:
            rows = sorted(response.json()["data"], key=lambda row: row["index"])
            return [row["embedding"] for row in rows]
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingError(f"임베딩 응답을 해석할 수 없습니다 ({self._url})") from exc

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        clipped = [text[:MAX_CHARS] if text.strip() else "-" for text in texts]
        rows: list[list[float]] = []
        for start in range(0, len(clipped), self._batch_size):
            batch = clipped[start : start + self._batch_size]
            got = self._post(batch)
            if len(got) != len(batch):
                raise EmbeddingError(f"임베딩 개수가 맞지 않습니다: {len(got)} != {len(batch)}")
            rows.extend(got)
        vectors = normalize(np.asarray(rows, dtype=np.float32))
        if self._dim is not None and vectors.shape[1] != self._dim:
            raise EmbeddingError(f"임베딩 차원이 다릅니다: {vectors.shape[1]} != {self._dim}")
        self._dim = int(vectors.shape[1])
        return vectors
