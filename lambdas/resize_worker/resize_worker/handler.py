"""Lambda entry point: the only place that reads the environment. Thin: parse, call, shape."""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from photo_contract.alternates import AlternatesQueue
from photo_contract.housekeeping import HousekeepingQueue
from photo_contract.registry import Registry
from photo_contract.runtime import (
    METRICS_NAMESPACE,
    MODERATOR_LOCAL,
    PROCESSING_FAILURES_METRIC,
    REJECTIONS_BY_REASON_METRIC,
    RESIZE_SERVICE_NAME,
)

from resize_worker.events import uploaded_objects
from resize_worker.moderation import LocalModerator, Moderator, RekognitionModerator
from resize_worker.process import ProcessOutcome, ProcessStatus, Services, process_object
from resize_worker.settings import WorkerSettings

logger = Logger(service=RESIZE_SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=RESIZE_SERVICE_NAME)


class OutOfTime(Exception):  # noqa: N818 - a deferral, reported as a batch item failure
    """Too little time left to finish one more image: the record goes back to the queue untouched."""


class ResizeWorker:
    """One batch at a time. Tests and the local runner build it with their own client and settings."""

    def __init__(self, *, services: Services, settings: WorkerSettings) -> None:
        self._services = services
        self._settings = settings
        self._processor = BatchProcessor(event_type=EventType.SQS)
        self._context: LambdaContext | None = None

    def handle_batch(self, event: dict[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
        # A record that raises is reported back to SQS alone (ReportBatchItemFailures); the rest succeed.
        self._context = context
        if not self._has_time_for_one_more():
            # Not even one image fits: all go back at once (Powertools would raise for an all-failed
            # batch, an error and an alarm for what is only a deferral).
            return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}
        response = process_partial_response(
            event=event, record_handler=self._handle_record, processor=self._processor, context=context
        )
        return dict(response)

    def _has_time_for_one_more(self) -> bool:
        reserve = self._settings.time_reserve_seconds
        if reserve is None or self._context is None:
            return True
        return self._context.get_remaining_time_in_millis() >= reserve * 1000

    def _check_time_left(self) -> None:
        """Being killed at the timeout would send the whole batch back, finished images included."""
        if not self._has_time_for_one_more():
            raise OutOfTime(f"the slowest image needs {self._settings.time_reserve_seconds:.1f} s: deferred")

    def _handle_record(self, record: SQSRecord) -> list[ProcessOutcome]:
        self._check_time_left()
        outcomes = []
        for obj in uploaded_objects(record.body):
            outcome = process_object(self._services, self._settings, bucket=obj.bucket, key=obj.key)
            if outcome.failure:
                logger.error("the resize core failed", extra={"key": obj.key, "failure": outcome.failure})
            else:
                logger.info(
                    "processed", extra={"key": obj.key, "status": outcome.status, "detail": outcome.detail}
                )
            _count(outcome)
            outcomes.append(outcome)
        return outcomes


def _count(outcome: ProcessOutcome) -> None:
    if outcome.moderation_millis is not None:
        metrics.add_metric(
            name="ModerationMillis", unit=MetricUnit.Milliseconds, value=outcome.moderation_millis
        )
    if outcome.status in (ProcessStatus.READY, ProcessStatus.HELD):
        metrics.add_metric(name="ImagesResized", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="ResizeMillis", unit=MetricUnit.Milliseconds, value=outcome.millis)
    if outcome.status is ProcessStatus.HELD:
        metrics.add_metric(name="ImagesHeld", unit=MetricUnit.Count, value=1)
    elif outcome.status is ProcessStatus.REJECTED:
        metrics.add_metric(name="ImagesRejected", unit=MetricUnit.Count, value=1)
        # Also by reason (the dashboard's "rejections by reason"): a metric with a dimension of its own,
        # flushed at once (EphemeralMetrics keeps its own set; it honours POWERTOOLS_METRICS_DISABLED).
        by_reason = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=RESIZE_SERVICE_NAME)
        by_reason.add_dimension(name="reason", value=outcome.detail)
        by_reason.add_metric(name=REJECTIONS_BY_REASON_METRIC, unit=MetricUnit.Count, value=1)
        by_reason.flush_metrics()
        if outcome.failure:
            metrics.add_metric(name=PROCESSING_FAILURES_METRIC, unit=MetricUnit.Count, value=1)


_worker: ResizeWorker | None = None
# Bounded waits: a stalled connection costs a retry, not the batch's whole timeout.
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"mode": "standard", "max_attempts": 4})


def aws_services(
    settings: WorkerSettings,
    *,
    session: boto3.session.Session | None = None,
    endpoint_url: str | None = None,
    first_step: bool = True,
) -> Services:
    """The worker's clients (the local runner passes its emulator's session and endpoint). Only the live
    resize function is the ``first_step``: it moderates new images and queues their alternates. The
    reprocess function (which keeps each image's recorded verdict, may not call Rekognition and makes
    every encoding in one step) and the alternates function pass ``first_step=False``."""
    session = session or boto3.session.Session()

    def client(name: str) -> Any:
        return session.client(name, config=CLIENT_CONFIG, endpoint_url=endpoint_url)  # type: ignore[call-overload]

    return Services(
        s3=client("s3"),
        registry=Registry(client("dynamodb"), settings.registry_table),
        events=client("events"),
        bus_name=settings.event_bus_name,
        housekeeping=(
            HousekeepingQueue(client("sqs"), settings.housekeeping_queue_url)
            if settings.housekeeping_queue_url
            else None
        ),
        moderator=_moderator(settings, client) if first_step and settings.moderation.enabled else None,
        alternates=(
            AlternatesQueue(client("sqs"), settings.alternates_queue_url)
            if settings.alternates_queue_url and first_step
            else None
        ),
    )


def _moderator(settings: WorkerSettings, client: Any) -> Moderator:
    if settings.moderator == MODERATOR_LOCAL:
        return LocalModerator()
    return RekognitionModerator(client("rekognition"))


def _default_worker() -> ResizeWorker:
    global _worker
    if _worker is None:
        settings = WorkerSettings.from_env(os.environ)
        _worker = ResizeWorker(services=aws_services(settings), settings=settings)
    return _worker


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _default_worker().handle_batch(event, context)
