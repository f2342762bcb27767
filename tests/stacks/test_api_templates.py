"""Intent of the API stacks: ECR, the HTTP API, the Fargate service behind its ALB, least privilege."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from photo_contract.runtime import ApiEnvironment
from photo_pipeline_cdk.api import UploadApiService

pytestmark = pytest.mark.slow  # reads the templates of a full synth

Templates = dict[str, dict[str, dict[str, Any]]]


def _resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def _list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_ecr_repository_scans_on_push_with_immutable_tags_and_a_lifecycle(templates: Templates) -> None:
    for env, deletion in (("dev", "Delete"), ("prod", "Retain")):
        (repo,) = _resources(templates[env]["Storage"], "AWS::ECR::Repository")
        props = repo["Properties"]
        assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert props["ImageTagMutability"] == "IMMUTABLE"
        rules = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        assert rules[0]["selection"]["countType"] == "imageCountMoreThan"
        assert repo["DeletionPolicy"] == deletion


def test_dev_keeps_only_the_lambda_api(templates: Templates) -> None:
    assert set(templates["dev"]) == {"Storage", "Resize", "Api"}
    assert set(templates["prod"]) == {"Storage", "Resize", "Api", "Service"}


def test_http_api_puts_a_jwt_authorizer_on_every_route_but_healthz(templates: Templates) -> None:
    api = Template.from_json(templates["dev"]["Api"])
    api.has_resource_properties("AWS::ApiGatewayV2::Authorizer", {"AuthorizerType": "JWT"})
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in _resources(templates["dev"]["Api"], "AWS::ApiGatewayV2::Route")
    }
    assert set(routes) == {"POST /v1/uploads", "GET /v1/images/{image_id}", "GET /healthz"}
    assert routes["POST /v1/uploads"]["AuthorizationType"] == "JWT"
    assert routes["GET /v1/images/{image_id}"]["AuthorizationType"] == "JWT"
    assert routes["GET /healthz"].get("AuthorizationType", "NONE") == "NONE"
    api.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "DefaultRouteSettings": {"ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100},
            "AccessLogSettings": {
                "DestinationArn": Match.any_value(),
                "Format": Match.string_like_regexp("requestId"),
            },
        },
    )
    api.has_resource_properties("AWS::Lambda::Function", {"Handler": "upload_api.lambda_handler.handler"})


def test_service_runs_in_private_subnets_behind_the_alb(templates: Templates) -> None:
    service = Template.from_json(templates["prod"]["Service"])
    (ecs_service,) = _resources(templates["prod"]["Service"], "AWS::ECS::Service")
    network = ecs_service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert all("Private" in subnet["Ref"] for subnet in network["Subnets"])
    assert ecs_service["Properties"]["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }
    service.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup", {"HealthCheckPath": "/healthz", "TargetType": "ip"}
    )
    service.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer", {"Scheme": "internet-facing"}
    )
    (alb,) = _resources(templates["prod"]["Service"], "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    service.has_resource_properties(
        "AWS::ECS::Cluster", {"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]}
    )
    service.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "RuntimePlatform": {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
            "ContainerDefinitions": [
                Match.object_like({"PortMappings": [Match.object_like({"ContainerPort": 8000})]})
            ],
        },
    )


@pytest.mark.parametrize(("env", "minimum"), [("staging", 1), ("prod", 2)])
def test_service_autoscales_with_at_least_two_tasks_in_prod(
    templates: Templates, env: str, minimum: int
) -> None:
    service = Template.from_json(templates[env]["Service"])
    service.has_resource_properties("AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": minimum})
    service.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {"PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}
            ),
        },
    )


@pytest.mark.parametrize(("env", "stack"), [("prod", "Service"), ("dev", "Api")])
def test_api_principals_may_sign_uploads_and_read_records_only(
    templates: Templates, env: str, stack: str
) -> None:
    statements = [
        s
        for policy in _resources(templates[env][stack], "AWS::IAM::Policy")
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(a.startswith("s3:") for a in _list(s["Action"]))
    ]
    assert statements
    actions = {a for s in statements for a in _list(s["Action"])}
    assert not any(a.startswith("s3:Delete") or a == "s3:*" for a in actions)
    for statement in statements:
        resources = json.dumps(statement["Resource"])
        statement_actions = _list(statement["Action"])
        if any(a.startswith("s3:Put") for a in statement_actions):
            assert "UploadsBucketName" in resources and "/uploads/*" in resources and "Media" not in resources
        if "MediaBucketName" in resources:
            assert "/images/*" in resources
            assert all(a.startswith(("s3:Get", "s3:List")) for a in statement_actions)
        if statement_actions == ["s3:ListBucket"] or statement_actions == "s3:ListBucket":
            assert statement["Condition"] == {"StringLike": {"s3:prefix": ["uploads/*"]}}


def test_https_listener_and_redirect_when_a_certificate_is_named() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Https", env=cdk.Environment(region="eu-west-1"))
    UploadApiService(
        stack,
        "Api",
        repository=ecr.Repository.from_repository_name(stack, "Repo", "api"),
        image_tag="abc123",
        environment=ApiEnvironment(
            uploads_bucket="uploads-bucket",
            media_bucket="media-bucket",
            jwt_issuer="https://issuer.example",
            jwt_audience="client",
            jwks_url="https://issuer.example/jwks.json",
        ),
        uploads_bucket=s3.Bucket.from_bucket_name(stack, "Up", "uploads-bucket"),
        media_bucket=s3.Bucket.from_bucket_name(stack, "Media", "media-bucket"),
        certificate=acm.Certificate.from_certificate_arn(
            stack,
            "Cert",
            "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000",
        ),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener", {"Port": 443, "Protocol": "HTTPS"}
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 80,
            "DefaultActions": [
                Match.object_like({"Type": "redirect", "RedirectConfig": Match.object_like({"Port": "443"})})
            ],
        },
    )


def test_image_tag_comes_from_the_context(tmp_path: Any) -> None:
    from tests.stacks.conftest import cdk_cli

    result = cdk_cli("synth", "-c", "env=staging", "-c", "image_tag=abc1234", "-q", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "Service.template.json").read_text())
    (task,) = _resources(template, "AWS::ECS::TaskDefinition")
    image = json.dumps(task["Properties"]["ContainerDefinitions"][0]["Image"])
    assert ":abc1234" in image
