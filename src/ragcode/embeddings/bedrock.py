"""Amazon Bedrock Titan text embeddings v2 (`amazon.titan-embed-text-v2:0`) via invoke_model.

Titan takes one text per call, so calls run on a few threads. boto3 is the optional extra
`ragcode[bedrock]`; credentials come from the standard AWS chain (docs/configuration.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ragcode.embeddings.protocol import EmbeddingError, Vectors, normalize
from ragcode.llm.bedrock import make_client, map_aws_error
from ragcode.llm.protocol import LLMError

TITAN_V2 = "amazon.titan-embed-text-v2:0"
MAX_CHARS = 20_000  # Titan v2 takes up to 8k tokens (50k characters)


class TitanEmbedder:
    def __init__(
        self,
        region: str,
        *,
        model_id: str = TITAN_V2,
        dimensions: int = 1024,
        max_concurrency: int = 4,
        timeout_s: float = 60.0,
        client: Any = None,
    ) -> None:
        self._region = region
        self._model_id = model_id
        self._dimensions = dimensions
        self._max_concurrency = max(1, max_concurrency)
        self._timeout_s = timeout_s
        self._client = client

    @property
    def name(self) -> str:
        return f"bedrock:{self._model_id}:{self._dimensions}"

    @property
    def dim(self) -> int:
        return self._dimensions

    def _get_client(self) -> Any:
        if self._client is None:
            try:
                self._client = make_client(
                    "bedrock-runtime", self._region,
                    timeout_s=self._timeout_s, pool_size=self._max_concurrency,
                )  # fmt: skip
            except LLMError as exc:
                raise EmbeddingError(str(exc)) from exc
        return self._client

    def _embed_one(self, text: str) -> list[float]:
        body = {"inputText": text, "dimensions": self._dimensions, "normalize": True}
        try:
            response = self._get_client().invoke_model(
                modelId=self._model_id, body=json.dumps(body, ensure_ascii=False),
                contentType="application/json", accept="application/json",
            )  # fmt: skip
            embedding: list[float] = json.loads(response["body"].read())["embedding"]
        except EmbeddingError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingError(f"Titan 임베딩 응답을 해석할 수 없습니다: {exc}") from exc
        except Exception as exc:  # botocore: ClientError, connection and timeout errors
            raise EmbeddingError(f"Titan 임베딩 실패: {map_aws_error(exc, self._region)}") from exc
        return embedding

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        clipped = [text[:MAX_CHARS] if text.strip() else "-" for text in texts]
        if self._max_concurrency == 1 or len(clipped) == 1:
            rows = [self._embed_one(text) for text in clipped]
        else:
            with ThreadPoolExecutor(max_workers=self._max_concurrency) as executor:
                rows = list(executor.map(self._embed_one, clipped))
        vectors = np.asarray(rows, dtype=np.float32)
        if vectors.shape[1] != self._dimensions:
            raise EmbeddingError(f"Titan 임베딩 차원이 다릅니다: {vectors.shape[1]}")
        return normalize(vectors)
