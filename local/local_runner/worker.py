"""The SQS event source mapping, locally: long-poll, hand the handler a real SQS event, delete only what
succeeded. Failed records become visible again and, after maxReceiveCount, SQS moves them to the DLQ."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from local_runner.emulator import REGION

logger = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any]], dict[str, Any]]


def lambda_sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda builds from received messages (the shape the resize handler is written for)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


class QueueWorker:
    def __init__(
        self, *, sqs: Any, queue_url: str, queue_arn: str, handler: Handler, batch_size: int = 10
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._handler = handler
        self._batch_size = batch_size
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="resize-worker", daemon=True)
        self.batches = 0
        self.failed_records = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def poll_once(self, wait_seconds: int = 1) -> int:
        """One receive + invoke + delete cycle; returns how many messages were received."""
        received = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        self.batches += 1
        try:
            response = self._handler(lambda_sqs_event(received, self._queue_arn))
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception:  # the whole invocation failed: Lambda would retry every record
            failed = {m["MessageId"] for m in received}
        self.failed_records += len(failed)
        done = [m for m in received if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(received)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the emulator hiccuped: a dead worker would silently stop the pipeline
                logger.exception("polling the queue failed; retrying in a second")
                self._stop.wait(1)
