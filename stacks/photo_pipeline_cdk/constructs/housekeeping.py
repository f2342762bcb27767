"""Housekeeping: the queue (stateful, beside the buckets) and the function that removes originals and
catches up on lost work, a principal that never parses image bytes."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from photo_contract import DERIVED_PREFIX, HELD_PREFIX, UPLOADS_PREFIX
from photo_contract.housekeeping import HousekeepingTask, Task
from photo_contract.runtime import DEAD_LETTER_RETENTION_DAYS, HousekeepingEnvironment

from photo_pipeline_cdk.assets.bundling import PythonAssetSpec
from photo_pipeline_cdk.assets.functions import RUNTIME_PROVIDED, python_function
from photo_pipeline_cdk.assets.sources import DEFAULT_ASSET_CACHE, runtime_sources
from photo_pipeline_cdk.config import DEFAULT_ARCHITECTURE, DEFAULT_PYTHON_VERSION, Architecture
from photo_pipeline_cdk.constructs.alarms import alarm_above_zero
from photo_pipeline_cdk.constructs.grants import (
    grant_listing,
    grant_object_actions,
    grant_send,
    grant_version_listing,
)
from photo_pipeline_cdk.constructs.registry import grant_registry_housekeeping
from photo_pipeline_cdk.constructs.upload_events import queue_with_dead_letters
from photo_pipeline_cdk.nag import acknowledge, acknowledge_prefix_grants, acknowledge_python_function

HOUSEKEEPING_TIMEOUT_SECONDS = 120  # a step is a page: 25 deletes, or 1,000 originals settled
MAX_RECEIVE_COUNT = 5


class HousekeepingQueue(Construct):
    """An encrypted, TLS-only queue of housekeeping tasks with a dead-letter queue and an alarm on it.
    Exposes ``.queue``, ``.dead_letter_queue``, ``.dead_letter_alarm``.

    :param retain: keep both queues when the stack is deleted (prod: a running erasure is in them).
    """

    def __init__(self, scope: Construct, construct_id: str, *, retain: bool = False) -> None:
        super().__init__(scope, construct_id)
        self.queue, self.dead_letter_queue = queue_with_dead_letters(
            self,
            visibility_timeout_seconds=6 * HOUSEKEEPING_TIMEOUT_SECONDS,
            retention_days=DEAD_LETTER_RETENTION_DAYS,  # a running erasure's next step waits here
            max_receive_count=MAX_RECEIVE_COUNT,
            retain=retain,
        )
        self.dead_letter_alarm = alarm_above_zero(
            self,
            "DeadLettersAlarm",
            "Housekeeping tasks (an erasure step, a removal) failed every retry: redrive after the fix.",
            self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
        )


class Housekeeping(Construct):
    """The housekeeping function on ``queue``, plus its schedules: the outbox sweep every 15 minutes and a
    sweep of the uploads bucket every week. It may list and delete original versions, tag them for
    expiry, delete variants, read and update the registry, publish events, invalidate the CDN; it may
    not read an object's bytes, and its package has no image decoder. Exposes ``.function`` and
    ``.alarms``.

    :param distribution: where an erasure's paths are invalidated (None: no CDN in front).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queue: sqs.IQueue,
        uploads_bucket: s3.IBucket,
        media_bucket: s3.IBucket,
        registry_table: dynamodb.ITableV2,
        event_bus: events.IEventBus,
        distribution: cloudfront.IDistribution | None = None,
        architecture: Architecture = DEFAULT_ARCHITECTURE,
        python_version: str = DEFAULT_PYTHON_VERSION,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        asset_cache_dir: Path = DEFAULT_ASSET_CACHE,
    ) -> None:
        super().__init__(scope, construct_id)
        environment = HousekeepingEnvironment(
            uploads_bucket=uploads_bucket.bucket_name,
            media_bucket=media_bucket.bucket_name,
            registry_table=registry_table.table_name,
            event_bus_name=event_bus.event_bus_name,
            queue_url=queue.queue_url,
            cdn_distribution_id=distribution.distribution_id if distribution is not None else None,
        )
        self.function = self._build_function(
            environment, architecture, python_version, log_retention, asset_cache_dir
        )
        self._grant(queue, uploads_bucket, media_bucket, registry_table, event_bus, distribution)
        self._subscribe(queue)
        self._schedule()
        self.errors_alarm = alarm_above_zero(
            self,
            "ErrorsAlarm",
            "The housekeeping function failed (its tasks are retried, then dead-lettered).",
            self.function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
        )
        self.alarms = [self.errors_alarm]
        self._acknowledge(uploads_bucket, media_bucket, python_version)

    def _build_function(
        self,
        environment: HousekeepingEnvironment,
        architecture: Architecture,
        python_version: str,
        log_retention: logs.RetentionDays,
        asset_cache_dir: Path,
    ) -> lambda_.Function:
        src = runtime_sources()
        # The worker's package with the contract but without the resize core and Pillow: this function
        # cannot decode an image even if asked to.
        code = PythonAssetSpec(
            projects=(src.resize_worker, src.contract),
            constraints=src.constraints,
            hashes=src.wheel_hashes,
            architecture=architecture,
            python_version=python_version,
            provided=RUNTIME_PROVIDED | {"photo-pipeline-resize-core"},
        )
        return python_function(
            self,
            description="photo-pipeline: erasure jobs, original removal, outbox and orphan sweeps",
            handler="resize_worker.housekeeping_handler.lambda_handler",
            code=code,
            memory_mib=256,
            timeout_seconds=HOUSEKEEPING_TIMEOUT_SECONDS,
            reserved_concurrency=5,  # a bulk erasure never competes with the live pipeline for throughput
            recursive_loop=lambda_.RecursiveLoop.TERMINATE,
            environment=environment.to_env(),
            log_retention=log_retention,
            asset_cache_dir=asset_cache_dir,
        )

    def _grant(
        self,
        queue: sqs.IQueue,
        uploads_bucket: s3.IBucket,
        media_bucket: s3.IBucket,
        registry_table: dynamodb.ITableV2,
        event_bus: events.IEventBus,
        distribution: cloudfront.IDistribution | None,
    ) -> None:
        function = self.function
        grant_object_actions(
            function,
            uploads_bucket,
            UPLOADS_PREFIX,
            "s3:DeleteObjectVersion",
            "s3:PutObjectVersionTagging",
            "s3:GetObjectVersionTagging",
            "s3:DeleteObjectVersionTagging",
        )
        grant_listing(function, uploads_bucket, UPLOADS_PREFIX)
        grant_version_listing(function, uploads_bucket, UPLOADS_PREFIX)
        grant_object_actions(function, media_bucket, DERIVED_PREFIX, "s3:DeleteObject")
        grant_object_actions(function, media_bucket, HELD_PREFIX, "s3:DeleteObject")
        grant_listing(function, media_bucket, DERIVED_PREFIX)
        grant_listing(function, media_bucket, HELD_PREFIX)
        grant_registry_housekeeping(function, registry_table, event_bus)
        grant_send(function, queue)  # the next page of a paged task
        if distribution is not None:
            distribution.grant_create_invalidation(function)

    def _subscribe(self, queue: sqs.IQueue) -> None:
        self.function.add_event_source(
            sources.SqsEventSource(queue, batch_size=1, report_batch_item_failures=True, max_concurrency=5)
        )

    def _schedule(self) -> None:
        for rule_id, every, task in (
            ("OutboxSweep", Duration.minutes(15), Task.SWEEP_OUTBOX),
            ("OriginalsSweep", Duration.days(7), Task.SWEEP_ORIGINALS),
        ):
            rule = events.Rule(
                self,
                rule_id,
                schedule=events.Schedule.rate(every),
                targets=[
                    targets.LambdaFunction(
                        self.function,
                        event=events.RuleTargetInput.from_text(HousekeepingTask(task).to_body()),
                        retry_attempts=2,
                    )
                ],
            )
            acknowledge(
                rule,
                **{
                    "Serverless-EventBusDLQ": (
                        "A schedule: a missed run is made up by the next one (it reads from the registry "
                        "and the bucket, not from the event), and the function's errors alarm."
                    )
                },
            )

    def _acknowledge(self, uploads_bucket: s3.IBucket, media_bucket: s3.IBucket, python: str) -> None:
        acknowledge_prefix_grants(
            self.function,
            uploads_bucket.arn_for_objects(f"{UPLOADS_PREFIX}*"),
            media_bucket.arn_for_objects(f"{DERIVED_PREFIX}*"),
            media_bucket.arn_for_objects(f"{HELD_PREFIX}*"),
        )
        acknowledge_python_function(
            self.function,
            python_version=python,
            **{
                "Serverless-LambdaDLQ": "SQS-invoked: failed tasks go to the queue's DLQ; a schedule re-runs.",
                "Serverless-LambdaEventSourceMappingDestination": (
                    "SQS mappings have no on-failure destination; the queue's redrive policy is the DLQ."
                ),
            },
        )
