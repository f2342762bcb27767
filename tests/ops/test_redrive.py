"""Dead letters can be replayed: the move task is started for the environment's DLQ and queue, followed
to its end, and the messages are back in the queue.

moto has no message move task (StartMessageMoveTask, ListMessageMoveTasks), so ``MoveTaskSqs`` adds
one to moto's SQS, doing what SQS documents: move every message of a source DLQ to its destination,
reporting RUNNING with a growing count, then COMPLETED. Everything else is moto's real SQS and
CloudFormation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from photo_ops.redrive import redrive, storage_queue_arns
from photo_pipeline_cdk.config import ENVIRONMENTS

REGION = "eu-west-1"


class MoveTaskSqs:
    """moto's SQS client plus the message move task, moving one batch of up to 10 per status call."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._tasks: dict[str, dict[str, Any]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _url(self, arn: str) -> str:
        url: str = self._client.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]
        return url

    def start_message_move_task(self, *, SourceArn: str, DestinationArn: str, **_: Any) -> dict[str, str]:  # noqa: N803
        policy = json.loads(
            self._client.get_queue_attributes(
                QueueUrl=self._url(DestinationArn), AttributeNames=["RedrivePolicy"]
            )["Attributes"]["RedrivePolicy"]
        )
        if policy["deadLetterTargetArn"] != SourceArn:  # SQS only moves from a DLQ
            raise ValueError("source is not the destination's dead-letter queue")
        self._tasks[SourceArn] = {
            "Status": "RUNNING",
            "ApproximateNumberOfMessagesMoved": 0,
            "To": DestinationArn,
        }
        return {"TaskHandle": f"task-{len(self._tasks)}"}

    def list_message_move_tasks(self, *, SourceArn: str, **_: Any) -> dict[str, Any]:  # noqa: N803
        task = self._tasks[SourceArn]
        source, destination = self._url(SourceArn), self._url(task["To"])
        messages = self._client.receive_message(QueueUrl=source, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            self._client.send_message(QueueUrl=destination, MessageBody=message["Body"])
            self._client.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])
            task["ApproximateNumberOfMessagesMoved"] += 1
        if not messages:
            task["Status"] = "COMPLETED"
        return {"Results": [{k: v for k, v in task.items() if k != "To"}]}


@pytest.fixture
def queues() -> Iterator[tuple[Any, str, str]]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        dlq_url = sqs.create_queue(QueueName="upload-events-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        queue_url = sqs.create_queue(
            QueueName="upload-events",
            Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})},
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        yield sqs, queue_arn, dlq_arn


def _bodies(sqs: Any, arn: str) -> list[str]:
    url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [m["Body"] for m in messages]
    return bodies


def test_every_dead_letter_goes_back_to_the_queue(queues: tuple[Any, str, str]) -> None:
    sqs, queue_arn, dlq_arn = queues
    dlq_url = sqs.get_queue_url(QueueName="upload-events-dlq")["QueueUrl"]
    sent = [json.dumps({"Records": [{"n": n}]}) for n in range(23)]
    for body in sent:
        sqs.send_message(QueueUrl=dlq_url, MessageBody=body)
    lines: list[str] = []

    result = redrive(
        MoveTaskSqs(sqs),
        dead_letter_queue_arn=dlq_arn,
        queue_arn=queue_arn,
        report=lines.append,
        sleep=lambda _: None,
    )

    assert (result.status, result.moved, result.to_move) == ("COMPLETED", 23, 23)
    assert sorted(_bodies(sqs, queue_arn)) == sorted(sent)
    assert _bodies(sqs, dlq_arn) == []
    assert lines[0].startswith("moving about 23 messages") and lines[-1] == "completed: 23 messages moved"
    assert any("10 of about 23 moved" in line for line in lines)  # progress while it runs


def test_an_empty_dead_letter_queue_starts_no_task(queues: tuple[Any, str, str]) -> None:
    sqs, queue_arn, dlq_arn = queues
    fake = MoveTaskSqs(sqs)
    result = redrive(fake, dead_letter_queue_arn=dlq_arn, queue_arn=queue_arn, report=lambda _: None)
    assert result.status == "NOTHING_TO_MOVE" and fake._tasks == {}


def test_the_queues_come_from_the_storage_stack_outputs() -> None:
    config = ENVIRONMENTS["prod"]
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        template = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {
                "UploadEventsQueueArn": {"Value": "arn:aws:sqs:eu-west-1:123456789012:q"},
                "UploadEventsDeadLetterQueueArn": {"Value": "arn:aws:sqs:eu-west-1:123456789012:dlq"},
            },
        }
        cloudformation.create_stack(
            StackName="photo-pipeline-prod-storage", TemplateBody=json.dumps(template)
        )
        assert storage_queue_arns(cloudformation, config) == (
            "arn:aws:sqs:eu-west-1:123456789012:q",
            "arn:aws:sqs:eu-west-1:123456789012:dlq",
        )


def test_the_alternates_queues_come_from_the_resize_stack_outputs() -> None:
    config = ENVIRONMENTS["prod"]
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        template = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {
                "AlternatesQueueArn": {"Value": "arn:aws:sqs:eu-west-1:123456789012:alt"},
                "AlternatesDeadLetterQueueArn": {"Value": "arn:aws:sqs:eu-west-1:123456789012:alt-dlq"},
            },
        }
        cloudformation.create_stack(StackName="photo-pipeline-prod-resize", TemplateBody=json.dumps(template))
        assert storage_queue_arns(cloudformation, config, "alternates") == (
            "arn:aws:sqs:eu-west-1:123456789012:alt",
            "arn:aws:sqs:eu-west-1:123456789012:alt-dlq",
        )
