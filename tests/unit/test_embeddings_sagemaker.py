"""SageMaker embedding endpoints through botocore's Stubber: batches, both response shapes,
normalising, dimension and count checks, errors in Korean."""

from __future__ import annotations

import io
import json
import threading
import time
from typing import Any

# boto3 is a dev dependency (pyproject `dev`): a missing one must fail the run, not skip it.
import numpy as np
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from ragcode.embeddings.protocol import EmbeddingError
from ragcode.embeddings.sagemaker import SageMakerEmbedder
from tests import aws_stubs as stubs

pytestmark = pytest.mark.unit

ENDPOINT = "bge-m3-tei"
EXPECTED = {
    "EndpointName": ENDPOINT, "Body": ANY,
    "ContentType": "application/json", "Accept": "application/json",
}  # fmt: skip


def runtime_client() -> Any:
    return stubs.runtime_client("sagemaker-runtime")


def captured_bodies(client: Any) -> list[dict[str, Any]]:
    return stubs.captured_bodies(client, "sagemaker-runtime")


def response(payload: object) -> dict[str, Any]:
    data = json.dumps(payload).encode()
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentType": "application/json"}


def test_batches_both_response_shapes_and_normalised_rows() -> None:
    client = runtime_client()
    bodies = captured_bodies(client)
    embedder = SageMakerEmbedder(
        ENDPOINT, "ap-northeast-2", dimensions=4, batch_size=2, max_concurrency=1, client=client
    )
    with Stubber(client) as stubber:
        # TEI answers a list of vectors; the sentence-transformers toolkit {"embeddings": ...}.
        stubber.add_response("invoke_endpoint", response([[3, 4, 0, 0], [0, 0, 0, 2]]), EXPECTED)
        stubber.add_response("invoke_endpoint", response({"embeddings": [[0, 5, 0, 0]]}), EXPECTED)
        vectors = embedder.embed(["설정 읽기", "  ", "메일 보내기"])
        stubber.assert_no_pending_responses()
    assert bodies == [
        {"inputs": ["설정 읽기", "-"], "truncate": True},
        {"inputs": ["메일 보내기"], "truncate": True},
    ]
    assert vectors.dtype == np.float32 and vectors.shape == (3, 4)
    expected: list[list[float]] = [[0.6, 0.8, 0, 0], [0, 0, 0, 1], [0, 1, 0, 0]]
    assert np.allclose(vectors, expected)
    assert embedder.dim == 4 and embedder.name == f"sagemaker:ap-northeast-2:{ENDPOINT}:4"


def test_the_dimension_is_learned_once_and_then_checked() -> None:
    client = runtime_client()
    bodies = captured_bodies(client)
    embedder = SageMakerEmbedder(ENDPOINT, "us-east-1", client=client)
    with Stubber(client) as stubber:
        stubber.add_response("invoke_endpoint", response([[1, 0, 0]]), EXPECTED)
        stubber.add_response("invoke_endpoint", response([[1, 0]]), EXPECTED)
        assert embedder.dim == 3 and embedder.dim == 3
        with pytest.raises(EmbeddingError, match="차원이 다릅니다"):
            embedder.embed(["가"])
        stubber.assert_no_pending_responses()
    assert bodies[0]["inputs"] == ["dimension probe"] and len(bodies) == 2
    assert embedder.name == f"sagemaker:us-east-1:{ENDPOINT}:default"  # the name does not move


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([[1.0, 0.0]], "벡터가 없습니다"),  # one vector for two inputs
        ({"error": "x"}, "벡터가 없습니다"),
        ([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]], "차원이 다릅니다"),  # per token
        ([[1.0, 0.0], [1.0]], "벡터 목록이 아닙니다"),  # ragged
    ],
)
def test_answers_that_are_not_one_vector_per_input_are_refused(
    payload: object, message: str
) -> None:
    client = runtime_client()
    with Stubber(client) as stubber:
        stubber.add_response("invoke_endpoint", response(payload), EXPECTED)
        with pytest.raises(EmbeddingError, match=f"SageMaker 임베딩.*{message}"):
            SageMakerEmbedder(ENDPOINT, "us-east-1", client=client).embed(["가", "나"])


def test_errors_are_embedding_errors_in_korean() -> None:
    client = runtime_client()
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "invoke_endpoint", service_error_code="ValidationError", http_status_code=400,
            service_message=f"Endpoint {ENDPOINT} of account 123456789012 not found.",
        )  # fmt: skip
        with pytest.raises(EmbeddingError, match=r"SageMaker 임베딩 실패.*찾을 수 없습니다"):
            SageMakerEmbedder(ENDPOINT, "us-east-1", client=client).embed(["가"])


def test_a_batch_too_large_for_the_container_says_what_to_change() -> None:
    client = runtime_client()
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "invoke_endpoint", service_error_code="ModelError", http_status_code=424,
            service_message="Received client error (413)",
            modeled_fields={
                "OriginalStatusCode": 413,
                "OriginalMessage": "batch size 64 > maximum allowed batch size 32",
            },
        )  # fmt: skip
        with pytest.raises(EmbeddingError, match=r"maximum allowed.*embeddings\.batch_size"):
            SageMakerEmbedder(ENDPOINT, "us-east-1", client=client).embed(["가"])


class SlowClient:
    """Embeds each text as [len, 1]; calls take a while so that batches overlap."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def invoke_endpoint(self, **request: Any) -> dict[str, Any]:
        inputs = json.loads(request["Body"])["inputs"]
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.06 - 0.005 * len(inputs[0]))  # later batches finish first
        with self.lock:
            self.running -= 1
        return response([[len(text), 1.0] for text in inputs])


def test_batches_run_concurrently_and_keep_their_order() -> None:
    client = SlowClient()
    embedder = SageMakerEmbedder(
        ENDPOINT, "us-east-1", batch_size=2, max_concurrency=3, client=client
    )
    texts = ["a" * length for length in range(1, 13)]
    vectors = embedder.embed(texts)
    expected = np.array([[length, 1.0] for length in range(1, 13)], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(vectors, expected)
    assert client.most == 3
