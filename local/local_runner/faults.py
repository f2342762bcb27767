"""Faults on the wire, for ``make burst FAULTS=…``: a botocore ``before-send`` hook that answers a share
of S3, DynamoDB and EventBridge requests with the errors AWS answers under load (S3 503 SlowDown,
DynamoDB throttling, EventBridge 500), before they reach the emulator. The clients' own retries absorb
most; what gets through fails the message, which SQS delivers again and, after five receives,
dead-letters. Only the local runner installs it, and only on the principals it is given."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse, HTTPHeaders


@dataclass(frozen=True)
class _Body:
    data: bytes

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def _s3_slow_down() -> tuple[int, dict[str, str], bytes]:
    body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
    return 503, {"Content-Type": "application/xml"}, body


def _dynamodb_throttled() -> tuple[int, dict[str, str], bytes]:
    error = {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate exceeded"}
    return (
        400,
        {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "fault"},
        json.dumps(error).encode(),
    )


def _events_internal() -> tuple[int, dict[str, str], bytes]:
    error = {"__type": "InternalException", "message": "An internal error occurred"}
    return (
        500,
        {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "fault"},
        json.dumps(error).encode(),
    )


# Keyed by the service id botocore names its events with (EventBridge is "events" as a client).
_ERRORS = {"s3": _s3_slow_down, "dynamodb": _dynamodb_throttled, "eventbridge": _events_internal}


@dataclass
class FaultInjector:
    """Fails ``rate`` of the requests (0..1) to the services above; ``injected`` counts them."""

    rate: float
    seed: int | None = None
    injected: int = 0
    _random: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        if not 0 <= self.rate < 1:
            raise ValueError(f"a fault rate is 0..1, got {self.rate}")
        self._random = random.Random(self.seed)  # noqa: S311 - which requests fail, not a secret

    def install(self, session: boto3.session.Session) -> boto3.session.Session:
        for service in _ERRORS:
            # A before-send handler may answer instead of the network (botocore's documented hook).
            session.events.register(f"before-send.{service}", self._maybe_fail)  # type: ignore[arg-type]
        return session

    def _maybe_fail(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            self.injected += 1
        status, headers, body = _ERRORS[event_name.split(".")[1]]()
        http_headers = HTTPHeaders()
        for name, value in headers.items():
            http_headers[name] = value
        return AWSResponse(request.url, status, http_headers, _Body(body))
