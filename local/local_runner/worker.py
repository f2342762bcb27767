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
    """``concurrency`` pollers, like the concurrent invocations Lambda's SQS poller makes (up to the
    mapping's maximum concurrency): each receives up to ``batch_size`` messages, hands them to the
    handler and deletes what succeeded. With more than one poller a batch is no larger than an even
    share of what is waiting, so twenty messages spread over the pollers instead of filling one."""

    def __init__(
        self,
        *,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        handler: Handler,
        batch_size: int = 10,
        concurrency: int = 1,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._handler = handler
        self._batch_size = batch_size
        self._concurrency = max(1, concurrency)
        self._stop = threading.Event()
        # How many pollers are inside the handler; stop() waits for none, never for a receive.
        self._in_handler = 0
        self._handler_exits = threading.Condition()
        self._threads = [
            threading.Thread(target=self._run, name=f"resize-poller-{i}", daemon=True)
            for i in range(self._concurrency)
        ]
        self._count_lock = threading.Lock()
        self.batches = 0
        self.failed_records = 0

    @property
    def concurrency(self) -> int:
        return self._concurrency

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_seconds: float = 15) -> None:
        """Stop polling: a poller inside the handler finishes its batch (and deletes what succeeded);
        one still waiting on a receive is not waited for, and whatever it then receives it leaves on the
        queue, to be delivered again after the visibility timeout (as when Lambda stops polling)."""
        with self._handler_exits:
            self._stop.set()
            self._handler_exits.wait_for(lambda: self._in_handler == 0, timeout=timeout_seconds)

    def _batch_limit(self) -> int:
        if self._concurrency == 1:
            return self._batch_size
        waiting = int(
            self._sqs.get_queue_attributes(
                QueueUrl=self._queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        return max(1, min(self._batch_size, -(-waiting // self._concurrency)))

    def poll_once(self, wait_seconds: int = 1) -> int:
        """One receive + invoke + delete cycle; returns how many messages were received."""
        received = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_limit(),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        with self._handler_exits:
            if self._stop.is_set():
                return 0  # stopped while receiving: left on the queue, never handled
            self._in_handler += 1
        try:
            with self._count_lock:
                self.batches += 1
            try:
                response = self._handler(lambda_sqs_event(received, self._queue_arn))
                failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            except Exception:  # the whole invocation failed: Lambda would retry every record
                failed = {m["MessageId"] for m in received}
            self._settle(received, failed)
        finally:
            with self._handler_exits:
                self._in_handler -= 1
                self._handler_exits.notify_all()
        return len(received)

    def _settle(self, received: list[dict[str, Any]], failed: set[str]) -> None:
        """Delete what succeeded; the failed records become visible again (and, in the end, go to the DLQ)."""
        with self._count_lock:
            self.failed_records += len(failed)
        done = [m for m in received if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the emulator hiccuped: a dead worker would silently stop the pipeline
                if self._stop.is_set():
                    return  # the emulator went down after stop(): nothing to report
                logger.exception("polling the queue failed; retrying in a second")
                self._stop.wait(1)
