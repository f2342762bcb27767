"""Deployable units. Construct IDs never carry the environment: it lives in the stack names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from photo_contract.runtime import ApiEnvironment

from photo_pipeline_cdk import binding
from photo_pipeline_cdk.assets.sources import DEFAULT_ASSET_CACHE
from photo_pipeline_cdk.binding import (
    ALTERNATES_DEAD_LETTER_QUEUE_OUTPUT,
    ALTERNATES_QUEUE_OUTPUT,
    REPROCESS_STATE_MACHINE_OUTPUT,
    ApiResources,
    StackName,
    StorageOutput,
    TokenIssuer,
    stack_name,
)
from photo_pipeline_cdk.config import EnvironmentConfig
from photo_pipeline_cdk.constructs.alarms import AlarmTopic, NotifyOnEveryAlarm
from photo_pipeline_cdk.constructs.api import UploadApiFunction, UploadApiService
from photo_pipeline_cdk.constructs.dashboard import FargateMetricsSource, PipelineDashboard
from photo_pipeline_cdk.constructs.delivery import MediaDistribution, grant_signing_key
from photo_pipeline_cdk.constructs.firewall import RateLimitedWebAcl
from photo_pipeline_cdk.constructs.housekeeping import Housekeeping, HousekeepingQueue
from photo_pipeline_cdk.constructs.identity import SignUpLimit, UserDirectory
from photo_pipeline_cdk.constructs.image_repository import ApiImageRepository
from photo_pipeline_cdk.constructs.registry import ImageRegistry
from photo_pipeline_cdk.constructs.reprocessing import Reprocessing
from photo_pipeline_cdk.constructs.resize import AlternatesStep, ResizePipeline
from photo_pipeline_cdk.constructs.storage import PhotoBuckets
from photo_pipeline_cdk.constructs.upload_events import UploadEvents
from photo_pipeline_cdk.constructs.upload_quota import UploadQuotaTable
from photo_pipeline_cdk.nag import acknowledge

# CDK's singleton Lambda that applies bucket notifications (fixed ID in aws-cdk-lib).
_NOTIFICATIONS_HANDLER = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"


def named_export(stack: cdk.Stack, name: str, value: str) -> None:
    """An output another stack imports by name (``{stack name}-{name}``), never a generated export."""
    cdk.CfnOutput(stack, name, value=value, export_name=f"{stack.stack_name}-{name}")


def named_import(stack: cdk.Stack, name: str) -> str:
    """What ``named_export(stack, name, …)`` exported, in the importing stack."""
    return cdk.Fn.import_value(f"{stack.stack_name}-{name}")


@dataclass(frozen=True)
class ApiImports:
    """What an API runtime's stack imports from the storage stack, and the environment built over it,
    made once per consuming stack (``StorageStack.api_imports``)."""

    uploads_bucket: s3.IBucket
    media_bucket: s3.IBucket
    quota_table: dynamodb.ITableV2
    registry_table: dynamodb.ITableV2
    event_bus: events.IEventBus
    distribution: cloudfront.IDistribution
    housekeeping_queue: sqs.IQueue
    environment: ApiEnvironment


class EdgeStack(cdk.Stack):
    """In us-east-1, what CloudFront needs there: the media distribution's WAFv2 web ACL (a per-IP rate
    rule and AWS's managed groups). The storage stack reads its ARN through CDK's cross-region
    references (an SSM parameter this stack writes in the storage stack's region)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, requests_per_ip_per_5_minutes: int, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.media_firewall = RateLimitedWebAcl(
            self,
            "MediaFirewall",
            requests_per_ip_per_5_minutes=requests_per_ip_per_5_minutes,
            metric_prefix="PhotoPipelineMedia",
            acl_scope="CLOUDFRONT",
        )
        acknowledge_cross_region_references(self)


class StorageStack(cdk.Stack):
    """Stateful: the buckets, the upload-event queues (a backlog and its dead letters are data too), the
    token issuer, the image repository and the upload-quota counters.

    The bucket notification must live beside the bucket; the consumer in another stack only reads the
    queue, so dependencies point one way.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        media_web_acl_arn: str | None = None,
        asset_cache_dir: Path = DEFAULT_ASSET_CACHE,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.buckets = PhotoBuckets(
            self,
            "Buckets",
            cors_allowed_origins=config.cors_allowed_origins,
            retain=config.retain_data,
            abandoned_upload_days=config.abandoned_upload_days,
            originals_transition=(
                (
                    s3.StorageClass(config.originals_transition.storage_class.value),
                    config.originals_transition.after_days,
                )
                if config.originals_transition
                else None
            ),
        )
        self.events = UploadEvents(
            self,
            "UploadEvents",
            uploads_bucket=self.buckets.uploads_bucket,
            visibility_timeout_seconds=6 * config.resize.timeout_seconds,
            max_receive_count=config.resize.max_receive_count,
            retain=config.retain_data,
        )
        self.housekeeping = HousekeepingQueue(self, "Housekeeping", retain=config.retain_data)
        self.alarms = AlarmTopic(
            self, "Alarms", emails=config.alarm_emails, webhook_url=config.alarm_webhook_url
        )
        handler = self.node.try_find_child(_NOTIFICATIONS_HANDLER)
        if handler is not None:
            acknowledge(
                handler,
                **{
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]": "CDK's own bucket-notification handler; logs only.",
                    "AwsSolutions-IAM5[Resource::*]": "CDK's bucket-notification handler: PutBucketNotification.",
                },
            )
        self.api_images = ApiImageRepository(self, "ApiImages", retain=config.retain_data)
        self.upload_quota = UploadQuotaTable(self, "UploadQuota")
        self.delivery = MediaDistribution(
            self,
            "Delivery",
            media_bucket=self.buckets.media_bucket,
            cors_allowed_origins=config.cors_allowed_origins,
            price_class=cloudfront.PriceClass(config.cdn.price_class),
            logging=config.cdn.logging,
            retain=config.retain_data,
            signing_public_keys=config.cdn.public_keys,
            domain_names=config.cdn.domain_names,
            certificate=(
                acm.Certificate.from_certificate_arn(self, "MediaCertificate", config.cdn.certificate_arn)
                if config.cdn.certificate_arn
                else None
            ),
            web_acl_arn=media_web_acl_arn,
        )
        acknowledge_cross_region_references(self)
        self.registry = ImageRegistry(
            self,
            "Registry",
            bus_name=f"{config.stack_prefix}-images",
            retain=config.retain_data,
            publisher_role_prefix=f"{config.stack_prefix}-",
        )
        self.users = (
            UserDirectory(
                self,
                "Users",
                retain=config.retain_data,
                feature_plan=cognito.FeaturePlan(config.api.cognito_plan.value),
                sign_up_limit=SignUpLimit(
                    per_day=config.api.signups_per_day,
                    quota_table=self.upload_quota.table,
                    architecture=config.resize.architecture,
                    python_version=config.resize.python_version,
                    log_retention=_retention(config.log_retention_days),
                    asset_cache_dir=asset_cache_dir,
                )
                if config.api.signups_per_day is not None
                else None,
            )
            if config.api.issuer is None
            else None
        )
        issuer = config.api.issuer
        cdk.CfnOutput(self, "ApiRepositoryUri", value=self.api_images.repository.repository_uri)
        if self.users is not None:  # for docs/deploy.md's first-user step
            cdk.CfnOutput(self, "UserPoolId", value=self.users.user_pool.user_pool_id)
            cdk.CfnOutput(self, "UserPoolClientId", value=self.users.client.user_pool_client_id)
        # Where cdn.domain_names' DNS records (CNAME or alias) point.
        cdk.CfnOutput(
            self, "MediaDistributionDomainName", value=self.delivery.distribution.distribution_domain_name
        )
        # Named exports: the stateless stacks import these by name, so the contract between stacks is
        # explicit and stable (CDK's generated export names change with construct paths).
        exports: dict[str, str] = {
            "UploadsBucketName": self.buckets.uploads_bucket.bucket_name,
            "MediaBucketName": self.buckets.media_bucket.bucket_name,
            StorageOutput.UPLOAD_EVENTS_QUEUE_ARN: self.events.queue.queue_arn,
            StorageOutput.UPLOAD_EVENTS_DEAD_LETTER_QUEUE_ARN: self.events.dead_letter_queue.queue_arn,
            StorageOutput.HOUSEKEEPING_QUEUE_ARN: self.housekeeping.queue.queue_arn,
            StorageOutput.HOUSEKEEPING_DEAD_LETTER_QUEUE_ARN: self.housekeeping.dead_letter_queue.queue_arn,
            StorageOutput.API_REPOSITORY_NAME: self.api_images.repository.repository_name,
            "MediaDistributionId": self.delivery.distribution.distribution_id,
            StorageOutput.ALARM_TOPIC_ARN: self.alarms.topic.topic_arn,
            "UploadQuotaTableName": self.upload_quota.table.table_name,
            "RegistryTableName": self.registry.table.table_name,
            "EventBusName": self.registry.bus.event_bus_name,
            "MediaBaseUrl": self.delivery.base_url,
            **(
                {StorageOutput.CDN_SIGNING_SECRET_ARN: self.delivery.signing_key_secret.secret_arn}
                if self.delivery.signing_key_secret is not None
                else {}
            ),
            "TokenIssuer": self.users.issuer if self.users else issuer.issuer,  # type: ignore[union-attr]
            "TokenAudience": self.users.audience if self.users else issuer.audience,  # type: ignore[union-attr]
        }
        for name, value in exports.items():
            cdk.CfnOutput(self, str(name), value=value, export_name=self.export_name_of(str(name)))
        if self.delivery.key_pair_ids:
            # Not an export: the secret names the active one, so a rotation changes no import.
            cdk.CfnOutput(
                self,
                StorageOutput.CDN_SIGNING_KEY_IDS,
                value=cdk.Fn.join(",", self.delivery.key_pair_ids),
                description="CloudFront public key ids in the signing key group, in config order",
            )

    def export_name_of(self, name: str) -> str:
        return f"{self.stack_name}-{name}"

    def import_value(self, name: str) -> str:
        return cdk.Fn.import_value(self.export_name_of(name))

    def imported_buckets(self, scope: Construct) -> tuple[s3.IBucket, s3.IBucket]:
        """(uploads, media) as seen from another stack, through the named exports."""
        return (
            s3.Bucket.from_bucket_name(scope, "UploadsBucket", self.import_value("UploadsBucketName")),
            s3.Bucket.from_bucket_name(scope, "MediaBucket", self.import_value("MediaBucketName")),
        )

    def imported_quota_table(self, scope: Construct) -> dynamodb.ITableV2:
        return dynamodb.TableV2.from_table_name(
            scope, "UploadQuota", self.import_value("UploadQuotaTableName")
        )

    def imported_registry(self, scope: Construct) -> tuple[dynamodb.ITableV2, events.IEventBus]:
        """(registry table, event bus) as seen from another stack, through the named exports."""
        return (
            dynamodb.TableV2.from_table_name(scope, "Registry", self.import_value("RegistryTableName")),
            events.EventBus.from_event_bus_name(scope, "ImageEvents", self.import_value("EventBusName")),
        )

    def imported_housekeeping_queue(self, scope: Construct) -> sqs.IQueue:
        return sqs.Queue.from_queue_arn(
            scope, "HousekeepingQueue", self.import_value(StorageOutput.HOUSEKEEPING_QUEUE_ARN)
        )

    def imported_distribution(self, scope: Construct) -> cloudfront.IDistribution:
        return cloudfront.Distribution.from_distribution_attributes(
            scope,
            "MediaDistribution",
            distribution_id=self.import_value("MediaDistributionId"),
            domain_name=self.import_value("MediaBaseUrl"),  # not used by an invalidation grant
        )

    def token_issuer(self, config: EnvironmentConfig) -> TokenIssuer:
        """Who signs the API's tokens, for consumers in other stacks: the configured issuer, or the pool."""
        if config.api.issuer is not None:
            external = config.api.issuer
            return TokenIssuer(
                issuer=external.issuer,
                audience=external.audience,
                jwks_url=external.jwks_url,
                token_use=external.token_use,
            )
        issuer = self.import_value("TokenIssuer")
        return TokenIssuer(
            issuer=issuer,
            audience=self.import_value("TokenAudience"),
            jwks_url=f"{issuer}/.well-known/jwks.json",
        )

    def api_environment(
        self,
        config: EnvironmentConfig,
        *,
        uploads_bucket: s3.IBucket,
        media_bucket: s3.IBucket,
        quota_table: dynamodb.ITableV2,
        registry_table: dynamodb.ITableV2,
        event_bus: events.IEventBus,
        housekeeping_queue: sqs.IQueue,
    ) -> ApiEnvironment:
        """What both API runtimes are told (``binding.api_environment``), with the resources as the
        consuming stack imported them."""
        signed = config.cdn.access == "signed"
        resources = ApiResources(
            uploads_bucket=uploads_bucket.bucket_name,
            media_bucket=media_bucket.bucket_name,
            registry_table=registry_table.table_name,
            event_bus_name=event_bus.event_bus_name,
            quota_table=quota_table.table_name,
            public_media_base_url=self.import_value("MediaBaseUrl"),
            cdn_signing_secret=self.import_value(StorageOutput.CDN_SIGNING_SECRET_ARN) if signed else None,
            cdn_distribution_id=self.import_value("MediaDistributionId"),
            housekeeping_queue_url=housekeeping_queue.queue_url,
        )
        return binding.api_environment(config, resources, self.token_issuer(config))

    def api_imports(self, scope: Construct, config: EnvironmentConfig) -> ApiImports:
        """The API's resources as ``scope``'s stack imports them, and its environment over them."""
        uploads_bucket, media_bucket = self.imported_buckets(scope)
        quota_table = self.imported_quota_table(scope)
        registry_table, event_bus = self.imported_registry(scope)
        housekeeping_queue = self.imported_housekeeping_queue(scope)
        environment = self.api_environment(
            config,
            uploads_bucket=uploads_bucket,
            media_bucket=media_bucket,
            quota_table=quota_table,
            registry_table=registry_table,
            event_bus=event_bus,
            housekeeping_queue=housekeeping_queue,
        )
        return ApiImports(
            uploads_bucket,
            media_bucket,
            quota_table,
            registry_table,
            event_bus,
            self.imported_distribution(scope),
            housekeeping_queue,
            environment,
        )

    def grant_cdn_signing(self, scope: Construct, grantee: iam.IGrantable, config: EnvironmentConfig) -> None:
        """Read access to the signing key's secret, for the API principals only (signed mode)."""
        if config.cdn.access == "signed":
            secret = secretsmanager.Secret.from_secret_complete_arn(
                scope, "CdnSigningSecret", self.import_value(StorageOutput.CDN_SIGNING_SECRET_ARN)
            )
            grant_signing_key(grantee, secret)


class ResizeStack(cdk.Stack):
    """Stateless: the resize function and its alarms. Safe to destroy and redeploy."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        storage: StorageStack,
        asset_cache_dir: Path = DEFAULT_ASSET_CACHE,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        resize = config.resize
        self.add_stack_dependency(storage)
        registry_table, event_bus = storage.imported_registry(self)
        self.pipeline_uploads_bucket, media_bucket = storage.imported_buckets(self)
        housekeeping_queue = storage.imported_housekeeping_queue(self)
        self.pipeline = ResizePipeline(
            self,
            "ResizePipeline",
            uploads_bucket=self.pipeline_uploads_bucket,
            media_bucket=media_bucket,
            housekeeping_queue=housekeeping_queue,
            queue=sqs.Queue.from_queue_arn(
                self, "UploadEventsQueue", storage.import_value(StorageOutput.UPLOAD_EVENTS_QUEUE_ARN)
            ),
            dead_letter_queue=sqs.Queue.from_queue_arn(
                self,
                "UploadEventsDeadLetterQueue",
                storage.import_value(StorageOutput.UPLOAD_EVENTS_DEAD_LETTER_QUEUE_ARN),
            ),
            registry_table=registry_table,
            event_bus=event_bus,
            architecture=resize.architecture,
            python_version=resize.python_version,
            memory_mib=resize.memory_mib,
            timeout_seconds=resize.timeout_seconds,
            reserved_concurrency=resize.reserved_concurrency,
            batch_size=resize.batch_size,
            max_source_bytes=resize.max_source_bytes,
            max_pixels=resize.max_pixels,
            variants=resize.variants,
            log_retention=_retention(config.log_retention_days),
            asset_cache_dir=asset_cache_dir,
            reprocess_concurrency=resize.reprocess_concurrency,
            receipt_policy=resize.receipt,
            moderation=resize.moderation,
            alternates=(
                AlternatesStep(
                    memory_mib=resize.alternates.memory_mib,
                    timeout_seconds=resize.alternates.timeout_seconds,
                    reserved_concurrency=resize.alternates.reserved_concurrency,
                    batch_size=resize.alternates.batch_size,
                    max_receive_count=resize.max_receive_count,
                )
                if resize.alternates is not None
                else None
            ),
        )
        self.reprocessing = Reprocessing(
            self,
            "Reprocessing",
            function=self.pipeline.reprocess_function,
            uploads_bucket=self.pipeline_uploads_bucket,
            max_concurrency=resize.reprocess_concurrency,
            tolerated_failure_percentage=resize.reprocess_tolerated_failure_percentage,
            log_retention=_retention(config.log_retention_days),
        )
        self.housekeeping = Housekeeping(
            self,
            "Housekeeping",
            queue=housekeeping_queue,
            uploads_bucket=self.pipeline_uploads_bucket,
            media_bucket=media_bucket,
            registry_table=registry_table,
            event_bus=event_bus,
            distribution=storage.imported_distribution(self),
            architecture=resize.architecture,
            python_version=resize.python_version,
            log_retention=_retention(config.log_retention_days),
            asset_cache_dir=asset_cache_dir,
        )
        pipeline = self.pipeline
        if pipeline.alternates_queue is not None and pipeline.alternates_dead_letter_queue is not None:
            cdk.CfnOutput(self, ALTERNATES_QUEUE_OUTPUT, value=pipeline.alternates_queue.queue_arn)
            cdk.CfnOutput(
                self,
                ALTERNATES_DEAD_LETTER_QUEUE_OUTPUT,
                value=pipeline.alternates_dead_letter_queue.queue_arn,
            )
        # make reprocess finds the state machine here.
        cdk.CfnOutput(
            self, REPROCESS_STATE_MACHINE_OUTPUT, value=self.reprocessing.state_machine.state_machine_arn
        )
        cdk.CfnOutput(
            self,
            "ReprocessOperatorPolicyArn",
            value=self.reprocessing.operator_policy.managed_policy_arn,
            description="attach to the operators' role or group: it alone may start reprocessing runs",
        )
        named_export(self, "ResizeFunctionName", self.pipeline.function.function_name)  # the dashboard's


class ApiStack(cdk.Stack):
    """Stateless: the upload API on Lambda behind an API Gateway HTTP API."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        storage: StorageStack,
        asset_cache_dir: Path = DEFAULT_ASSET_CACHE,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.add_stack_dependency(storage)
        imports = storage.api_imports(self, config)
        self.api = UploadApiFunction(
            self,
            "UploadApi",
            uploads_bucket=imports.uploads_bucket,
            media_bucket=imports.media_bucket,
            quota_table=imports.quota_table,
            registry_table=imports.registry_table,
            event_bus=imports.event_bus,
            distribution=imports.distribution,
            housekeeping_queue=imports.housekeeping_queue,
            environment=imports.environment,
            architecture=config.resize.architecture,
            python_version=config.resize.python_version,
            throttle_rate_per_second=config.api.throttle_rate_per_second,
            throttle_burst=config.api.throttle_burst,
            reserved_concurrency=config.api.reserved_concurrency,
            log_retention=_retention(config.log_retention_days),
            asset_cache_dir=asset_cache_dir,
        )
        storage.grant_cdn_signing(self, self.api.function, config)
        cdk.CfnOutput(self, "ApiUrl", value=self.api.url)
        named_export(self, "HttpApiId", self.api.http_api.api_id)  # the dashboard's


class ServiceStack(cdk.Stack):
    """Stateless: the same API as a Fargate service behind an HTTPS ALB, from the storage stack's image."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        storage: StorageStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.add_stack_dependency(storage)
        fargate = config.api.fargate
        if not fargate.image_tag:
            raise ValueError("the Service stack needs an image tag (-c image_tag=…): none exists before one")
        if not fargate.certificate_arn:
            raise ValueError("the Service stack needs api.fargate.certificate_arn: it serves HTTPS only")
        imports = storage.api_imports(self, config)
        self.api = UploadApiService(
            self,
            "UploadApi",
            repository=ecr.Repository.from_repository_name(
                self, "ApiImages", storage.import_value(StorageOutput.API_REPOSITORY_NAME)
            ),
            image_tag=fargate.image_tag,
            environment=imports.environment,
            uploads_bucket=imports.uploads_bucket,
            media_bucket=imports.media_bucket,
            quota_table=imports.quota_table,
            registry_table=imports.registry_table,
            event_bus=imports.event_bus,
            distribution=imports.distribution,
            housekeeping_queue=imports.housekeeping_queue,
            certificate=acm.Certificate.from_certificate_arn(self, "Certificate", fargate.certificate_arn),
            deletion_protection=fargate.deletion_protection,
            min_tasks=fargate.min_tasks,
            max_tasks=fargate.max_tasks,
            cpu=fargate.cpu,
            memory_mib=fargate.memory_mib,
            nat_gateways=fargate.nat_gateways,
            dynamodb_endpoint=fargate.dynamodb_endpoint,
            log_retention=_retention(config.log_retention_days),
            spot_weight=fargate.spot_weight,
            on_demand_weight=fargate.on_demand_weight,
            on_demand_base=fargate.on_demand_base,
            waf_requests_per_ip_per_5_minutes=config.api.waf_requests_per_ip_per_5_minutes,
        )
        storage.grant_cdn_signing(self, self.api.service.task_definition.task_role, config)
        cdk.CfnOutput(self, "ServiceUrl", value=self.api.url)
        # The dashboard's: what the Fargate row's metrics are keyed by.
        for name, value in vars(FargateMetricsSource.of(self.api.service)).items():
            named_export(self, _pascal(name), value)


def _pascal(snake: str) -> str:
    return "".join(part.title() for part in snake.split("_"))


_RETENTION = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def _retention(days: int) -> logs.RetentionDays:
    try:
        return _RETENTION[days]
    except KeyError:
        raise ValueError(f"log_retention_days must be one of {sorted(_RETENTION)}, got {days}") from None


class OperationsStack(cdk.Stack):
    """The environment's dashboard, over the resources of the other stacks (last, so it sees them all)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        storage: StorageStack,
        resize: ResizeStack,
        api: ApiStack,
        service: ServiceStack | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Every resource by a named import (the named-export rule): no export CDK would generate.
        for stack in (storage, resize, api, *([service] if service else [])):
            self.add_stack_dependency(stack)
        alarms = {
            "api_5xx": api.api.server_errors_alarm,
            "worker_errors": resize.pipeline.errors_alarm,
            "worker_throttles": resize.pipeline.throttles_alarm,
            "processing_failures": resize.pipeline.processing_failures_alarm,
            "oldest_message": storage.events.oldest_message_alarm,
            "dead_letters": storage.events.dead_letter_alarm,
        }
        if service is not None:
            alarms["service_5xx"] = service.api.server_errors_alarm
        fargate = (
            FargateMetricsSource(
                **{
                    name: named_import(service, _pascal(name))
                    for name in FargateMetricsSource.__dataclass_fields__
                }
            )
            if service is not None
            else None
        )
        self.dashboard = PipelineDashboard(
            self,
            "Dashboard",
            dashboard_name=config.stack_prefix,
            http_api=apigwv2.HttpApi.from_http_api_attributes(
                self, "HttpApi", http_api_id=named_import(api, "HttpApiId")
            ),
            worker=lambda_.Function.from_function_name(
                self, "Worker", named_import(resize, "ResizeFunctionName")
            ),
            worker_reserved_concurrency=config.resize.reserved_concurrency,
            queue=sqs.Queue.from_queue_arn(
                self, "Queue", named_import(storage, StorageOutput.UPLOAD_EVENTS_QUEUE_ARN)
            ),
            dead_letter_queue=sqs.Queue.from_queue_arn(
                self,
                "DeadLetterQueue",
                named_import(storage, StorageOutput.UPLOAD_EVENTS_DEAD_LETTER_QUEUE_ARN),
            ),
            registry_table=dynamodb.TableV2.from_table_name(
                self, "Registry", named_import(storage, "RegistryTableName")
            ),
            distribution=cloudfront.Distribution.from_distribution_attributes(
                self,
                "Distribution",
                distribution_id=named_import(storage, "MediaDistributionId"),
                domain_name=named_import(storage, "MediaBaseUrl"),  # unused by metrics; required
            ),
            alarms=alarms,
            service=fargate,
        )


def build_photo_pipeline(
    app: cdk.App, config: EnvironmentConfig, *, asset_cache_dir: Path = DEFAULT_ASSET_CACHE
) -> list[cdk.Stack]:
    env = cdk.Environment(account=config.account, region=config.region) if config.region else None
    edge = _edge_stack(app, config)
    storage = StorageStack(
        app,
        "Storage",
        config=config,
        env=env,
        media_web_acl_arn=edge.media_firewall.arn if edge else None,
        asset_cache_dir=asset_cache_dir,
        cross_region_references=edge is not None,
        stack_name=stack_name(config, StackName.STORAGE),
        description=f"photo-pipeline {config.name}: buckets and upload-event queues (stateful)",
    )
    resize = ResizeStack(
        app,
        "Resize",
        config=config,
        storage=storage,
        env=env,
        asset_cache_dir=asset_cache_dir,
        stack_name=stack_name(config, StackName.RESIZE),
        description=f"photo-pipeline {config.name}: resize function (stateless)",
    )
    api = ApiStack(
        app,
        "Api",
        config=config,
        storage=storage,
        env=env,
        asset_cache_dir=asset_cache_dir,
        stack_name=stack_name(config, StackName.API),
        description=f"photo-pipeline {config.name}: upload API on Lambda (stateless)",
    )
    stacks: list[cdk.Stack] = [*([edge] if edge else []), storage, resize, api]
    service: ServiceStack | None = None
    if config.api.fargate.enabled and config.api.fargate.image_tag:
        service = ServiceStack(
            app,
            "Service",
            config=config,
            storage=storage,
            env=env,
            stack_name=stack_name(config, StackName.SERVICE),
            description=f"photo-pipeline {config.name}: upload API on Fargate (stateless)",
        )
        stacks.append(service)
    stacks.append(
        OperationsStack(
            app,
            "Operations",
            config=config,
            storage=storage,
            resize=resize,
            api=api,
            service=service,
            env=env,
            stack_name=stack_name(config, StackName.OPERATIONS),
            description=f"photo-pipeline {config.name}: dashboard (stateless)",
        )
    )
    for stack in stacks:
        cdk.Tags.of(stack).add("photo-pipeline:environment", config.name)
        # Every alarm of every stack tells the environment's alarm topic, on ALARM and on OK.
        topic_arn = (
            storage.alarms.topic.topic_arn if stack is storage else storage.import_value("AlarmTopicArn")
        )
        cdk.Aspects.of(stack).add(NotifyOnEveryAlarm(topic_arn))
    return stacks


def _edge_stack(app: cdk.App, config: EnvironmentConfig) -> EdgeStack | None:
    """The us-east-1 stack, when the media distribution has a WAF (it needs the storage stack's region:
    a cross-region reference goes from one named region to another)."""
    requests = config.cdn.waf_requests_per_ip_per_5_minutes
    if requests is None:
        return None
    if not config.region:
        raise ValueError("cdn.waf_requests_per_ip_per_5_minutes needs the environment's region")
    return EdgeStack(
        app,
        "Edge",
        requests_per_ip_per_5_minutes=requests,
        env=cdk.Environment(account=config.account, region="us-east-1"),
        cross_region_references=True,
        stack_name=stack_name(config, StackName.EDGE),
        description=f"photo-pipeline {config.name}: the media distribution's web ACL (us-east-1)",
    )


def acknowledge_cross_region_references(stack: cdk.Stack) -> None:
    """CDK's own providers behind cross-region references (a writer in the producer, a reader in the
    consumer): deploy-time Lambdas that read or write the reference's SSM parameters."""
    for provider in (
        "Custom::CrossRegionExportWriterCustomResourceProvider",
        "Custom::CrossRegionExportReaderCustomResourceProvider",
    ):
        found = stack.node.try_find_child(provider)
        if found is not None:
            acknowledge(
                found,
                **{
                    "AwsSolutions-IAM5[Resource::*]": "CDK's cross-region reference provider (SSM parameters).",
                },
            )
