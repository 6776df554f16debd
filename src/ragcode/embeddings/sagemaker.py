"""Amazon SageMaker real-time endpoints serving an embedding model (Hugging Face TEI, or the
Hugging Face inference toolkit with sentence-transformers) via invoke_endpoint.

One call embeds a batch (`{"inputs": [...], "truncate": true}`; TEI cuts inputs longer than
the model takes, the toolkit ignores the key); batches run on a few threads. TEI refuses
batches above its `max_client_batch_size` (32 by default): keep `batch_size` at or below it.
boto3 is the optional extra `ragcode[bedrock]`; credentials come from the AWS chain.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ragcode.embeddings.protocol import EmbeddingError, Vectors, normalize
from ragcode.llm.errors import LLMRequestError
from ragcode.llm.protocol import LLMError
from ragcode.llm.sagemaker import make_client, map_sagemaker_error

MAX_CHARS = 8000  # with `truncate`, only bounds the request size


class SageMakerEmbedder:
    def __init__(
        self,
        endpoint_name: str,
        region: str,
        *,
        dimensions: int | None = None,
        batch_size: int = 32,
        max_concurrency: int = 4,
        timeout_s: float = 60.0,
        client: Any = None,
    ) -> None:
        self._endpoint_name = endpoint_name
        self._region = region
        self._dimensions = dimensions  # expected size; None: learned from the first answer
        self._dim = dimensions
        self._batch_size = max(1, batch_size)
        self._max_concurrency = max(1, max_concurrency)
        self._timeout_s = timeout_s
        self._client = client

    @property
    def name(self) -> str:
        return f"sagemaker:{self._region}:{self._endpoint_name}:{self._dimensions or 'default'}"

    @property
    def dim(self) -> int:
        if self._dim is None:  # learn it from the endpoint once
            self._dim = int(self.embed(["dimension probe"]).shape[1])
        return self._dim

    def _get_client(self) -> Any:
        if self._client is None:
            try:
                self._client = make_client(
                    self._region, timeout_s=self._timeout_s, pool_size=self._max_concurrency
                )
            except LLMError as exc:
                raise EmbeddingError(str(exc)) from exc
        return self._client

    def _invoke(self, batch: list[str]) -> list[list[float]]:
        body = json.dumps({"inputs": batch, "truncate": True}, ensure_ascii=False)
        where = f"sagemaker:{self._region}:{self._endpoint_name}"
        try:
            response = self._get_client().invoke_endpoint(
                EndpointName=self._endpoint_name, Body=body,
                ContentType="application/json", Accept="application/json",
            )  # fmt: skip
            data = json.loads(response["Body"].read())
        except EmbeddingError:
            raise
        except ValueError as exc:
            raise EmbeddingError(f"SageMaker 임베딩 응답을 해석할 수 없습니다 ({where})") from exc
        except Exception as exc:  # botocore: ClientError, connection and timeout errors
            error = map_sagemaker_error(exc, where)
            hint = ""
            if isinstance(error, LLMRequestError) and error.status == 413:
                hint = " (embeddings.batch_size 를 컨테이너의 최대 배치 이하로 줄이세요)"
            raise EmbeddingError(f"SageMaker 임베딩 실패: {error}{hint}") from exc
        rows = data.get("embeddings") if isinstance(data, dict) else data
        if not isinstance(rows, list) or len(rows) != len(batch):
            raise EmbeddingError(
                f"SageMaker 임베딩 응답에 입력 {len(batch)}개의 벡터가 없습니다 ({where})"
            )
        return rows

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        clipped = [text[:MAX_CHARS] if text.strip() else "-" for text in texts]
        size = self._batch_size
        batches = [clipped[start : start + size] for start in range(0, len(clipped), size)]
        if self._max_concurrency == 1 or len(batches) == 1:
            answers = [self._invoke(batch) for batch in batches]
        else:
            with ThreadPoolExecutor(max_workers=self._max_concurrency) as executor:
                answers = list(executor.map(self._invoke, batches))
        try:
            vectors = np.asarray([row for answer in answers for row in answer], dtype=np.float32)
        except (ValueError, TypeError) as exc:  # ragged rows, token-level (3-D) outputs
            raise EmbeddingError(f"SageMaker 임베딩 응답이 벡터 목록이 아닙니다: {exc}") from exc
        if vectors.ndim != 2 or (self._dim is not None and vectors.shape[1] != self._dim):
            raise EmbeddingError(
                f"SageMaker 임베딩 차원이 다릅니다: {vectors.shape[1:]} != ({self._dim},)"
            )
        self._dim = int(vectors.shape[1])
        return normalize(vectors)
