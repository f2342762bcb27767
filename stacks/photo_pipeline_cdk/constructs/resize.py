"""The resize function: Pillow layer + thin handler, fed by the upload-event queue."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from photo_contract import DERIVED_PREFIX, HELD_PREFIX, UPLOADS_PREFIX
from photo_contract.budget import check_budget, min_timeout_seconds
from photo_contract.moderation import ModerationPolicy
from photo_contract.receipt import ReceiptPolicy
from photo_contract.runtime import (
    ALTERNATES_SERVICE_NAME,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SOURCE_BYTES,
    METRICS_NAMESPACE,
    PROCESSING_FAILURES_METRIC,
    RESIZE_SERVICE_NAME,
    UPLOAD_QUEUE_RETENTION_DAYS,
    WorkerEnvironment,
)
from photo_contract.variants import FEED_VARIANTS, VariantSpec

from photo_pipeline_cdk.assets.bundling import PythonAssetSpec, python_asset_code
from photo_pipeline_cdk.assets.functions import (
    LAMBDA_ARCHITECTURES,
    RUNTIME_PROVIDED,
    lambda_runtime,
    python_function,
)
from photo_pipeline_cdk.assets.sources import DEFAULT_ASSET_CACHE, runtime_sources
from photo_pipeline_cdk.config import DEFAULT_ARCHITECTURE, DEFAULT_PYTHON_VERSION, Architecture
from photo_pipeline_cdk.constructs.alarms import alarm_above_zero
from photo_pipeline_cdk.constructs.grants import grant_listing, grant_object_actions, grant_send
from photo_pipeline_cdk.constructs.registry import grant_registry_worker
from photo_pipeline_cdk.constructs.upload_events import (
    MIN_MAX_RECEIVE_COUNT,
    UploadEvents,
    queue_with_dead_letters,
)
from photo_pipeline_cdk.nag import acknowledge, acknowledge_prefix_grants, acknowledge_python_function


@dataclass(frozen=True, kw_only=True)
class AlternatesStep:
    """The second step's function: its own memory, timeout, concurrency and batch (its own budget,
    checked like the first's), fed by its own queue with a DLQ."""

    memory_mib: int = 1024
    timeout_seconds: int = 75
    reserved_concurrency: int = 5
    batch_size: int = 5
    max_receive_count: int = MIN_MAX_RECEIVE_COUNT


class PillowLayer(Construct):
    """A Lambda layer with the resize core and Pillow (and pillow-heif), built by pip from the core's own
    source with manylinux wheels for ``architecture``; no Docker. Exposes ``.layer``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        architecture: Architecture = DEFAULT_ARCHITECTURE,
        python_version: str = DEFAULT_PYTHON_VERSION,
        asset_cache_dir: Path = DEFAULT_ASSET_CACHE,
    ) -> None:
        super().__init__(scope, construct_id)
        src = runtime_sources()
        spec = PythonAssetSpec(
            projects=(src.resize_core, src.contract),
            constraints=src.constraints,
            hashes=src.wheel_hashes,
            architecture=architecture,
            python_version=python_version,
            subdir="python",
        )
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=python_asset_code(spec, cache_dir=asset_cache_dir),
            compatible_runtimes=[lambda_runtime(python_version)],
            compatible_architectures=[LAMBDA_ARCHITECTURES[architecture]],
            description=f"photo-pipeline resize core + Pillow ({architecture.value}, Python {python_version})",
        )


class ResizePipeline(Construct):
    """Resizes every original created under ``uploads/`` in ``uploads_bucket`` into ``media_bucket``.

    Exposes ``.function``, ``.layer``, ``.queue``, ``.dead_letter_queue``, its alarms (``.errors_alarm``,
    ``.processing_failures_alarm``, ``.throttles_alarm``; all three in ``.alarms``), and
    ``.reprocess_function``: the same code and grants, one original per invocation, for reprocessing
    (``Reprocessing``), with a reserved concurrency of its own so a backfill never takes the live
    queue's.

    :param queue: the queue of S3 upload events to consume. Default: a new encrypted queue with a DLQ
        and the bucket notification is created here (pass one when the buckets live in another stack,
        where the notification must be created beside them).
    :param dead_letter_queue: the DLQ of ``queue``, for the record; ignored when ``queue`` is not given.
    :param reserved_concurrency: caps parallel resizes, and so the load on the buckets (default 10).
    :param timeout_seconds: per batch (default 75); a new queue gets a visibility timeout of 6x this.
        With ``memory_mib``, ``batch_size`` and ``max_pixels`` it must fit the measured budget
        (``photo_contract.budget``): every legal image in memory, a full batch in time.
    :param variants: what to make (default: 1080 and 640 px fit-to-width and a 150 px square, JPEG q85).
    :param registry_table: the image registry (``ImageRegistry.table``) the worker records each image in.
    :param event_bus: where its transitions are announced (``ImageRegistry.bus``).
    :param housekeeping_queue: where originals the worker will not use are sent to be removed
        (``HousekeepingQueue.queue``); the worker itself may not delete an original. None: nothing
        removes them (a library user's test).
    :param reprocess_concurrency: the reprocess function's reserved concurrency (default 10).
    :param receipt_policy: what each image's privacy receipt keeps as data beyond the capture time
        (default: neither the camera nor the location).
    :param moderation: moderation rules; with any, the live function (not the reprocess one, which keeps
        each image's recorded verdict) may call Rekognition ``DetectModerationLabels``. Default: off.
    :param alternates: two steps: the function above makes each variant's own encoding (the JPEGs) and
        an image is ready with them; this second function, fed by its own queue (``.alternates_queue``,
        DLQ ``.alternates_dead_letter_queue`` with an alarm), adds the alternates (AVIF)
        (``.alternates_function``). None (the default): one function makes everything.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        uploads_bucket: s3.IBucket,
        media_bucket: s3.IBucket,
        registry_table: dynamodb.ITableV2,
        event_bus: events.IEventBus,
        queue: sqs.IQueue | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        housekeeping_queue: sqs.IQueue | None = None,
        architecture: Architecture = DEFAULT_ARCHITECTURE,
        python_version: str = DEFAULT_PYTHON_VERSION,
        memory_mib: int = 1024,
        timeout_seconds: int = 75,
        reserved_concurrency: int = 10,
        batch_size: int = 10,
        max_receive_count: int = MIN_MAX_RECEIVE_COUNT,
        max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        variants: tuple[VariantSpec, ...] = FEED_VARIANTS,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        asset_cache_dir: Path = DEFAULT_ASSET_CACHE,
        reprocess_concurrency: int = 10,
        receipt_policy: ReceiptPolicy | None = None,
        moderation: ModerationPolicy | None = None,
        alternates: AlternatesStep | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 2 <= reserved_concurrency <= 1000:
            raise ValueError(f"reserved_concurrency must be 2..1000, got {reserved_concurrency}")
        if not 1 <= batch_size <= 10:
            raise ValueError(f"batch_size must be 1..10 (no batching window), got {batch_size}")
        check_budget(
            memory_mib=memory_mib,
            timeout_seconds=timeout_seconds,
            batch_size=batch_size,
            max_pixels=max_pixels,
            max_source_bytes=max_source_bytes,
        )
        self._max_pixels, self._max_source_bytes = max_pixels, max_source_bytes
        # Built first: a bad value fails the synth here with the contract's own message.
        environment = WorkerEnvironment(
            media_bucket=media_bucket.bucket_name,
            registry_table=registry_table.table_name,
            event_bus_name=event_bus.event_bus_name,
            max_source_bytes=max_source_bytes,
            max_pixels=max_pixels,
            variants=variants,
            housekeeping_queue_url=housekeeping_queue.queue_url if housekeeping_queue else None,
            receipt_policy=receipt_policy or ReceiptPolicy(),
            moderation=moderation or ModerationPolicy(),
        )
        self.queue, self.dead_letter_queue = self._build_queue(
            uploads_bucket, queue, dead_letter_queue, timeout_seconds, max_receive_count
        )
        self.alternates_queue, self.alternates_dead_letter_queue = self._build_alternates_queue(alternates)
        first_step = (
            dataclasses.replace(environment, alternates_queue_url=self.alternates_queue.queue_url)
            if self.alternates_queue is not None
            else environment
        )
        self.layer = PillowLayer(
            self,
            "Pillow",
            architecture=architecture,
            python_version=python_version,
            asset_cache_dir=asset_cache_dir,
        ).layer
        self.function = self._build_function(
            self,
            first_step,
            handler="resize_worker.handler.lambda_handler",
            description="photo-pipeline: resize uploaded originals into feed variants",
            architecture=architecture,
            python_version=python_version,
            memory_mib=memory_mib,
            timeout_seconds=timeout_seconds,
            reserved_concurrency=reserved_concurrency,
            log_retention=log_retention,
            asset_cache_dir=asset_cache_dir,
        )
        self.reprocess_function = self._build_function(
            Construct(self, "Reprocess"),
            environment,
            handler="resize_worker.reprocess.lambda_handler",
            description="photo-pipeline: reprocess one original with the current variant spec",
            architecture=architecture,
            python_version=python_version,
            memory_mib=memory_mib,
            timeout_seconds=min_timeout_seconds(memory_mib, 1),  # one image per invocation
            reserved_concurrency=reprocess_concurrency,
            log_retention=log_retention,
            asset_cache_dir=asset_cache_dir,
        )
        for function in (self.function, self.reprocess_function):
            self._grant_buckets(function, uploads_bucket, media_bucket)
            grant_registry_worker(function, registry_table, event_bus)
            if housekeeping_queue is not None:
                grant_send(function, housekeeping_queue)
        self.alternates_function = self._build_alternates_function(
            alternates, environment, uploads_bucket, media_bucket, registry_table, event_bus,
            architecture=architecture, python_version=python_version, log_retention=log_retention,
            asset_cache_dir=asset_cache_dir,
        )  # fmt: skip
        if environment.moderation.enabled:
            grant_moderation(self.function)
            acknowledge(
                self.function,
                **{
                    "AwsSolutions-IAM5[Resource::*]": (
                        "rekognition:DetectModerationLabels on image bytes has no resource type: IAM takes only *."
                    )
                },
            )
        self._subscribe(batch_size, reserved_concurrency)
        self.errors_alarm, self.processing_failures_alarm, self.throttles_alarm = self._build_alarms()
        self.alarms = [self.errors_alarm, self.processing_failures_alarm, self.throttles_alarm]
        self.alarms += self._build_alternates_alarms()
        self._acknowledge_findings(uploads_bucket, media_bucket, python_version)

    def _build_queue(
        self,
        uploads_bucket: s3.IBucket,
        queue: sqs.IQueue | None,
        dead_letter_queue: sqs.IQueue | None,
        timeout_seconds: int,
        max_receive_count: int,
    ) -> tuple[sqs.IQueue, sqs.IQueue | None]:
        if queue is not None:
            return queue, dead_letter_queue
        events = UploadEvents(
            self,
            "Events",
            uploads_bucket=uploads_bucket,
            visibility_timeout_seconds=6 * timeout_seconds,
            max_receive_count=max_receive_count,
        )
        return events.queue, events.dead_letter_queue

    def _build_alternates_queue(
        self, step: AlternatesStep | None
    ) -> tuple[sqs.Queue | None, sqs.Queue | None]:
        if step is None:
            return None, None
        check_budget(
            memory_mib=step.memory_mib,
            timeout_seconds=step.timeout_seconds,
            batch_size=step.batch_size,
            max_pixels=self._max_pixels,
            max_source_bytes=self._max_source_bytes,
        )
        return queue_with_dead_letters(
            Construct(self, "AlternatesQueue"),
            visibility_timeout_seconds=6 * step.timeout_seconds,
            retention_days=UPLOAD_QUEUE_RETENTION_DAYS,
            max_receive_count=step.max_receive_count,
            retain=False,  # a lost backlog costs AVIFs only: the JPEGs are served, a reprocess remakes them
        )

    def _build_alternates_function(
        self,
        step: AlternatesStep | None,
        environment: WorkerEnvironment,
        uploads_bucket: s3.IBucket,
        media_bucket: s3.IBucket,
        registry_table: dynamodb.ITableV2,
        event_bus: events.IEventBus,
        *,
        architecture: Architecture,
        python_version: str,
        log_retention: logs.RetentionDays,
        asset_cache_dir: Path,
    ) -> lambda_.Function | None:
        if step is None or self.alternates_queue is None:
            return None
        function = self._build_function(
            Construct(self, "Alternates"),
            environment,
            handler="resize_worker.alternates_handler.lambda_handler",
            description="photo-pipeline: add each ready image's alternates (AVIF) to its JPEGs",
            architecture=architecture,
            python_version=python_version,
            memory_mib=step.memory_mib,
            timeout_seconds=step.timeout_seconds,
            reserved_concurrency=step.reserved_concurrency,
            log_retention=log_retention,
            asset_cache_dir=asset_cache_dir,
        )
        # As the first step's, less the version read: it reads the original its record names (IfMatch).
        grant_object_actions(function, uploads_bucket, UPLOADS_PREFIX, "s3:GetObject")
        grant_object_actions(function, media_bucket, DERIVED_PREFIX, "s3:PutObject", "s3:DeleteObject")
        grant_object_actions(function, media_bucket, HELD_PREFIX, "s3:PutObject", "s3:DeleteObject")
        grant_listing(function, uploads_bucket, None)
        grant_registry_worker(function, registry_table, event_bus)
        grant_send(self.function, self.alternates_queue)
        function.add_event_source(
            sources.SqsEventSource(
                self.alternates_queue,
                batch_size=step.batch_size,
                report_batch_item_failures=True,
                max_concurrency=max(2, step.reserved_concurrency),
            )
        )
        return function

    def _build_alternates_alarms(self) -> list[cloudwatch.Alarm]:
        if self.alternates_function is None or self.alternates_dead_letter_queue is None:
            return []
        return [
            alarm_above_zero(
                self,
                "AlternatesDeadLettersAlarm",
                "Alternates tasks failed five times (their images are served as JPEG): redrive the DLQ.",
                self.alternates_dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(5), statistic="Maximum"
                ),
            ),
            alarm_above_zero(
                self,
                "AlternatesErrorsAlarm",
                "The alternates function failed invocations (records go back to its queue).",
                self.alternates_function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                evaluation_periods=1,
            ),
            alarm_above_zero(
                self,
                "AlternatesFailuresAlarm",
                "The resize core raised making an image's alternates (recorded, not retried): a bug to read.",
                cloudwatch.Metric(
                    namespace=METRICS_NAMESPACE,
                    metric_name=PROCESSING_FAILURES_METRIC,
                    dimensions_map={"service": ALTERNATES_SERVICE_NAME},
                    period=Duration.minutes(5),
                    statistic="Sum",
                ),
            ),
        ]

    def _build_function(
        self,
        scope: Construct,
        environment: WorkerEnvironment,
        *,
        handler: str,
        description: str,
        architecture: Architecture,
        python_version: str,
        memory_mib: int,
        timeout_seconds: int,
        reserved_concurrency: int,
        log_retention: logs.RetentionDays,
        asset_cache_dir: Path,
    ) -> lambda_.Function:
        src = runtime_sources()
        code = PythonAssetSpec(
            projects=(src.resize_worker,),
            constraints=src.constraints,
            hashes=src.wheel_hashes,
            architecture=architecture,
            python_version=python_version,
            provided=RUNTIME_PROVIDED | {"photo-pipeline-resize-core", "photo-pipeline-contract"},
        )
        return python_function(
            scope,
            description=description,
            handler=handler,
            code=code,
            layers=[self.layer],
            memory_mib=memory_mib,
            timeout_seconds=timeout_seconds,
            reserved_concurrency=reserved_concurrency,
            recursive_loop=lambda_.RecursiveLoop.TERMINATE,
            environment=environment.to_env(),
            log_retention=log_retention,
            asset_cache_dir=asset_cache_dir,
        )

    @staticmethod
    def _grant_buckets(
        function: lambda_.IFunction, uploads_bucket: s3.IBucket, media_bucket: s3.IBucket
    ) -> None:
        # Read originals (HEAD is GetObject; the version HEAD saw), never delete one: these functions
        # decode untrusted bytes, so an exploit must not reach the originals (the housekeeping function
        # removes them). Write variants and remove the ones a new spec or a delete superseded; 404s
        # for missing keys.
        grant_object_actions(function, uploads_bucket, UPLOADS_PREFIX, "s3:GetObject", "s3:GetObjectVersion")
        grant_object_actions(function, media_bucket, DERIVED_PREFIX, "s3:PutObject", "s3:DeleteObject")
        grant_object_actions(function, media_bucket, HELD_PREFIX, "s3:PutObject", "s3:DeleteObject")
        grant_listing(function, uploads_bucket, None)

    def _subscribe(self, batch_size: int, reserved_concurrency: int) -> None:
        self.function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=batch_size,
                report_batch_item_failures=True,
                max_concurrency=reserved_concurrency,
            )
        )

    def _build_alarms(self) -> tuple[cloudwatch.Alarm, cloudwatch.Alarm, cloudwatch.Alarm]:
        """(errors, processing failures, throttles)."""
        return (
            alarm_above_zero(
                self,
                "ErrorsAlarm",
                "The resize function failed invocations (records go back to the queue).",
                self.function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                evaluation_periods=1,
            ),
            alarm_above_zero(
                self,
                "ProcessingFailuresAlarm",
                "The resize core raised on an image (recorded as processing_failed, not retried): a bug to read.",
                cloudwatch.Metric(
                    namespace=METRICS_NAMESPACE,
                    metric_name=PROCESSING_FAILURES_METRIC,
                    dimensions_map={"service": RESIZE_SERVICE_NAME},
                    period=Duration.minutes(5),
                    statistic="Sum",
                ),
            ),
            alarm_above_zero(
                self,
                "ThrottlesAlarm",
                "The resize function hit its reserved concurrency for 15 minutes.",
                self.function.metric_throttles(period=Duration.minutes(5), statistic="Sum"),
                evaluation_periods=3,
            ),
        )

    def _acknowledge_findings(
        self, uploads_bucket: s3.IBucket, media_bucket: s3.IBucket, python: str
    ) -> None:
        for function in (self.function, self.reprocess_function):
            acknowledge_prefix_grants(
                function,
                uploads_bucket.arn_for_objects(f"{UPLOADS_PREFIX}*"),
                media_bucket.arn_for_objects(f"{DERIVED_PREFIX}*"),
                media_bucket.arn_for_objects(f"{HELD_PREFIX}*"),
            )
        acknowledge_python_function(
            self.reprocess_function,
            python_version=python,
            **{
                "Serverless-LambdaDLQ": "Invoked by the Step Functions Map, which retries and records failed items.",
            },
        )
        if self.alternates_function is not None:
            acknowledge_prefix_grants(
                self.alternates_function,
                uploads_bucket.arn_for_objects(f"{UPLOADS_PREFIX}*"),
                media_bucket.arn_for_objects(f"{DERIVED_PREFIX}*"),
                media_bucket.arn_for_objects(f"{HELD_PREFIX}*"),
            )
            acknowledge_python_function(
                self.alternates_function,
                python_version=python,
                **{
                    "Serverless-LambdaDLQ": "SQS-invoked: failed records go to the alternates queue's DLQ.",
                    "Serverless-LambdaEventSourceMappingDestination": (
                        "SQS mappings have no on-failure destination; the queue's redrive policy is the DLQ."
                    ),
                },
            )
        acknowledge_python_function(
            self.function,
            python_version=python,
            **{
                "Serverless-LambdaDLQ": "SQS-invoked: failed records go to the source queue's DLQ.",
                "Serverless-LambdaEventSourceMappingDestination": (
                    "SQS mappings have no on-failure destination; the queue's redrive policy is the DLQ."
                ),
            },
        )


def grant_moderation(grantee: iam.IGrantable) -> None:
    """``rekognition:DetectModerationLabels`` on image bytes: the action has no resource type, so ``*``
    is the only resource IAM accepts for it (the permission proof checks that against AWS's database)."""
    iam.Grant.add_to_principal(
        grantee=grantee, actions=["rekognition:DetectModerationLabels"], resource_arns=["*"]
    )
