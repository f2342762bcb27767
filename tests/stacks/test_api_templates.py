"""Intent of the API stacks: ECR, the HTTP API, the Fargate service behind its ALB, least privilege."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from photo_contract.runtime import (
    CORS_ALLOWED_HEADERS,
    CORS_ALLOWED_METHODS,
    CORS_MAX_AGE_SECONDS,
    SERVER_KEEP_ALIVE_SECONDS,
)
from photo_pipeline_cdk.config import ENVIRONMENTS, FargateConfig

from tests.stacks.templates import as_list, resources, resources_by_id

pytestmark = pytest.mark.slow  # reads the templates of a full synth

Templates = dict[str, dict[str, dict[str, Any]]]


def test_ecr_repository_scans_on_push_with_immutable_tags_and_a_lifecycle(templates: Templates) -> None:
    for env, deletion in (("dev", "Delete"), ("prod", "Retain")):
        (repo,) = resources(templates[env]["Storage"], "AWS::ECR::Repository")
        props = repo["Properties"]
        assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert props["ImageTagMutability"] == "IMMUTABLE"
        rules = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        assert rules[0]["selection"]["countType"] == "imageCountMoreThan"
        assert repo["DeletionPolicy"] == deletion


def test_dev_keeps_only_the_lambda_api(templates: Templates) -> None:
    assert set(templates["dev"]) == {"Storage", "Resize", "Api", "Operations"}
    assert set(templates["prod"]) == {"Edge", "Storage", "Resize", "Api", "Service", "Operations"}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_http_api_refuses_anonymous_v1_calls_before_the_app_which_verifies_tokens_too(
    templates: Templates, env: str
) -> None:
    """/v1 has API Gateway's JWT authorizer (no invocation without a token); the rest reaches the app."""
    api = Template.from_json(templates[env]["Api"])
    (authorizer,) = resources(templates[env]["Api"], "AWS::ApiGatewayV2::Authorizer")
    jwt = authorizer["Properties"]
    assert jwt["AuthorizerType"] == "JWT"
    assert jwt["IdentitySource"] == ["$request.header.Authorization"]
    assert "TokenIssuer" in json.dumps(jwt["JwtConfiguration"]["Issuer"])
    assert "TokenAudience" in json.dumps(jwt["JwtConfiguration"]["Audience"])
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in resources(templates[env]["Api"], "AWS::ApiGatewayV2::Route")
    }
    assert set(routes) == {"ANY /v1/{proxy+}", "ANY /{proxy+}"}
    assert routes["ANY /v1/{proxy+}"]["AuthorizationType"] == "JWT"
    assert routes["ANY /{proxy+}"]["AuthorizationType"] == "NONE"
    config = ENVIRONMENTS[env]
    api.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {
            "CorsConfiguration": {
                "AllowOrigins": list(config.cors_allowed_origins),
                "AllowMethods": list(CORS_ALLOWED_METHODS),
                "AllowHeaders": list(CORS_ALLOWED_HEADERS),
                "MaxAge": CORS_MAX_AGE_SECONDS,
            }
        },
    )
    rate, burst = config.api.throttle_rate_per_second, config.api.throttle_burst
    api.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "DefaultRouteSettings": {"ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst},
            "AccessLogSettings": {
                "DestinationArn": Match.any_value(),
                "Format": Match.string_like_regexp("requestId"),
            },
        },
    )
    (function,) = [
        f
        for f in resources(templates[env]["Api"], "AWS::Lambda::Function")
        if f["Properties"].get("Handler") == "upload_api.lambda_handler.handler"
    ]
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["CORS_ALLOWED_ORIGINS"] == ",".join(config.cors_allowed_origins)
    assert variables["API_DOCS"] == ("1" if config.api.expose_docs else "0")
    assert variables["JWT_TOKEN_USE"] == "access"
    assert variables["FORMS_PER_MINUTE"] == str(config.api.forms_per_minute)
    assert "UploadQuotaTableName" in json.dumps(variables["QUOTA_TABLE"])


def test_docs_are_served_in_dev_only() -> None:
    assert [name for name, config in ENVIRONMENTS.items() if config.api.expose_docs] == ["dev"]


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_no_listener_forwards_plain_http_to_the_tasks(templates: Templates, env: str) -> None:
    listeners = resources(templates[env]["Service"], "AWS::ElasticLoadBalancingV2::Listener")
    assert listeners
    for listener in listeners:
        props = listener["Properties"]
        if props["Protocol"] == "HTTP":
            assert [a["Type"] for a in props["DefaultActions"]] == ["redirect"]
            assert props["DefaultActions"][0]["RedirectConfig"]["Protocol"] == "HTTPS"
        else:
            assert props["Protocol"] == "HTTPS" and props["Port"] == 443
            assert props["Certificates"] == [
                {"CertificateArn": ENVIRONMENTS[env].api.fargate.certificate_arn}
            ]
            assert props["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")


def test_an_environment_with_the_service_and_no_certificate_fails_to_synthesize() -> None:
    with pytest.raises(ValueError, match="certificate_arn"):
        replace(
            ENVIRONMENTS["staging"],
            api=replace(ENVIRONMENTS["staging"].api, fargate=FargateConfig(enabled=True)),
        )


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_alb_idles_out_before_the_server_closes_a_connection(templates: Templates, env: str) -> None:
    (alb,) = resources(templates[env]["Service"], "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
    assert int(attributes["idle_timeout.timeout_seconds"]) < SERVER_KEEP_ALIVE_SECONDS
    protected = attributes.get("deletion_protection.enabled") == "true"
    assert protected == (env == "prod")


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_the_task_root_filesystem_is_read_only_with_a_scratch_tmp(templates: Templates, env: str) -> None:
    (task,) = resources(templates[env]["Service"], "AWS::ECS::TaskDefinition")
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert container["ReadonlyRootFilesystem"] is True
    (mount,) = container["MountPoints"]
    assert mount["ContainerPath"] == "/tmp" and mount["ReadOnly"] is False
    assert {"Name": mount["SourceVolume"]} in task["Properties"]["Volumes"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_quota_table_expires_its_counters(templates: Templates, env: str) -> None:
    (table,) = [
        t
        for t in resources(templates[env]["Storage"], "AWS::DynamoDB::GlobalTable")
        if "GlobalSecondaryIndexes" not in t["Properties"]
    ]
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]


def test_service_runs_in_private_subnets_behind_the_alb(templates: Templates) -> None:
    service = Template.from_json(templates["prod"]["Service"])
    (ecs_service,) = resources(templates["prod"]["Service"], "AWS::ECS::Service")
    network = ecs_service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert all("Private" in subnet["Ref"] for subnet in network["Subnets"])
    # Registry and S3 traffic through gateway endpoints: neither pays the NAT's per-GB charge.
    endpoints = [
        json.dumps(e["Properties"]["ServiceName"])
        for e in resources(templates["prod"]["Service"], "AWS::EC2::VPCEndpoint")
    ]
    assert sorted(e.split(".")[-1].strip('"]}') for e in endpoints) == ["dynamodb", "s3"]
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
    (alb,) = resources(templates["prod"]["Service"], "AWS::ElasticLoadBalancingV2::LoadBalancer")
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
def test_api_principals_may_sign_uploads_read_variants_and_delete_images_only(
    templates: Templates, env: str, stack: str
) -> None:
    statements = [
        s
        for policy in resources(templates[env][stack], "AWS::IAM::Policy")
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(a.startswith("s3:") for a in as_list(s["Action"]))
    ]
    assert statements
    actions = {a for s in statements for a in as_list(s["Action"])}
    # Exactly what the API calls: no wildcard groups, so no tagging, legal-hold or retention actions.
    assert actions == {
        "s3:PutObject",  # signing upload forms; a moderator's clearing copies held variants to images/
        "s3:GetObject",  # held variants only: their previews and the clearing's copy source
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:DeleteObject",  # variants of a deleted image
        "s3:DeleteObjectVersion",  # every version of a deleted image's original
    }
    dynamodb_actions = {
        a
        for policy in resources(templates[env][stack], "AWS::IAM::Policy")
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for a in as_list(s["Action"])
        if a.startswith("dynamodb:")
    }
    assert dynamodb_actions == {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    }
    for statement in statements:
        resource_text = json.dumps(statement["Resource"])
        statement_actions = as_list(statement["Action"])
        if any(a.startswith("s3:Put") for a in statement_actions):
            uploads = "UploadsBucketName" in resource_text and "/uploads/*" in resource_text
            served = "MediaBucketName" in resource_text and "/images/*" in resource_text
            assert uploads != served and "/held/" not in resource_text
        if "s3:GetObject" in statement_actions:  # never a served variant
            assert "/images/" not in resource_text
            # Held previews; or originals, which a re-post's CopyObject reads and a retry's HEAD checks.
            held = "MediaBucketName" in resource_text and "/held/*" in resource_text
            originals = "UploadsBucketName" in resource_text and "/uploads/*" in resource_text
            assert held != originals
        if "MediaBucketName" in resource_text and statement_actions != ["s3:ListBucket"]:
            if "/images/*" in resource_text:
                assert set(statement_actions) == {"s3:PutObject", "s3:DeleteObject"}
            else:
                assert "/held/*" in resource_text
                assert set(statement_actions) == {"s3:GetObject", "s3:DeleteObject"}
        if statement_actions in (["s3:ListBucket"], ["s3:ListBucketVersions"]):
            # Every listing is scoped to a prefix the API works under.
            prefixes = (["uploads/*"], ["images/*"], ["held/*"])
            assert statement["Condition"]["StringLike"]["s3:prefix"] in prefixes


def test_image_tag_comes_from_the_context(tmp_path: Any) -> None:
    from tests.stacks.conftest import cdk_cli

    result = cdk_cli(
        "synth",
        "-c",
        "env=staging",
        "-c",
        "image_tag=abc1234",
        "-c",
        "allow_placeholders=true",
        "-q",
        "-o",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "Service.template.json").read_text())
    (task,) = resources(template, "AWS::ECS::TaskDefinition")
    image = json.dumps(task["Properties"]["ContainerDefinitions"][0]["Image"])
    assert ":abc1234" in image


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_fargate_spot_weights_come_from_config(templates: Templates, env: str) -> None:
    fargate = ENVIRONMENTS[env].api.fargate
    (service,) = [
        r for r in templates[env]["Service"]["Resources"].values() if r["Type"] == "AWS::ECS::Service"
    ]
    strategy = service["Properties"].get("CapacityProviderStrategy")
    if fargate.spot_weight:
        assert strategy == [
            {
                "Base": fargate.on_demand_base,
                "CapacityProvider": "FARGATE",
                "Weight": fargate.on_demand_weight,
            },
            {"CapacityProvider": "FARGATE_SPOT", "Weight": fargate.spot_weight},
        ]
        assert "LaunchType" not in service["Properties"]
    else:
        assert strategy is None and service["Properties"]["LaunchType"] == "FARGATE"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_api_runs_snapstart_behind_an_alias_and_the_worker_does_not(
    templates: Templates, env: str
) -> None:
    api = templates[env]["Api"]["Resources"]
    functions = {
        r["Properties"]["Handler"]: r["Properties"]
        for t in templates[env].values()
        for r in t["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "Handler" in r["Properties"]
    }
    assert functions["upload_api.lambda_handler.handler"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert "SnapStart" not in functions["resize_worker.handler.lambda_handler"]  # a queue consumer
    (alias_id,) = [k for k, r in api.items() if r["Type"] == "AWS::Lambda::Alias"]
    assert api[alias_id]["Properties"]["Name"] == "live"
    assert "FunctionVersion" in api[alias_id]["Properties"]  # a published version, not $LATEST
    (integration,) = [r for r in api.values() if r["Type"] == "AWS::ApiGatewayV2::Integration"]
    assert integration["Properties"]["IntegrationUri"] == {"Ref": alias_id}  # API Gateway calls the alias


@pytest.mark.parametrize(("env", "stack"), [("dev", "Api"), ("prod", "Api"), ("prod", "Service")])
def test_the_api_may_invalidate_only_the_media_distribution(
    templates: Templates, env: str, stack: str
) -> None:
    statements = [
        s
        for policy in resources(templates[env][stack], "AWS::IAM::Policy")
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "cloudfront:CreateInvalidation" in as_list(s["Action"])
    ]
    (statement,) = statements
    assert as_list(statement["Action"]) == ["cloudfront:CreateInvalidation"]
    assert f"photo-pipeline-{env}-storage-MediaDistributionId" in json.dumps(statement["Resource"])


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_the_alb_is_behind_a_web_acl_with_a_per_ip_rate_rule(templates: Templates, env: str) -> None:
    from photo_pipeline_cdk.config import environment_config
    from photo_pipeline_cdk.constructs.firewall import MANAGED_GROUPS, RATE_RULE

    service = templates[env]["Service"]
    (acl_id,) = resources_by_id(service, "AWS::WAFv2::WebACL")
    acl = resources_by_id(service, "AWS::WAFv2::WebACL")[acl_id]["Properties"]
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    rules = {r["Name"]: r for r in acl["Rules"]}
    rate = rules[RATE_RULE]
    assert rate["Priority"] == 0 and rate["Action"] == {"Block": {}}  # before anything else
    statement = rate["Statement"]["RateBasedStatement"]
    limit = environment_config(env).api.waf_requests_per_ip_per_5_minutes
    assert (statement["AggregateKeyType"], statement["Limit"]) == ("IP", limit)
    assert set(MANAGED_GROUPS) <= set(rules)
    assert all(r["VisibilityConfig"]["CloudWatchMetricsEnabled"] for r in rules.values())
    (association,) = resources_by_id(service, "AWS::WAFv2::WebACLAssociation").values()
    (alb_id,) = resources_by_id(service, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert association["Properties"]["ResourceArn"] == {"Ref": alb_id}
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
