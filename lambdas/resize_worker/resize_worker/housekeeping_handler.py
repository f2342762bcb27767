"""Lambda entry point of the housekeeping function: the only place it reads the environment.

Invoked by its SQS queue (tasks the API and the worker send, and the next page of a paged task) and by
two schedules (the outbox sweep, and the start of a sweep of the uploads bucket). It imports nothing
that decodes images, and its package carries no Pillow.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from photo_contract.deletion import CdnInvalidation, Storage
from photo_contract.housekeeping import BadTaskError, HousekeepingQueue, HousekeepingTask
from photo_contract.registry import Registry
from photo_contract.runtime import HOUSEKEEPING_SERVICE_NAME, HousekeepingEnvironment

from resize_worker.housekeeping import Housekeeping, run

logger = Logger(service=HOUSEKEEPING_SERVICE_NAME)
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"mode": "standard", "max_attempts": 4})


def housekeeping_services(
    env: HousekeepingEnvironment, *, session: boto3.session.Session | None = None
) -> Housekeeping:
    session = session or boto3.session.Session()

    def client(name: str) -> Any:
        return session.client(name, config=CLIENT_CONFIG, endpoint_url=env.endpoint_url)  # type: ignore[call-overload]

    return Housekeeping(
        storage=Storage(
            s3=client("s3"),
            uploads_bucket=env.uploads_bucket,
            media_bucket=env.media_bucket,
            registry=Registry(client("dynamodb"), env.registry_table),
            events=client("events"),
            bus_name=env.event_bus_name,
            cdn=CdnInvalidation(client("cloudfront"), env.cdn_distribution_id)
            if env.cdn_distribution_id
            else None,
        ),
        queue=HousekeepingQueue(client("sqs"), env.queue_url),
    )


class HousekeepingWorker:
    """One SQS batch, or one scheduled task. Tests and the local runner build it with their clients."""

    def __init__(self, services: Housekeeping) -> None:
        self._services = services
        self._processor = BatchProcessor(event_type=EventType.SQS)

    def handle(self, event: dict[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
        if "Records" not in event:  # a schedule's target input: the task itself
            return {"done": self._run(event)}
        response = process_partial_response(
            event=event, record_handler=self._record, processor=self._processor, context=context
        )
        return dict(response)

    def _record(self, record: SQSRecord) -> str:
        return self._run(record.body)

    def _run(self, body: str | dict[str, Any]) -> str:
        try:
            task = HousekeepingTask.from_body(body)
        except BadTaskError as exc:  # nobody can fix a malformed task by retrying it
            logger.error("dropped a malformed task", extra={"error": str(exc)})
            return "dropped"
        done = run(self._services, task)
        logger.info("housekeeping", extra={"task": task.task.value, "owner": task.owner, "done": done})
        return done


_worker: HousekeepingWorker | None = None


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    global _worker
    if _worker is None:
        _worker = HousekeepingWorker(housekeeping_services(HousekeepingEnvironment.from_env(os.environ)))
    return _worker.handle(event, context)
