"""One owner for config → runtime: an environment's config turned, once, into what its runtimes are
told (``ApiEnvironment``, ``WorkerEnvironment``) and into the names its stacks and outputs carry.

The stacks call it with CloudFormation tokens for the resources, the local harness with the emulator's
names, the operator commands for stack names and output keys. No ``aws_cdk`` import: reading the config
never starts jsii.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from photo_contract.runtime import (
    DEFAULT_PENDING_EXPIRY_SECONDS,
    TOKEN_USE_ACCESS,
    ApiEnvironment,
    HousekeepingEnvironment,
    WorkerEnvironment,
)
from photo_contract.variants import useful_source

from photo_pipeline_cdk.config import EnvironmentConfig


class StackName(StrEnum):
    STORAGE = "storage"
    RESIZE = "resize"
    API = "api"
    SERVICE = "service"
    OPERATIONS = "operations"
    EDGE = "edge"  # us-east-1: what CloudFront needs there (the media distribution's web ACL)


def stack_name(config: EnvironmentConfig, stack: StackName) -> str:
    """``photo-pipeline-<env>-<stack>``: what CloudFormation, the outputs and the commands call it."""
    return f"{config.stack_prefix}-{stack.value}"


class StorageOutput(StrEnum):
    """Outputs of the storage stack that something outside the stacks reads (commands, the guide)."""

    UPLOAD_EVENTS_QUEUE_ARN = "UploadEventsQueueArn"
    UPLOAD_EVENTS_DEAD_LETTER_QUEUE_ARN = "UploadEventsDeadLetterQueueArn"
    HOUSEKEEPING_QUEUE_ARN = "HousekeepingQueueArn"
    HOUSEKEEPING_DEAD_LETTER_QUEUE_ARN = "HousekeepingDeadLetterQueueArn"
    API_REPOSITORY_NAME = "ApiRepositoryName"
    ALARM_TOPIC_ARN = "AlarmTopicArn"
    CDN_SIGNING_SECRET_ARN = "CdnSigningSecretArn"  # noqa: S105 - an output key, not a secret
    CDN_SIGNING_KEY_IDS = "CdnSigningKeyIds"  # not exported: the secret names the active one


REPROCESS_STATE_MACHINE_OUTPUT = "ReprocessStateMachineArn"  # the resize stack's
# The resize stack's too, where the alternates are a second step (make redrive QUEUE=alternates).
ALTERNATES_QUEUE_OUTPUT = "AlternatesQueueArn"
ALTERNATES_DEAD_LETTER_QUEUE_OUTPUT = "AlternatesDeadLetterQueueArn"


@dataclass(frozen=True, kw_only=True)
class ApiResources:
    """What the API's resources are called where it runs: tokens in a stack, names in the emulator."""

    uploads_bucket: str
    media_bucket: str
    registry_table: str
    event_bus_name: str
    quota_table: str
    public_media_base_url: str
    # Signed delivery only: the secret naming the active key pair and holding its private key.
    cdn_signing_secret: str | None = None
    cdn_distribution_id: str | None = None  # where a delete invalidates the image's paths
    housekeeping_queue_url: str | None = None  # where an account erasure runs as a job


@dataclass(frozen=True, kw_only=True)
class TokenIssuer:
    """Who signs the bearer tokens: a JWKS URL when deployed, a key set inline for a local issuer."""

    issuer: str
    audience: str
    jwks_url: str | None = None
    jwks_json: str | None = None
    token_use: str | None = TOKEN_USE_ACCESS


def api_environment(
    config: EnvironmentConfig,
    resources: ApiResources,
    issuer: TokenIssuer,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> ApiEnvironment:
    """What both API runtimes are told. ``region`` and ``endpoint_url`` are the local harness's (Lambda
    and the task definition set the region themselves)."""
    return ApiEnvironment(
        uploads_bucket=resources.uploads_bucket,
        media_bucket=resources.media_bucket,
        registry_table=resources.registry_table,
        event_bus_name=resources.event_bus_name,
        quota_table=resources.quota_table,
        public_media_base_url=resources.public_media_base_url,
        cdn_signing_secret=resources.cdn_signing_secret,
        cdn_distribution_id=resources.cdn_distribution_id,
        jwt_issuer=issuer.issuer,
        jwt_audience=issuer.audience,
        jwks_url=issuer.jwks_url,
        jwks_json=issuer.jwks_json,
        jwt_token_use=issuer.token_use,
        # Outlives every upload event that can still arrive (abandoned_upload_days is the bucket's).
        pending_expiry_seconds=DEFAULT_PENDING_EXPIRY_SECONDS,
        housekeeping_queue_url=resources.housekeeping_queue_url,
        max_upload_bytes=config.resize.max_source_bytes,
        upload_expiry_seconds=config.api.upload_expiry_seconds,
        cors_allowed_origins=config.cors_allowed_origins,
        expose_docs=config.api.expose_docs,
        forms_per_minute=config.api.forms_per_minute,
        max_batch_bytes=config.api.max_batch_bytes,
        cdn_url_ttl_seconds=config.cdn.signed_url_ttl_seconds,
        useful_source=useful_source(config.resize.variants, config.resize.source_margin),
        region=region,
        endpoint_url=endpoint_url,
    )


def worker_environment(
    config: EnvironmentConfig,
    *,
    media_bucket: str,
    registry_table: str,
    event_bus_name: str,
    housekeeping_queue_url: str | None,
    alternates_queue_url: str | None = None,
) -> WorkerEnvironment:
    """What the resize function (and the reprocess function) is told; the resize function of a
    two-step environment also gets the alternates queue (``alternates_queue_url``)."""
    return WorkerEnvironment(
        media_bucket=media_bucket,
        registry_table=registry_table,
        event_bus_name=event_bus_name,
        housekeeping_queue_url=housekeeping_queue_url,
        max_source_bytes=config.resize.max_source_bytes,
        max_pixels=config.resize.max_pixels,
        variants=config.resize.variants,
        receipt_policy=config.resize.receipt,
        moderation=config.resize.moderation,
        alternates_queue_url=alternates_queue_url if config.resize.alternates is not None else None,
    )


def housekeeping_environment(
    *,
    uploads_bucket: str,
    media_bucket: str,
    registry_table: str,
    event_bus_name: str,
    queue_url: str,
    cdn_distribution_id: str | None,
    endpoint_url: str | None = None,
) -> HousekeepingEnvironment:
    """What the housekeeping function is told (nothing of it is configurable per environment yet)."""
    return HousekeepingEnvironment(
        uploads_bucket=uploads_bucket,
        media_bucket=media_bucket,
        registry_table=registry_table,
        event_bus_name=event_bus_name,
        queue_url=queue_url,
        cdn_distribution_id=cdn_distribution_id,
        endpoint_url=endpoint_url,
    )
