"""The local SQS event source mapping, with an in-memory queue: what gets deleted, and when."""

from __future__ import annotations

import time
from typing import Any

from local_runner.worker import QueueWorker


class FakeSqs:
    def __init__(self, batches: list[Any]) -> None:
        self._batches = batches  # each: a list of messages, or an exception to raise
        self.deleted: list[str] = []
        self.receives = 0

    def receive_message(self, **_: Any) -> dict[str, Any]:
        self.receives += 1
        if not self._batches:
            time.sleep(0.01)
            return {}
        batch = self._batches.pop(0)
        if isinstance(batch, Exception):
            raise batch
        return {"Messages": batch}

    def delete_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, str]]) -> None:  # noqa: N803
        self.deleted.extend(e["ReceiptHandle"] for e in Entries)


def _messages(*ids: str) -> list[dict[str, Any]]:
    return [
        {"MessageId": i, "ReceiptHandle": f"rh-{i}", "Body": "{}", "MD5OfBody": "x", "Attributes": {}}
        for i in ids
    ]


def _worker(sqs: FakeSqs, handler: Any) -> QueueWorker:
    return QueueWorker(sqs=sqs, queue_url="q", queue_arn="arn:aws:sqs:us-east-1:0:q", handler=handler)


def test_only_successful_records_are_deleted() -> None:
    sqs = FakeSqs([_messages("a", "b", "c")])
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        return {"batchItemFailures": [{"itemIdentifier": "b"}]}

    assert _worker(sqs, handler).poll_once(wait_seconds=0) == 3
    assert sqs.deleted == ["rh-a", "rh-c"]
    record = seen[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["receiptHandle"] == "rh-a"


def test_a_failed_invocation_deletes_nothing() -> None:
    sqs = FakeSqs([_messages("a", "b")])

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("all records failed")

    worker = _worker(sqs, handler)
    worker.poll_once(wait_seconds=0)
    assert sqs.deleted == [] and worker.failed_records == 2


def test_the_worker_survives_a_failed_receive() -> None:
    sqs = FakeSqs([ConnectionError("emulator restarting"), _messages("a")])
    worker = _worker(sqs, lambda event: {"batchItemFailures": []})
    worker.start()
    deadline = time.monotonic() + 10
    while sqs.deleted != ["rh-a"] and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.stop()
    assert sqs.deleted == ["rh-a"]
