"""The alternates function's entry point: the second step's queue, a batch at a time. Thin."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from photo_contract.alternates import AlternatesTask
from photo_contract.runtime import ALTERNATES_SERVICE_NAME, METRICS_NAMESPACE, PROCESSING_FAILURES_METRIC

from resize_worker.alternates import make_alternates
from resize_worker.handler import aws_services
from resize_worker.process import ProcessOutcome, ProcessStatus, Services
from resize_worker.settings import WorkerSettings

logger = Logger(service=ALTERNATES_SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=ALTERNATES_SERVICE_NAME)


class OutOfTime(Exception):  # noqa: N818 - a deferral, reported as a batch item failure
    pass


class AlternatesWorker:
    """Tests and the local runner build it with their own clients and settings."""

    def __init__(self, *, services: Services, settings: WorkerSettings) -> None:
        self._services = services
        self._settings = settings
        self._processor = BatchProcessor(event_type=EventType.SQS)
        self._context: LambdaContext | None = None

    def handle_batch(self, event: dict[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
        self._context = context
        response = process_partial_response(
            event=event, record_handler=self._handle_record, processor=self._processor, context=context
        )
        return dict(response)

    def _handle_record(self, record: SQSRecord) -> ProcessOutcome:
        reserve = self._settings.time_reserve_seconds
        context = self._context
        if (
            reserve is not None
            and context is not None
            and context.get_remaining_time_in_millis() < reserve * 1000
        ):
            raise OutOfTime("too little time left for the slowest image: deferred")
        # A malformed body raises: retried, then in the step's DLQ (where it can be looked at).
        outcome = make_alternates(self._services, self._settings, AlternatesTask.from_body(record.body))
        if outcome.failure:
            logger.error("the alternates failed", extra={"image": outcome.key, "failure": outcome.failure})
            metrics.add_metric(name=PROCESSING_FAILURES_METRIC, unit=MetricUnit.Count, value=1)
        else:
            logger.info("alternates", extra={"image": outcome.key, "status": outcome.status})
        if outcome.status is ProcessStatus.READY:
            metrics.add_metric(name="AlternatesMade", unit=MetricUnit.Count, value=1)
            metrics.add_metric(name="AlternatesMillis", unit=MetricUnit.Milliseconds, value=outcome.millis)
        return outcome


_worker: AlternatesWorker | None = None


def _default_worker() -> AlternatesWorker:
    global _worker
    if _worker is None:
        settings = WorkerSettings.from_env(os.environ)
        _worker = AlternatesWorker(services=aws_services(settings, first_step=False), settings=settings)
    return _worker


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _default_worker().handle_batch(event, context)
