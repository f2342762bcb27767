"""Lambda entry point: the only place that reads the environment. Thin: parse, call, shape."""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from photo_contract.runtime import METRICS_NAMESPACE, PROCESSING_FAILURES_METRIC, RESIZE_SERVICE_NAME

from resize_worker.events import uploaded_objects
from resize_worker.process import Outcome, Status, process_object
from resize_worker.settings import WorkerSettings

logger = Logger(service=RESIZE_SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=RESIZE_SERVICE_NAME)


class ResizeWorker:
    """One batch at a time. Tests and the local runner build it with their own client and settings."""

    def __init__(self, *, s3: Any, settings: WorkerSettings) -> None:
        self._s3 = s3
        self._settings = settings
        self._processor = BatchProcessor(event_type=EventType.SQS)

    def handle_batch(self, event: dict[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
        # A record that raises is reported back to SQS alone (ReportBatchItemFailures); the rest succeed.
        response = process_partial_response(
            event=event, record_handler=self._handle_record, processor=self._processor, context=context
        )
        return dict(response)

    def _handle_record(self, record: SQSRecord) -> list[Outcome]:
        outcomes = []
        for obj in uploaded_objects(record.body):
            outcome = process_object(self._s3, self._settings, bucket=obj.bucket, key=obj.key)
            if outcome.failure:
                logger.error("the resize core failed", extra={"key": obj.key, "failure": outcome.failure})
            else:
                logger.info(
                    "processed", extra={"key": obj.key, "status": outcome.status, "detail": outcome.detail}
                )
            _count(outcome)
            outcomes.append(outcome)
        return outcomes


def _count(outcome: Outcome) -> None:
    if outcome.status is Status.READY:
        metrics.add_metric(name="ImagesResized", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="ResizeMillis", unit=MetricUnit.Milliseconds, value=outcome.millis)
    elif outcome.status is Status.REJECTED:
        metrics.add_metric(name="ImagesRejected", unit=MetricUnit.Count, value=1)
        if outcome.failure:
            metrics.add_metric(name=PROCESSING_FAILURES_METRIC, unit=MetricUnit.Count, value=1)


_worker: ResizeWorker | None = None


def _default_worker() -> ResizeWorker:
    global _worker
    if _worker is None:
        s3 = boto3.client("s3", config=Config(retries={"mode": "standard", "max_attempts": 4}))
        _worker = ResizeWorker(s3=s3, settings=WorkerSettings.from_env(os.environ))
    return _worker


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _default_worker().handle_batch(event, context)
