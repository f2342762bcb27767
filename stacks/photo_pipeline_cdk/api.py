"""The upload API, twice from one codebase: Lambda behind an HTTP API, and Fargate behind an ALB."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct
from photo_contract import DERIVED_PREFIX, UPLOADS_PREFIX

from photo_pipeline_cdk.alarms import alarm_above_zero
from photo_pipeline_cdk.bundling import PythonAssetSpec, python_asset_code
from photo_pipeline_cdk.config import Architecture
from photo_pipeline_cdk.nag import acknowledge, acknowledge_python_function, nag_resource
from photo_pipeline_cdk.resize import (
    DEFAULT_ASSET_CACHE,
    LAMBDA_ARCHITECTURES,
    RUNTIME_PROVIDED,
    lambda_runtime,
)
from photo_pipeline_cdk.sources import runtime_sources

CONTAINER_PORT = 8000
HEALTH_CHECK_PATH = "/healthz"


def grant_api_access(
    grantee: iam.IGrantable, *, uploads_bucket: s3.IBucket, media_bucket: s3.IBucket
) -> None:
    """What the API needs, and only that: sign uploads under uploads/ (the POST is authorised as this
    principal), see whether an original arrived, and read records and variants under images/."""
    uploads_bucket.grant_put(grantee, f"{UPLOADS_PREFIX}*")
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[uploads_bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{UPLOADS_PREFIX}*"]}},
        )
    )
    media_bucket.grant_read(grantee, f"{DERIVED_PREFIX}*")


def _acknowledge_api_grants(
    construct: IConstruct, uploads_bucket: s3.IBucket, media_bucket: s3.IBucket, **more: str
) -> None:
    why_prefix = "Object keys are server-chosen under this prefix; the grant is the prefix, no wider."
    why_actions = "grant_put/grant_read action groups, scoped to the one prefix above."
    acknowledge(
        construct,
        **{
            f"AwsSolutions-IAM5[Resource::{nag_resource(construct, uploads_bucket.arn_for_objects(UPLOADS_PREFIX + '*'))}]": why_prefix,
            f"AwsSolutions-IAM5[Resource::{nag_resource(construct, media_bucket.arn_for_objects(DERIVED_PREFIX + '*'))}]": why_prefix,
            "AwsSolutions-IAM5[Action::s3:GetObject*]": why_actions,
            "AwsSolutions-IAM5[Action::s3:GetBucket*]": why_actions,
            "AwsSolutions-IAM5[Action::s3:List*]": why_actions,
            "AwsSolutions-IAM5[Action::s3:Abort*]": why_actions,
            **more,
        },
    )


def api_environment(
    *,
    uploads_bucket: s3.IBucket,
    media_bucket: s3.IBucket,
    max_upload_bytes: int,
    upload_expiry_seconds: int,
    issuer: str,
    audience: str,
    jwks_url: str,
) -> dict[str, str]:
    """The settings both runtimes read (upload_api.settings.ApiSettings.from_env)."""
    return {
        "UPLOADS_BUCKET": uploads_bucket.bucket_name,
        "MEDIA_BUCKET": media_bucket.bucket_name,
        "MAX_UPLOAD_BYTES": str(max_upload_bytes),
        "UPLOAD_EXPIRY_SECONDS": str(upload_expiry_seconds),
        "JWT_ISSUER": issuer,
        "JWT_AUDIENCE": audience,
        "JWKS_URL": jwks_url,
    }


class UserDirectory(Construct):
    """A Cognito user pool and the app's public client. Exposes ``issuer``, ``audience``, ``jwks_url``."""

    def __init__(self, scope: Construct, construct_id: str, *, retain: bool = False) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
        self.client = self.user_pool.add_client(
            "App",
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,  # a mobile/browser client cannot keep one
            prevent_user_existence_errors=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
        )
        self.issuer = self.user_pool.user_pool_provider_url
        self.audience = self.client.user_pool_client_id
        self.jwks_url = f"{self.issuer}/.well-known/jwks.json"
        acknowledge(
            self.user_pool,
            **{
                "AwsSolutions-COG2": "A consumer photo app: MFA is offered (TOTP), not forced on every user.",
                "AwsSolutions-COG3": "Threat protection needs Cognito's Plus plan; a per-environment cost decision.",
                "AwsSolutions-COG8": "The Plus plan is a per-environment cost decision (see COG3).",
            },
        )


class ApiImageRepository(Construct):
    """The ECR repository of the API image: scan on push, immutable tags, keeps the newest 30 images.
    Exposes ``.repository``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, retain: bool = False, keep_images: int = 30
    ) -> None:
        super().__init__(scope, construct_id)
        if keep_images < 1:
            raise ValueError(f"keep_images must be at least 1, got {keep_images}")
        self.repository = ecr.Repository(
            self,
            "Repository",
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.AES_256,
            lifecycle_rules=[
                ecr.LifecycleRule(description="keep the newest images", max_image_count=keep_images)
            ],
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )


class UploadApiFunction(Construct):
    """The API on Lambda behind an API Gateway HTTP API: a JWT authorizer in front (the app verifies the
    token again), stage throttling and JSON access logs. Exposes ``.function``, ``.http_api``, ``.url``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        uploads_bucket: s3.IBucket,
        media_bucket: s3.IBucket,
        issuer: str,
        audience: str,
        jwks_url: str,
        max_upload_bytes: int,
        upload_expiry_seconds: int = 600,
        architecture: Architecture = Architecture.ARM_64,
        python_version: str = "3.13",
        memory_mib: int = 512,
        throttle_rate_per_second: int = 50,
        throttle_burst: int = 100,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        asset_cache_dir: Path = DEFAULT_ASSET_CACHE,
    ) -> None:
        super().__init__(scope, construct_id)
        if throttle_rate_per_second < 1 or throttle_burst < 1:
            raise ValueError(f"throttling must be positive, got {throttle_rate_per_second}/{throttle_burst}")
        src = runtime_sources()
        spec = PythonAssetSpec(
            projects=(src.upload_api, src.contract),
            constraints=src.constraints,
            architecture=architecture,
            python_version=python_version,
            provided=RUNTIME_PROVIDED,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="photo-pipeline: upload API (presigned POSTs, image status)",
            runtime=lambda_runtime(python_version),
            architecture=LAMBDA_ARCHITECTURES[architecture],
            handler="upload_api.lambda_handler.handler",
            code=python_asset_code(spec, cache_dir=asset_cache_dir),
            memory_size=memory_mib,
            timeout=Duration.seconds(10),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=logs.LogGroup(self, "Logs", retention=log_retention),
            environment=api_environment(
                uploads_bucket=uploads_bucket,
                media_bucket=media_bucket,
                max_upload_bytes=max_upload_bytes,
                upload_expiry_seconds=upload_expiry_seconds,
                issuer=issuer,
                audience=audience,
                jwks_url=jwks_url,
            ),
        )
        grant_api_access(self.function, uploads_bucket=uploads_bucket, media_bucket=media_bucket)

        self.http_api = apigwv2.HttpApi(self, "HttpApi", create_default_stage=False)
        integration = integrations.HttpLambdaIntegration("Lambda", self.function)
        jwt = authorizers.HttpJwtAuthorizer("Jwt", jwt_issuer=issuer, jwt_audience=[audience])
        for path_, method in (
            ("/v1/uploads", apigwv2.HttpMethod.POST),
            ("/v1/images/{image_id}", apigwv2.HttpMethod.GET),
        ):
            self.http_api.add_routes(path=path_, methods=[method], integration=integration, authorizer=jwt)
        self.http_api.add_routes(
            path=HEALTH_CHECK_PATH, methods=[apigwv2.HttpMethod.GET], integration=integration
        )
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
        self.url = stage.url
        self.server_errors_alarm = alarm_above_zero(
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
        _acknowledge_api_grants(self.function, uploads_bucket, media_bucket)
        acknowledge_python_function(
            self.function,
            python_version=python_version,
            **{"Serverless-LambdaDLQ": "Invoked synchronously by API Gateway: errors go back to the caller."},
        )
        acknowledge(
            self.http_api,
            **{
                "AwsSolutions-APIG4": "/healthz is deliberately public; every other route has the JWT authorizer.",
                "Serverless-APIGWStructuredLogging": "Access logs are JSON (see the stage's format).",
            },
        )


class UploadApiService(Construct):
    """The same API as a Fargate service behind an ALB: tasks in private subnets, health check on
    /healthz, circuit breaker with rollback, CPU autoscaling, Container Insights, ALB access logs,
    invalid headers dropped, HTTPS with an 80→443 redirect when a certificate is given.
    Exposes ``.service`` (the ecs_patterns construct), ``.vpc`` and ``.url``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository: ecr.IRepository,
        image_tag: str,
        environment: Mapping[str, str],
        uploads_bucket: s3.IBucket,
        media_bucket: s3.IBucket,
        min_tasks: int = 2,
        max_tasks: int = 6,
        cpu: int = 512,
        memory_mib: int = 1024,
        nat_gateways: int = 1,
        certificate: acm.ICertificate | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 1 <= min_tasks <= max_tasks:
            raise ValueError(f"need 1 <= min_tasks <= max_tasks, got {min_tasks}..{max_tasks}")
        if nat_gateways < 1:
            raise ValueError(
                f"tasks run in private subnets and need at least one NAT gateway, got {nat_gateways}"
            )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(
                    name="Private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                ),
            ],
            flow_logs={"All": ec2.FlowLogOptions(traffic_type=ec2.FlowLogTrafficType.REJECT)},
        )
        # S3 without the NAT: presign needs none, but status reads and variant URLs hit S3 all day.
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        cluster = ecs.Cluster(
            self, "Cluster", vpc=self.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        self.service = ecs_patterns.ApplicationLoadBalancedFargateService(
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
                environment={**environment, "AWS_REGION": cdk.Aws.REGION, "PORT": str(CONTAINER_PORT)},
                log_driver=ecs.LogDrivers.aws_logs(
                    stream_prefix="api", log_group=logs.LogGroup(self, "Logs", retention=log_retention)
                ),
            ),
            public_load_balancer=True,
            task_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            certificate=certificate,
            protocol=elbv2.ApplicationProtocol.HTTPS if certificate else elbv2.ApplicationProtocol.HTTP,
            redirect_http=certificate is not None,
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS if certificate else None,
            health_check_grace_period=Duration.seconds(30),
        )
        self.service.target_group.configure_health_check(
            path=HEALTH_CHECK_PATH,
            healthy_http_codes="200",
            interval=Duration.seconds(15),
            healthy_threshold_count=2,
        )
        # Less than ECS's 30 s stop timeout minus uvicorn's 20 s graceful window is never cut short.
        self.service.target_group.set_attribute("deregistration_delay.timeout_seconds", "25")
        self.service.load_balancer.set_attribute("routing.http.drop_invalid_header_fields.enabled", "true")
        alb_logs = s3.Bucket(
            self,
            "AlbLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # ALB log delivery supports SSE-S3 only
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.service.load_balancer.log_access_logs(alb_logs, prefix="alb")
        scaling = self.service.service.auto_scale_task_count(min_capacity=min_tasks, max_capacity=max_tasks)
        scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=60)
        grant_api_access(
            self.service.task_definition.task_role, uploads_bucket=uploads_bucket, media_bucket=media_bucket
        )
        self.url = (
            f"{'https' if certificate else 'http'}://{self.service.load_balancer.load_balancer_dns_name}"
        )
        self.unhealthy_hosts_alarm = alarm_above_zero(
            self,
            "UnhealthyHostsAlarm",
            "The ALB sees unhealthy API tasks.",
            self.service.target_group.metrics.unhealthy_host_count(period=Duration.minutes(1)),
            evaluation_periods=3,
        )
        self.server_errors_alarm = alarm_above_zero(
            self,
            "ServerErrorsAlarm",
            "The API tasks answered 5xx.",
            self.service.load_balancer.metrics.http_code_target(
                elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=Duration.minutes(5)
            ),
            evaluation_periods=1,
        )
        _acknowledge_api_grants(self.service.task_definition.task_role, uploads_bucket, media_bucket)
        acknowledge(alb_logs, **{"AwsSolutions-S1": "This is the ALB access-log bucket."})
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
