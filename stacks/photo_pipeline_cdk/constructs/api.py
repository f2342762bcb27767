"""The upload API, twice from one codebase: Lambda behind an HTTP API, and Fargate behind an ALB.

Both verify the token in the app (its claims, one error shape); the HTTP API also puts API Gateway's JWT
authorizer in front of /v1 so an anonymous request costs no invocation (its 401 body is API Gateway's
``{"message": "Unauthorized"}``, docs/design.md). Both answer CORS preflights from the same origins,
methods and headers.
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct
from photo_contract import DERIVED_PREFIX, HELD_PREFIX, UPLOADS_PREFIX
from photo_contract.runtime import (
    ALB_IDLE_TIMEOUT_SECONDS,
    CORS_ALLOWED_HEADERS,
    CORS_ALLOWED_METHODS,
    CORS_MAX_AGE_SECONDS,
    DEFAULT_CONTAINER_PORT,
    ApiEnvironment,
    container_env,
)

from photo_pipeline_cdk.assets.bundling import PythonAssetSpec
from photo_pipeline_cdk.assets.functions import RUNTIME_PROVIDED, python_function
from photo_pipeline_cdk.assets.sources import DEFAULT_ASSET_CACHE, runtime_sources
from photo_pipeline_cdk.config import DEFAULT_ARCHITECTURE, DEFAULT_PYTHON_VERSION, Architecture
from photo_pipeline_cdk.constructs.alarms import alarm_above_zero
from photo_pipeline_cdk.constructs.firewall import RateLimitedWebAcl
from photo_pipeline_cdk.constructs.grants import (
    grant_listing,
    grant_object_actions,
    grant_send,
    grant_version_listing,
)
from photo_pipeline_cdk.constructs.registry import grant_registry_api
from photo_pipeline_cdk.constructs.upload_quota import grant_quota_count
from photo_pipeline_cdk.nag import acknowledge, acknowledge_prefix_grants, acknowledge_python_function

CONTAINER_PORT = DEFAULT_CONTAINER_PORT
HEALTH_CHECK_PATH = "/healthz"
# A bind-mount volume with no host path is the task's own ephemeral storage: the one writable place.
_SCRATCH_VOLUME = "tmp"


def grant_api_access(
    grantee: iam.IGrantable,
    *,
    uploads_bucket: s3.IBucket,
    media_bucket: s3.IBucket,
    registry_table: dynamodb.ITableV2,
    event_bus: events.IEventBus,
    quota_table: dynamodb.ITableV2 | None = None,
    distribution: cloudfront.IDistribution | None = None,
    housekeeping_queue: sqs.IQueue | None = None,
) -> None:
    """What the API calls, and only that: sign uploads under uploads/ (the POST is authorised as this
    principal), delete an image's original versions and variants (listing only under those prefixes),
    the registry and its bus, and the form counters. Variant URLs are the CDN's, never presigned S3
    GETs (those are the local fallback without a CDN), so no s3:GetObject on served variants
    (tests/permissions proves it). Held variants are another matter: their 5-minute previews are presigned
    S3 GETs, and a moderator's clearing copies them (GetObject there, PutObject under images/) and
    removes them. Originals are read only to copy one for a re-post of the same bytes (CopyObject reads
    its source as GetObject) and to see whether a retried post's photos have arrived (HeadObject)."""
    grant_object_actions(
        grantee, uploads_bucket, UPLOADS_PREFIX, "s3:GetObject", "s3:PutObject", "s3:DeleteObjectVersion"
    )
    grant_object_actions(grantee, media_bucket, DERIVED_PREFIX, "s3:PutObject", "s3:DeleteObject")
    grant_object_actions(grantee, media_bucket, HELD_PREFIX, "s3:GetObject", "s3:DeleteObject")
    grant_version_listing(grantee, uploads_bucket, UPLOADS_PREFIX)
    grant_listing(grantee, media_bucket, DERIVED_PREFIX)
    grant_listing(grantee, media_bucket, HELD_PREFIX)
    grant_registry_api(grantee, registry_table, event_bus)
    if quota_table is not None:
        grant_quota_count(grantee, quota_table)
    if distribution is not None:  # a deleted image's paths are invalidated there
        distribution.grant_create_invalidation(grantee)
    if housekeeping_queue is not None:  # an account erasure starts a job there
        grant_send(grantee, housekeeping_queue)


def _acknowledge_api_grants(
    construct: IConstruct, uploads_bucket: s3.IBucket, media_bucket: s3.IBucket, **more: str
) -> None:
    acknowledge_prefix_grants(
        construct,
        uploads_bucket.arn_for_objects(f"{UPLOADS_PREFIX}*"),
        media_bucket.arn_for_objects(f"{DERIVED_PREFIX}*"),
        media_bucket.arn_for_objects(f"{HELD_PREFIX}*"),
        **more,
    )


class UploadApiFunction(Construct):
    """The API on Lambda behind an API Gateway HTTP API: every path goes to the app (which verifies
    tokens, so errors have one shape), CORS preflights from the configured origins, stage throttling and
    JSON access logs. Exposes ``.function``, ``.alias`` (what API Gateway invokes), ``.http_api``,
    ``.url``.

    :param reserved_concurrency: the function's cap (default 50): past it API Gateway answers 429/503
        rather than the account's other functions being throttled.
    :param snap_start: Lambda SnapStart on published versions (default on): a cold start restores the
        initialized app instead of importing FastAPI, pydantic and boto3 again. Nothing in the snapshot
        must be unique: image ids draw on ``os.urandom`` per call, the token keys and the CDN signing key
        are fetched on first use (after a restore), and no connection is opened during init.
    :param environment: what the function is told (buckets, limits, token issuer, CORS origins), as the
        runtime contract spells it; its own checks (e.g. the 15-minute cap on upload expiry) run at synth.
    :param quota_table: where the per-owner form counters live (``environment.quota_table`` names it).
    :param distribution: the CDN in front of the media bucket (``environment.cdn_distribution_id``
        names it): a delete invalidates the image's paths there.
    :param housekeeping_queue: where an account erasure runs (``environment.housekeeping_queue_url``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        uploads_bucket: s3.IBucket,
        media_bucket: s3.IBucket,
        environment: ApiEnvironment,
        registry_table: dynamodb.ITableV2,
        event_bus: events.IEventBus,
        quota_table: dynamodb.ITableV2 | None = None,
        distribution: cloudfront.IDistribution | None = None,
        housekeeping_queue: sqs.IQueue | None = None,
        architecture: Architecture = DEFAULT_ARCHITECTURE,
        python_version: str = DEFAULT_PYTHON_VERSION,
        memory_mib: int = 512,
        throttle_rate_per_second: int = 50,
        throttle_burst: int = 100,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        asset_cache_dir: Path = DEFAULT_ASSET_CACHE,
        snap_start: bool = True,
        reserved_concurrency: int = 50,
    ) -> None:
        super().__init__(scope, construct_id)
        if throttle_rate_per_second < 1 or throttle_burst < 1:
            raise ValueError(f"throttling must be positive, got {throttle_rate_per_second}/{throttle_burst}")
        self.function = self._build_function(
            environment,
            architecture,
            python_version,
            memory_mib,
            log_retention,
            asset_cache_dir,
            snap_start,
            reserved_concurrency,
        )
        # API Gateway calls this alias of the newest published version: SnapStart restores published
        # versions only (the app and its clients built before the snapshot, not on each cold start).
        self.alias = lambda_.Alias(self, "Live", alias_name="live", version=self.function.current_version)
        if snap_start:
            cdk.Annotations.of(self.function).acknowledge_warning(
                "@aws-cdk/aws-lambda:snapStartRequirePublish", "Published: current_version, behind the alias."
            )
        grant_api_access(
            self.function,
            uploads_bucket=uploads_bucket,
            media_bucket=media_bucket,
            registry_table=registry_table,
            event_bus=event_bus,
            quota_table=quota_table,
            distribution=distribution,
            housekeeping_queue=housekeeping_queue,
        )
        self.http_api = self._build_http_api(environment)
        self.url = self._build_stage(throttle_rate_per_second, throttle_burst, log_retention)
        self.server_errors_alarm = self._build_alarm()
        self._acknowledge_findings(uploads_bucket, media_bucket, python_version)

    def _build_function(
        self,
        environment: ApiEnvironment,
        architecture: Architecture,
        python_version: str,
        memory_mib: int,
        log_retention: logs.RetentionDays,
        asset_cache_dir: Path,
        snap_start: bool,
        reserved_concurrency: int,
    ) -> lambda_.Function:
        src = runtime_sources()
        code = PythonAssetSpec(
            projects=(src.upload_api, src.contract),
            constraints=src.constraints,
            hashes=src.wheel_hashes,
            architecture=architecture,
            python_version=python_version,
            provided=RUNTIME_PROVIDED,
        )
        return python_function(
            self,
            description="photo-pipeline: upload API (presigned POSTs, image status)",
            handler="upload_api.lambda_handler.handler",
            code=code,
            memory_mib=memory_mib,
            timeout_seconds=10,
            # Rate x duration is ~10 at 200 rps; a dependency slowing every call to the timeout would
            # need rate x 10 s, past the account's default limit: the cap keeps the account's pool.
            reserved_concurrency=reserved_concurrency,
            environment=environment.to_env(),
            log_retention=log_retention,
            asset_cache_dir=asset_cache_dir,
            snap_start=snap_start,
        )

    def _build_http_api(self, environment: ApiEnvironment) -> apigwv2.HttpApi:
        # API Gateway answers preflights itself (before any route) with the same rules as the app.
        cors = (
            apigwv2.CorsPreflightOptions(
                allow_origins=list(environment.cors_allowed_origins),
                allow_methods=[apigwv2.CorsHttpMethod(method) for method in CORS_ALLOWED_METHODS],
                allow_headers=list(CORS_ALLOWED_HEADERS),
                max_age=Duration.seconds(CORS_MAX_AGE_SECONDS),
            )
            if environment.cors_allowed_origins
            else None
        )
        http_api = apigwv2.HttpApi(self, "HttpApi", create_default_stage=False, cors_preflight=cors)
        integration = integrations.HttpLambdaIntegration("Lambda", self.alias)
        # Every /v1 path needs a valid token before the function runs: API Gateway's JWT authorizer
        # refuses the rest (401) without an invocation, so an anonymous flood costs API Gateway's
        # per-request price only. The app verifies the token again (its claims, one error shape).
        http_api.add_routes(
            path="/v1/{proxy+}",
            methods=[apigwv2.HttpMethod.ANY],
            integration=integration,
            authorizer=authorizers.HttpJwtAuthorizer(
                "Tokens", jwt_issuer=environment.jwt_issuer, jwt_audience=[environment.jwt_audience]
            ),
        )
        # Everything else (the health check, the docs where exposed, unknown paths with the app's 404).
        http_api.add_routes(path="/{proxy+}", methods=[apigwv2.HttpMethod.ANY], integration=integration)
        return http_api

    def _build_stage(
        self, throttle_rate_per_second: int, throttle_burst: int, log_retention: logs.RetentionDays
    ) -> str:
        access_logs = logs.LogGroup(self, "AccessLogs", retention=log_retention)
        stage = apigwv2.HttpStage(
            self,
            "Stage",
            http_api=self.http_api,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=throttle_rate_per_second, burst_limit=throttle_burst
            ),
        )
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.access_log_settings = apigwv2.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn,
            format=json.dumps(
                {
                    "requestId": "$context.requestId",
                    "ip": "$context.identity.sourceIp",
                    "time": "$context.requestTime",
                    "method": "$context.httpMethod",
                    "path": "$context.path",
                    "status": "$context.status",
                    "latencyMs": "$context.responseLatency",
                    "authorizerError": "$context.authorizer.error",
                }
            ),
        )
        return stage.url

    def _build_alarm(self) -> cloudwatch.Alarm:
        return alarm_above_zero(
            self,
            "ServerErrorsAlarm",
            "The upload API answered 5xx.",
            cloudwatch.Metric(
                namespace="AWS/ApiGateway",
                metric_name="5xx",
                dimensions_map={"ApiId": self.http_api.api_id, "Stage": "$default"},
                period=Duration.minutes(5),
                statistic="Sum",
            ),
            evaluation_periods=1,
        )

    def _acknowledge_findings(
        self, uploads_bucket: s3.IBucket, media_bucket: s3.IBucket, python_version: str
    ) -> None:
        _acknowledge_api_grants(self.function, uploads_bucket, media_bucket)
        acknowledge_python_function(
            self.function,
            python_version=python_version,
            **{"Serverless-LambdaDLQ": "Invoked synchronously by API Gateway: errors go back to the caller."},
        )
        acknowledge(
            self.http_api,
            **{
                "AwsSolutions-APIG4": (
                    "/v1 routes have the JWT authorizer; the catch-all serves /healthz and the app's 404s, "
                    "and is bounded by the stage throttle."
                ),
                "Serverless-APIGWStructuredLogging": "Access logs are JSON (see the stage's format).",
            },
        )


def _capacity_strategy(
    spot_weight: int, on_demand_weight: int, on_demand_base: int
) -> list[ecs.CapacityProviderStrategy]:
    """No strategy (plain on-demand Fargate) unless Spot has a weight."""
    if spot_weight < 0 or on_demand_weight < 0 or on_demand_base < 0:
        raise ValueError("capacity weights and base must be 0 or more")
    if spot_weight == 0:
        return []
    return [
        ecs.CapacityProviderStrategy(
            capacity_provider="FARGATE", base=on_demand_base, weight=on_demand_weight
        ),
        ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=spot_weight),
    ]


class UploadApiService(Construct):
    """The same API as a Fargate service behind an ALB: HTTPS only (port 80 only redirects, it never
    reaches a task), tasks in private subnets with a read-only root filesystem, health check on /healthz,
    circuit breaker with rollback, CPU autoscaling, Container Insights, ALB access logs, invalid headers
    dropped, idle timeout below the server's keep-alive. Exposes ``.service`` (the ecs_patterns
    construct), ``.vpc`` and ``.url``.

    :param environment: what the tasks are told, as the runtime contract spells it (the region and port
        are added here: ECS, unlike Lambda, does not set them).
    :param certificate: the ACM certificate of the API's domain (required: bearer tokens travel here).
    :param deletion_protection: the ALB cannot be deleted until this is turned off (prod).
    :param spot_weight: with a weight above 0, tasks beyond ``on_demand_base`` are placed on Fargate
        Spot and on-demand Fargate in the ratio ``spot_weight`` : ``on_demand_weight``. Spot costs about
        70% less but AWS may take a task back with two minutes' notice; the on-demand base keeps the
        service up when it does.
    :param nat_gateways: 1 or 2 NAT gateways for tasks in private subnets; 0 puts the tasks in the
        public subnets with public IPs (no NAT to pay; each task is then addressable from the internet,
        though its security group admits only the ALB).
    :param dynamodb_endpoint: a DynamoDB gateway endpoint, so registry traffic skips the NAT.
    :param waf_requests_per_ip_per_5_minutes: a WAFv2 web ACL on the ALB blocks an IP past this many
        requests in 5 minutes, and what AWS's managed groups block (``.firewall``; None: no WAF).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository: ecr.IRepository,
        image_tag: str,
        environment: ApiEnvironment,
        uploads_bucket: s3.IBucket,
        media_bucket: s3.IBucket,
        certificate: acm.ICertificate,
        registry_table: dynamodb.ITableV2,
        event_bus: events.IEventBus,
        quota_table: dynamodb.ITableV2 | None = None,
        distribution: cloudfront.IDistribution | None = None,
        housekeeping_queue: sqs.IQueue | None = None,
        min_tasks: int = 2,
        max_tasks: int = 6,
        cpu: int = 512,
        memory_mib: int = 1024,
        nat_gateways: int = 1,
        dynamodb_endpoint: bool = True,
        deletion_protection: bool = False,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        spot_weight: int = 0,
        on_demand_weight: int = 1,
        on_demand_base: int = 1,
        waf_requests_per_ip_per_5_minutes: int | None = 1_500,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 1 <= min_tasks <= max_tasks:
            raise ValueError(f"need 1 <= min_tasks <= max_tasks, got {min_tasks}..{max_tasks}")
        self._capacity = _capacity_strategy(spot_weight, on_demand_weight, on_demand_base)
        if not 0 <= nat_gateways <= 2:
            raise ValueError(f"nat_gateways must be 0, 1 or 2 (two AZs), got {nat_gateways}")
        # No NAT: the tasks sit in the public subnets with public IPs (their security group still
        # admits only the ALB); egress is direct, and the NAT's hourly and per-GB charges go.
        self._public_tasks = nat_gateways == 0
        self.vpc = self._build_network(nat_gateways, dynamodb_endpoint=dynamodb_endpoint)
        self.service = self._build_service(
            repository, image_tag, environment, cpu, memory_mib, min_tasks, certificate, log_retention
        )
        self._configure_load_balancing(deletion_protection)
        self._make_root_filesystem_read_only()
        self._build_access_logs()
        self._build_autoscaling(min_tasks, max_tasks)
        self.firewall = self._build_firewall(waf_requests_per_ip_per_5_minutes)
        grant_api_access(
            self.service.task_definition.task_role,
            uploads_bucket=uploads_bucket,
            media_bucket=media_bucket,
            registry_table=registry_table,
            event_bus=event_bus,
            quota_table=quota_table,
            distribution=distribution,
            housekeeping_queue=housekeeping_queue,
        )
        self.url = f"https://{self.service.load_balancer.load_balancer_dns_name}"
        self.unhealthy_hosts_alarm, self.server_errors_alarm = self._build_alarms()
        self._acknowledge_findings(uploads_bucket, media_bucket)

    def _build_firewall(self, requests_per_ip: int | None) -> RateLimitedWebAcl | None:
        """WAF in front of the ALB: a per-IP rate rule, then AWS's managed groups (None: no WAF)."""
        if requests_per_ip is None:
            return None
        firewall = RateLimitedWebAcl(
            self, "Firewall", requests_per_ip_per_5_minutes=requests_per_ip, metric_prefix="PhotoPipelineAlb"
        )
        firewall.associate(self.service.load_balancer.load_balancer_arn)
        return firewall

    def _build_network(self, nat_gateways: int, *, dynamodb_endpoint: bool) -> ec2.Vpc:
        subnets = [ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)]
        if not self._public_tasks:
            subnets.append(
                ec2.SubnetConfiguration(
                    name="Private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                )
            )
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=nat_gateways,
            subnet_configuration=subnets,
            flow_logs={"All": ec2.FlowLogOptions(traffic_type=ec2.FlowLogTrafficType.REJECT)},
        )
        # Gateway endpoints cost nothing and take the NAT's per-GB charge off the busiest traffic:
        # S3 (a re-post's copy, a retry's HEAD) and DynamoDB (every registry read and write).
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        if dynamodb_endpoint:
            vpc.add_gateway_endpoint("DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)
        return vpc

    def _build_service(
        self,
        repository: ecr.IRepository,
        image_tag: str,
        environment: ApiEnvironment,
        cpu: int,
        memory_mib: int,
        min_tasks: int,
        certificate: acm.ICertificate,
        log_retention: logs.RetentionDays,
    ) -> ecs_patterns.ApplicationLoadBalancedFargateService:
        cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
            enable_fargate_capacity_providers=bool(self._capacity) or None,
        )
        return ecs_patterns.ApplicationLoadBalancedFargateService(
            self,
            "Service",
            cluster=cluster,
            cpu=cpu,
            memory_limit_mib=memory_mib,
            desired_count=min_tasks,
            min_healthy_percent=100,
            max_healthy_percent=200,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                image=ecs.ContainerImage.from_ecr_repository(repository, image_tag),
                container_port=CONTAINER_PORT,
                environment={
                    **environment.to_env(),
                    **container_env(region=cdk.Aws.REGION, port=CONTAINER_PORT),
                },
                log_driver=ecs.LogDrivers.aws_logs(
                    stream_prefix="api", log_group=logs.LogGroup(self, "Logs", retention=log_retention)
                ),
            ),
            public_load_balancer=True,
            task_subnets=ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PUBLIC
                if self._public_tasks
                else ec2.SubnetType.PRIVATE_WITH_EGRESS
            ),
            assign_public_ip=self._public_tasks,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            certificate=certificate,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            redirect_http=True,
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            idle_timeout=Duration.seconds(ALB_IDLE_TIMEOUT_SECONDS),
            health_check_grace_period=Duration.seconds(30),
            capacity_provider_strategies=self._capacity or None,
        )

    def _configure_load_balancing(self, deletion_protection: bool) -> None:
        self.service.target_group.configure_health_check(
            path=HEALTH_CHECK_PATH,
            healthy_http_codes="200",
            interval=Duration.seconds(15),
            healthy_threshold_count=2,
        )
        # Less than ECS's 30 s stop timeout minus uvicorn's 20 s graceful window is never cut short.
        self.service.target_group.set_attribute("deregistration_delay.timeout_seconds", "25")
        self.service.load_balancer.set_attribute("routing.http.drop_invalid_header_fields.enabled", "true")
        if deletion_protection:
            self.service.load_balancer.set_attribute("deletion_protection.enabled", "true")

    def _make_root_filesystem_read_only(self) -> None:
        task_definition = self.service.task_definition
        task_definition.add_volume(name=_SCRATCH_VOLUME)
        container = task_definition.default_container
        assert container is not None
        container.add_mount_points(
            ecs.MountPoint(container_path="/tmp", source_volume=_SCRATCH_VOLUME, read_only=False)  # noqa: S108
        )
        cfn_task = task_definition.node.default_child
        assert isinstance(cfn_task, ecs.CfnTaskDefinition)
        # ecs_patterns builds the container itself and has no option for this.
        cfn_task.add_property_override("ContainerDefinitions.0.ReadonlyRootFilesystem", True)

    def _build_access_logs(self) -> None:
        self.alb_logs = s3.Bucket(
            self,
            "AlbLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # ALB log delivery supports SSE-S3 only
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.service.load_balancer.log_access_logs(self.alb_logs, prefix="alb")

    def _build_autoscaling(self, min_tasks: int, max_tasks: int) -> None:
        scaling = self.service.service.auto_scale_task_count(min_capacity=min_tasks, max_capacity=max_tasks)
        scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=60)

    def _build_alarms(self) -> tuple[cloudwatch.Alarm, cloudwatch.Alarm]:
        unhealthy = alarm_above_zero(
            self,
            "UnhealthyHostsAlarm",
            "The ALB sees unhealthy API tasks.",
            self.service.target_group.metrics.unhealthy_host_count(period=Duration.minutes(1)),
            evaluation_periods=3,
        )
        server_errors = alarm_above_zero(
            self,
            "ServerErrorsAlarm",
            "The API tasks answered 5xx.",
            self.service.load_balancer.metrics.http_code_target(
                elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=Duration.minutes(5)
            ),
            evaluation_periods=1,
        )
        return unhealthy, server_errors

    def _acknowledge_findings(self, uploads_bucket: s3.IBucket, media_bucket: s3.IBucket) -> None:
        _acknowledge_api_grants(self.service.task_definition.task_role, uploads_bucket, media_bucket)
        acknowledge(self.alb_logs, **{"AwsSolutions-S1": "This is the ALB access-log bucket."})
        acknowledge(
            self.service.task_definition,
            **{
                "AwsSolutions-ECS2": "Bucket names, limits and the token issuer: configuration, no secrets.",
                "AwsSolutions-IAM5[Resource::*]": "ecr:GetAuthorizationToken (image pull) takes no resource.",
            },
        )
        acknowledge(
            self.service.load_balancer,
            **{"AwsSolutions-EC23": "The public ALB is the API's front door: it must accept the internet."},
        )
