"""What the AWS adapter tests share: boto3 clients with test credentials for botocore's
Stubber, a stand-in for a response event stream, and the request bodies a client sends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3


class FakeEventStream(dict[str, Any]):
    """Stands in for botocore's EventStream. Stubber validates a response by iterating it
    like a dict, so iteration yields the events only once `armed` (after add_response)."""

    def __init__(self, events: list[Any]) -> None:
        super().__init__()
        self.events = events
        self.armed = False
        self.closed = False

    def __iter__(self) -> Iterator[Any]:
        if not self.armed:
            return super().__iter__()
        return self._play()

    def _play(self) -> Iterator[Any]:
        for event in self.events:
            if isinstance(event, Exception):
                raise event
            yield event

    def close(self) -> None:
        self.closed = True


def runtime_client(service: str) -> Any:
    return boto3.client(
        service, region_name="ap-northeast-2",
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip


def captured_bodies(client: Any, service: str) -> list[dict[str, Any]]:
    """The JSON bodies the client is asked to send (compared parsed, not as strings)."""
    bodies: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        bodies.append(json.loads(params["Body"]))

    client.meta.events.register(f"before-parameter-build.{service}.*", capture)
    return bodies
