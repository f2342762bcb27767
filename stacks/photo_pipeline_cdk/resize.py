"""The resize function: Pillow layer + thin handler, fed by the upload-event queue."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from photo_contract import DERIVED_PREFIX, UPLOADS_PREFIX
from photo_contract.variants import FEED_VARIANTS, VariantSpec, variants_to_json

from photo_pipeline_cdk.alarms import alarm_above_zero
from photo_pipeline_cdk.bundling import PythonAssetSpec, python_asset_code
from photo_pipeline_cdk.config import Architecture
from photo_pipeline_cdk.nag import acknowledge, acknowledge_python_function, nag_resource
from photo_pipeline_cdk.sources import runtime_sources
from photo_pipeline_cdk.upload_events import UploadEvents

DEFAULT_ASSET_CACHE = Path.home() / ".cache" / "photo-pipeline" / "assets"
# The Lambda Python runtime provides these; bundling them again would only grow the package.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
_RUNTIMES = {"3.12": lambda_.Runtime.PYTHON_3_12, "3.13": lambda_.Runtime.PYTHON_3_13}
LAMBDA_ARCHITECTURES = {
    Architecture.ARM_64: lambda_.Architecture.ARM_64,
    Architecture.X86_64: lambda_.Architecture.X86_64,
}


def lambda_runtime(python_version: str) -> lambda_.Runtime:
    try:
        return _RUNTIMES[python_version]
    except KeyError:
        raise ValueError(
            f"python_version must be one of {sorted(_RUNTIMES)}, got {python_version!r}"
        ) from None


class PillowLayer(Construct):
    """A Lambda layer with the resize core and Pillow (and pillow-heif), built by pip from the core's own
    source with manylinux wheels for ``architecture``; no Docker. Exposes ``.layer``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        architecture: Architecture = Architecture.ARM_64,
        python_version: str = "3.13",
        asset_cache_dir: Path = DEFAULT_ASSET_CACHE,
    ) -> None:
        super().__init__(scope, construct_id)
        src = runtime_sources()
        spec = PythonAssetSpec(
            projects=(src.resize_core, src.contract),
            constraints=src.constraints,
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

    Exposes ``.function``, ``.layer``, ``.queue``, ``.dead_letter_queue`` and ``.alarms``.

    :param queue: the queue of S3 upload events to consume. Default: a new encrypted queue with a DLQ
        and the bucket notification is created here (pass one when the buckets live in another stack,
        where the notification must be created beside them).
    :param dead_letter_queue: the DLQ of ``queue``, for the record; ignored when ``queue`` is not given.
    :param reserved_concurrency: caps parallel resizes, and so the load on the buckets (default 10).
    :param timeout_seconds: per batch (default 30); a new queue gets a visibility timeout of 6x this.
    :param variants: what to make (default: 1080 and 640 px fit-to-width and a 150 px square, JPEG q85).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        uploads_bucket: s3.IBucket,
        media_bucket: s3.IBucket,
        queue: sqs.IQueue | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        architecture: Architecture = Architecture.ARM_64,
        python_version: str = "3.13",
        memory_mib: int = 1024,
        timeout_seconds: int = 30,
        reserved_concurrency: int = 10,
        batch_size: int = 10,
        max_receive_count: int = 5,
        max_source_bytes: int = 25 * 1024 * 1024,
        max_pixels: int = 50_000_000,
        variants: tuple[VariantSpec, ...] = FEED_VARIANTS,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        asset_cache_dir: Path = DEFAULT_ASSET_CACHE,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 2 <= reserved_concurrency <= 1000:
            raise ValueError(f"reserved_concurrency must be 2..1000, got {reserved_concurrency}")
        if not 1 <= batch_size <= 10:
            raise ValueError(f"batch_size must be 1..10 (no batching window), got {batch_size}")
        if not variants:
            raise ValueError("variants must name at least one variant")
        if queue is None:
            events = UploadEvents(
                self,
                "Events",
                uploads_bucket=uploads_bucket,
                visibility_timeout_seconds=6 * timeout_seconds,
                max_receive_count=max_receive_count,
            )
            queue, dead_letter_queue = events.queue, events.dead_letter_queue
        self.queue = queue
        self.dead_letter_queue = dead_letter_queue

        self.layer = PillowLayer(
            self,
            "Pillow",
            architecture=architecture,
            python_version=python_version,
            asset_cache_dir=asset_cache_dir,
        ).layer
        src = runtime_sources()
        code_spec = PythonAssetSpec(
            projects=(src.resize_worker,),
            constraints=src.constraints,
            architecture=architecture,
            python_version=python_version,
            provided=RUNTIME_PROVIDED | {"photo-pipeline-resize-core", "photo-pipeline-contract"},
        )
        log_group = logs.LogGroup(self, "Logs", retention=log_retention)
        self.function = lambda_.Function(
            self,
            "Function",
            description="photo-pipeline: resize uploaded originals into feed variants",
            runtime=lambda_runtime(python_version),
            architecture=LAMBDA_ARCHITECTURES[architecture],
            handler="resize_worker.handler.lambda_handler",
            code=python_asset_code(code_spec, cache_dir=asset_cache_dir),
            layers=[self.layer],
            memory_size=memory_mib,
            timeout=Duration.seconds(timeout_seconds),
            reserved_concurrent_executions=reserved_concurrency,
            recursive_loop=lambda_.RecursiveLoop.TERMINATE,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            environment={
                "MEDIA_BUCKET": media_bucket.bucket_name,
                "MAX_SOURCE_BYTES": str(max_source_bytes),
                "MAX_PIXELS": str(max_pixels),
                "VARIANTS": variants_to_json(variants),
                "POWERTOOLS_SERVICE_NAME": "resize",
            },
        )
        uploads_bucket.grant_read(self.function, f"{UPLOADS_PREFIX}*")
        media_bucket.grant_read(self.function, f"{DERIVED_PREFIX}*")
        media_bucket.grant_put(self.function, f"{DERIVED_PREFIX}*")
        self.function.add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=batch_size,
                report_batch_item_failures=True,
                max_concurrency=reserved_concurrency,
            )
        )
        self.alarms = [
            alarm_above_zero(
                self,
                "ErrorsAlarm",
                "The resize function failed invocations (records go back to the queue).",
                self.function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                evaluation_periods=1,
            ),
            alarm_above_zero(
                self,
                "ThrottlesAlarm",
                "The resize function hit its reserved concurrency for 15 minutes.",
                self.function.metric_throttles(period=Duration.minutes(5), statistic="Sum"),
                evaluation_periods=3,
            ),
        ]
        self._acknowledge_findings(uploads_bucket, media_bucket, python_version)

    def _acknowledge_findings(
        self, uploads_bucket: s3.IBucket, media_bucket: s3.IBucket, python: str
    ) -> None:
        uploads = nag_resource(self, uploads_bucket.arn_for_objects(f"{UPLOADS_PREFIX}*"))
        media = nag_resource(self, media_bucket.arn_for_objects(f"{DERIVED_PREFIX}*"))
        why_prefix = "Object keys are server-chosen under this prefix; the grant is the prefix, no wider."
        why_actions = "grant_read/grant_put action groups, scoped to the one prefix above."
        acknowledge(
            self.function,
            **{
                f"AwsSolutions-IAM5[Resource::{uploads}]": why_prefix,
                f"AwsSolutions-IAM5[Resource::{media}]": why_prefix,
                "AwsSolutions-IAM5[Action::s3:GetObject*]": why_actions,
                "AwsSolutions-IAM5[Action::s3:GetBucket*]": why_actions,
                "AwsSolutions-IAM5[Action::s3:List*]": why_actions,
                "AwsSolutions-IAM5[Action::s3:Abort*]": why_actions,
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
