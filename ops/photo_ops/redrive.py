"""Replay dead letters: move every message of an environment's upload-event DLQ back to its queue (or,
with ``--queue housekeeping``, the housekeeping DLQ: erasure steps, removals; ``--queue alternates``,
the second step's: images served as JPEG only until their AVIF is made).

    make redrive ENV=prod [QUEUE=housekeeping|alternates]   # or: python -m photo_ops.redrive --env prod

It finds both queues through the stack outputs (the storage stack's; the resize stack's for alternates), starts SQS's own message move task (the
service moves the messages, in order, at most ``--rate`` a second if given; nothing passes through this
machine) and follows it until it ends, printing how many moved. Needs AWS credentials for the account.
Run it once the cause is fixed: the worker treats a replayed event like a new one (it is idempotent).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from photo_pipeline_cdk.binding import (
    ALTERNATES_DEAD_LETTER_QUEUE_OUTPUT,
    ALTERNATES_QUEUE_OUTPUT,
    StackName,
    StorageOutput,
    stack_name,
)
from photo_pipeline_cdk.config import EnvironmentConfig, environment_config

from photo_ops.session import environment_session

# Each redrivable queue: the stack whose outputs name it, and its (queue, dead-letter queue) outputs.
QUEUES: dict[str, tuple[StackName, str, str]] = {
    "upload-events": (
        StackName.STORAGE,
        StorageOutput.UPLOAD_EVENTS_QUEUE_ARN,
        StorageOutput.UPLOAD_EVENTS_DEAD_LETTER_QUEUE_ARN,
    ),
    "housekeeping": (
        StackName.STORAGE,
        StorageOutput.HOUSEKEEPING_QUEUE_ARN,
        StorageOutput.HOUSEKEEPING_DEAD_LETTER_QUEUE_ARN,
    ),
    "alternates": (StackName.RESIZE, ALTERNATES_QUEUE_OUTPUT, ALTERNATES_DEAD_LETTER_QUEUE_OUTPUT),
}
TERMINAL_STATUSES = frozenset({"COMPLETED", "CANCELLED", "FAILED"})


@dataclass(frozen=True)
class RedriveResult:
    status: str  # COMPLETED, CANCELLED, FAILED, or NOTHING_TO_MOVE
    moved: int
    to_move: int
    failure: str | None = None


def storage_queue_arns(
    cloudformation: Any, config: EnvironmentConfig, queue: str = "upload-events"
) -> tuple[str, str]:
    """(queue ARN, dead-letter queue ARN) from the outputs of the environment's stack that has them."""
    kind, queue_output, dead_letter_output = QUEUES[queue]
    name = stack_name(config, kind)
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    missing = {queue_output, dead_letter_output} - set(outputs)
    if missing:
        raise RuntimeError(f"{name} has no output {sorted(missing)}: deploy that stack first")
    return outputs[queue_output], outputs[dead_letter_output]


def _queue_url(sqs: Any, arn: str) -> str:
    *_, account, name = arn.split(":")
    url: str = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    return url


def redrive(
    sqs: Any,
    *,
    dead_letter_queue_arn: str,
    queue_arn: str,
    max_per_second: int | None = None,
    poll_seconds: float = 2.0,
    report: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> RedriveResult:
    """Start the move task and follow it to its end."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=_queue_url(sqs, dead_letter_queue_arn), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    to_move = int(attributes["ApproximateNumberOfMessages"])
    if to_move == 0:
        report("the dead-letter queue is empty: nothing to replay")
        return RedriveResult("NOTHING_TO_MOVE", 0, 0)
    options: dict[str, Any] = {"SourceArn": dead_letter_queue_arn, "DestinationArn": queue_arn}
    if max_per_second is not None:
        options["MaxNumberOfMessagesPerSecond"] = max_per_second
    handle = sqs.start_message_move_task(**options)["TaskHandle"]
    report(f"moving about {to_move} messages from {dead_letter_queue_arn} to {queue_arn} (task {handle})")
    while True:
        (task, *_) = sqs.list_message_move_tasks(SourceArn=dead_letter_queue_arn, MaxResults=1)["Results"]
        moved = int(task.get("ApproximateNumberOfMessagesMoved", 0))
        if task["Status"] in TERMINAL_STATUSES:
            result = RedriveResult(task["Status"], moved, to_move, task.get("FailureReason"))
            report(
                f"{result.status.lower()}: {moved} messages moved"
                + (f" ({result.failure})" if result.failure else "")
            )
            return result
        report(f"{moved} of about {to_move} moved…")
        sleep(poll_seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Replay an environment's dead-lettered messages.")
    parser.add_argument("--env", required=True, help="dev, staging or prod")
    parser.add_argument("--rate", type=int, help="at most this many messages a second (default: SQS's)")
    parser.add_argument("--queue", choices=sorted(QUEUES), default="upload-events")
    args = parser.parse_args(argv)
    config = environment_config(args.env)
    session = environment_session(config)
    queue_arn, dead_letter_queue_arn = storage_queue_arns(
        session.client("cloudformation"), config, args.queue
    )
    result = redrive(
        session.client("sqs"),
        dead_letter_queue_arn=dead_letter_queue_arn,
        queue_arn=queue_arn,
        max_per_second=args.rate,
    )
    return 0 if result.status in ("COMPLETED", "NOTHING_TO_MOVE") else 1


if __name__ == "__main__":
    sys.exit(main())
