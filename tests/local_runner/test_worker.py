"""The local SQS event source mapping, with an in-memory queue: what gets deleted, and when."""

from __future__ import annotations

import threading
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


def test_stop_lets_a_batch_in_the_handler_finish_and_delete() -> None:
    sqs = FakeSqs([_messages("a")])
    entered, release = threading.Event(), threading.Event()

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        entered.set()
        release.wait(10)
        return {"batchItemFailures": []}

    worker = _worker(sqs, handler)
    worker.start()
    assert entered.wait(10)
    stopper = threading.Thread(target=worker.stop)
    stopper.start()
    stopper.join(0.3)
    assert stopper.is_alive()  # still waiting for the batch in the handler
    release.set()
    stopper.join(10)
    assert not stopper.is_alive()
    assert sqs.deleted == ["rh-a"]


class SlowReceiveSqs(FakeSqs):
    """A long poll that is still waiting when stop() is called, then receives a message."""

    def __init__(self, waiting: threading.Event, answer: threading.Event) -> None:
        super().__init__([])
        self._waiting, self._answer = waiting, answer

    def receive_message(self, **_: Any) -> dict[str, Any]:
        self.receives += 1
        if self.receives > 1:
            return {}
        self._waiting.set()
        self._answer.wait(10)
        return {"Messages": _messages("late")}


def test_a_message_received_after_stop_is_neither_handled_nor_deleted() -> None:
    waiting, answer = threading.Event(), threading.Event()
    sqs = SlowReceiveSqs(waiting, answer)
    handled: list[dict[str, Any]] = []
    worker = _worker(sqs, lambda event: handled.append(event) or {"batchItemFailures": []})
    worker.start()
    assert waiting.wait(10)
    worker.stop()  # returns without waiting for the receive
    answer.set()
    deadline = time.monotonic() + 5
    while worker._threads[0].is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not worker._threads[0].is_alive()
    assert handled == [] and sqs.deleted == [] and worker.batches == 0
