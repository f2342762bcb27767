"""Every path where an AWS service acts for the project, in every environment's synthesized templates:
the resource or key policy it needs is there and admits that service for this account's resources only.

Each service's request is evaluated like a role's (tests/permissions/policies.py), with the condition
keys AWS sets for it (aws:SourceArn, aws:SourceAccount). docs/permissions.md has the table."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.permissions.policies import Templates, evaluate, key_requests
from tests.permissions.proof import SNAPSHOTS, environment_templates, place_of
from tests.permissions.requests import Request
from tests.stacks.templates import resources_by_id

ENVIRONMENTS = ["dev", "staging", "prod"]
OTHER_ACCOUNT = "999999999999"
NAMES = {
    "UploadsBucketName": "uploads",
    "MediaBucketName": "media",
    "UploadEventsQueueArn": "upload-events",
    "UploadEventsDeadLetterQueueArn": "upload-events-dlq",
    "HousekeepingQueueArn": "housekeeping",
    "HousekeepingDeadLetterQueueArn": "housekeeping-dlq",
    "RegistryTableName": "images",
    "EventBusName": "images-bus",
}


def _model(env: str) -> Templates:
    return environment_templates(env, NAMES)


def _raw(env: str, stack: str) -> dict[str, Any]:
    return dict(json.loads((SNAPSHOTS / env / f"{stack}.template.json").read_text()))


def _service(model: Templates, service: str, request: Request, **context: str) -> bool:
    return evaluate(model, request, principal=f"service:{service}", context=context).allowed


def _queue_arn(model: Templates, name: str) -> str:
    return f"arn:aws:sqs:{model.place.region}:{model.place.account}:{name}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_s3_notifies_the_queue_only_for_this_accounts_uploads_bucket(env: str) -> None:
    model = _model(env)
    send = Request("sqs:SendMessage", _queue_arn(model, "upload-events"))
    account = model.place.account
    assert _service(
        model,
        "s3.amazonaws.com",
        send,
        **{"aws:SourceArn": "arn:aws:s3:::uploads", "aws:SourceAccount": account},
    )
    assert not _service(
        model,
        "s3.amazonaws.com",
        send,
        **{"aws:SourceArn": "arn:aws:s3:::uploads", "aws:SourceAccount": OTHER_ACCOUNT},
    )
    assert not _service(
        model,
        "s3.amazonaws.com",
        send,
        **{"aws:SourceArn": "arn:aws:s3:::someone-elses", "aws:SourceAccount": account},
    )
    assert key_requests(model, send) == []  # SQS-managed encryption: no key policy to admit S3


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize(
    ("queue", "output", "role_name"),
    [
        ("upload-events", "UploadEventsQueueArn", "ResizePipelineFunctionServiceRole"),
        ("housekeeping", "HousekeepingQueueArn", "HousekeepingFunctionServiceRole"),
    ],
)
def test_sqs_feeds_each_function_through_its_role(env: str, queue: str, output: str, role_name: str) -> None:
    model = _model(env)
    mappings = resources_by_id(_raw(env, "Resize"), "AWS::Lambda::EventSourceMapping").values()
    (mapping,) = [
        m
        for m in mappings  # the storage stack's queues (the alternates queue is the resize stack's own)
        if m["Properties"]["EventSourceArn"].get("Fn::ImportValue", "").endswith(f"-storage-{output}")
    ]
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    role = model.roles[role_name]
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        request = Request(action, _queue_arn(model, queue))
        assert evaluate(model, request, principal=role.arn, identity=model.identity[role.name]).allowed, (
            action
        )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_schedule_may_invoke_the_housekeeping_function_and_nothing_else_may(env: str) -> None:
    resize = _raw(env, "Resize")
    rules = resources_by_id(resize, "AWS::Events::Rule")
    assert sorted(i.rstrip("0123456789ABCDEF") for i in rules) == [
        "HousekeepingOriginalsSweep",
        "HousekeepingOutboxSweep",
    ]
    functions = resources_by_id(resize, "AWS::Lambda::Function")
    (housekeeping,) = [i for i in functions if i.startswith("Housekeeping")]
    permissions = [
        p["Properties"]
        for p in resources_by_id(resize, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert len(permissions) == len(rules)
    for permission in permissions:
        assert permission["FunctionName"] == {"Fn::GetAtt": [housekeeping, "Arn"]}
        assert permission["SourceArn"]["Fn::GetAtt"][0] in rules  # only its own rule's invocations
    for rule in rules.values():
        assert "EventBusName" not in rule["Properties"]  # the default bus's schedule, not the image bus


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_api_gateway_invokes_the_live_alias_of_this_api_only(env: str) -> None:
    api = _raw(env, "Api")
    permissions = [p["Properties"] for p in resources_by_id(api, "AWS::Lambda::Permission").values()]
    assert len(permissions) == 2  # one per route: /v1/{proxy+} and the catch-all
    aliases = resources_by_id(api, "AWS::Lambda::Alias")
    for props in permissions:
        assert props["Principal"] == "apigateway.amazonaws.com" and props["FunctionName"]["Ref"] in aliases
        source = json.dumps(props["SourceArn"])
        assert ":execute-api:" in source and '"Ref": "UploadApiHttpApi' in source
    (integration,) = resources_by_id(api, "AWS::ApiGatewayV2::Integration").values()
    assert json.dumps(integration["Properties"]["IntegrationUri"]) == json.dumps(
        {"Ref": permissions[0]["FunctionName"]["Ref"]}
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_api_gateway_refuses_v1_requests_without_a_valid_token_before_the_function_runs(env: str) -> None:
    """An anonymous flood costs API Gateway's request price and no invocation (the compensating control
    of an HTTP API, which cannot take a WAF: docs/design.md)."""
    api = _raw(env, "Api")
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in resources_by_id(api, "AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == {"ANY /v1/{proxy+}", "ANY /{proxy+}"}
    v1 = routes["ANY /v1/{proxy+}"]
    assert v1["AuthorizationType"] == "JWT"
    (authorizer_id, authorizer) = next(iter(resources_by_id(api, "AWS::ApiGatewayV2::Authorizer").items()))
    assert v1["AuthorizerId"] == {"Ref": authorizer_id}
    props = authorizer["Properties"]
    assert props["AuthorizerType"] == "JWT" and props["IdentitySource"] == ["$request.header.Authorization"]
    configuration = json.dumps(props["JwtConfiguration"])
    assert "TokenIssuer" in configuration and "TokenAudience" in configuration  # the storage stack's issuer
    assert routes["ANY /{proxy+}"].get("AuthorizationType", "NONE") == "NONE"  # /healthz, the app's 404s


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cloudwatch_alarms_can_publish_to_the_encrypted_alarm_topic(env: str) -> None:
    model = _model(env)
    storage = _raw(env, "Storage")
    ((topic_id, topic),) = resources_by_id(storage, "AWS::SNS::Topic").items()
    key_ids = resources_by_id(storage, "AWS::KMS::Key")
    assert topic["Properties"]["KmsMasterKeyId"] == {
        "Fn::GetAtt": [next(iter(key_ids)), "Arn"]
    }  # customer-managed
    (key,) = key_ids.values()
    assert key["Properties"]["EnableKeyRotation"] is True
    topic_arn = f"arn:aws:sns:{model.place.region}:{model.place.account}:storage-{topic_id.lower()}"
    publish = Request("sns:Publish", topic_arn)
    alarm = f"arn:aws:cloudwatch:{model.place.region}:{model.place.account}:alarm:photo-pipeline-{env}-dlq"
    ours = {"aws:SourceArn": alarm, "aws:SourceAccount": model.place.account}
    assert _service(model, "cloudwatch.amazonaws.com", publish, **ours)
    (use_key,) = key_requests(model, publish)
    assert _service(model, "cloudwatch.amazonaws.com", use_key, **ours)
    assert _service(model, "cloudwatch.amazonaws.com", Request("kms:Decrypt", use_key.resource), **ours)
    theirs = {
        "aws:SourceArn": alarm.replace(model.place.account, OTHER_ACCOUNT),
        "aws:SourceAccount": OTHER_ACCOUNT,
    }
    assert not _service(model, "cloudwatch.amazonaws.com", publish, **theirs)
    assert not _service(model, "cloudwatch.amazonaws.com", use_key, **theirs)
    # Publishing without TLS is refused to everyone.
    assert not evaluate(
        model,
        publish,
        principal="service:cloudwatch.amazonaws.com",
        context={**ours, "aws:SecureTransport": "false"},
    ).allowed


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_alarm_address_is_subscribed_by_email(env: str) -> None:
    from photo_pipeline_cdk.config import environment_config

    subscriptions = resources_by_id(_raw(env, "Storage"), "AWS::SNS::Subscription").values()
    emails = {s["Properties"]["Endpoint"] for s in subscriptions if s["Properties"]["Protocol"] == "email"}
    assert emails == set(environment_config(env).alarm_emails)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_bus_has_no_rule_of_ours_and_its_archive_replays_into_it(env: str) -> None:
    storage = _raw(env, "Storage")
    # A rule added here needs its target's resource policy: add its path to this file and the docs.
    assert not any(
        rule["Properties"].get("EventBusName")
        for s in ("Storage", "Api", "Resize", "Operations")
        for rule in resources_by_id(_raw(env, s), "AWS::Events::Rule").values()
    )  # the housekeeping schedules are on the default bus
    (archive,) = resources_by_id(storage, "AWS::Events::Archive").values()
    (bus_id,) = resources_by_id(storage, "AWS::Events::EventBus")
    assert archive["Properties"]["SourceArn"] == {
        "Fn::GetAtt": [bus_id, "Arn"]
    }  # a replay goes back to this bus


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cloudfront_reads_variants_only_for_this_distribution(env: str) -> None:
    model = _model(env)
    storage = _raw(env, "Storage")
    (distribution_id,) = resources_by_id(storage, "AWS::CloudFront::Distribution")
    ours = f"arn:aws:cloudfront::{model.place.account}:distribution/storage-{distribution_id.lower()}"
    read = Request("s3:GetObject", "arn:aws:s3:::media/images/u/i/v1/w1080.jpg")
    assert _service(model, "cloudfront.amazonaws.com", read, **{"aws:SourceArn": ours})
    assert not _service(model, "cloudfront.amazonaws.com", read, **{"aws:SourceArn": ours + "x"})
    assert not _service(
        model,
        "cloudfront.amazonaws.com",
        Request("s3:GetObject", "arn:aws:s3:::uploads/uploads/u/i"),
        **{"aws:SourceArn": ours},
    )
    assert key_requests(model, read) == []  # SSE-S3: no key policy to admit CloudFront


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_step_functions_lists_invokes_and_reports(env: str) -> None:
    model = _model(env)
    role = model.roles["ReprocessingStateMachineRole"]
    resize = _raw(env, "Resize")
    (reports_id,) = (
        k for k in resources_by_id(resize, "AWS::S3::Bucket") if k.startswith("ReprocessingReports")
    )
    functions = [
        k
        for k in resources_by_id(resize, "AWS::Lambda::Function")
        if k.startswith("ResizePipelineReprocessFunction")
    ]
    (function_id,) = functions
    region, account = model.place.region, model.place.account
    for request in (
        Request("s3:ListBucket", "arn:aws:s3:::uploads", {"s3:prefix": "uploads/"}),
        Request(
            "lambda:InvokeFunction",
            f"arn:aws:lambda:{region}:{account}:function:resize-{function_id.lower()}",
        ),
        Request(
            "s3:PutObject", f"arn:aws:s3:::resize-{reports_id.lower()}/reports/reprocess/run/results.json"
        ),
    ):
        assert evaluate(model, request, principal=role.arn, identity=model.identity[role.name]).allowed, (
            request
        )


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_ecs_pulls_the_image_and_writes_logs_with_the_execution_role(env: str) -> None:
    model = _model(env)
    service = _raw(env, "Service")
    (task,) = resources_by_id(service, "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert "Secrets" not in container  # the signing key (signed mode) is read by the app with the task role
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    role = model.roles["UploadApiServiceTaskDefExecutionRole"]
    repository = _raw(env, "Storage")
    (repository_id,) = resources_by_id(repository, "AWS::ECR::Repository")
    region, account = model.place.region, model.place.account
    (log_group_id,) = (
        k for k in resources_by_id(service, "AWS::Logs::LogGroup") if k.startswith("UploadApiLogs")
    )
    for request in (
        Request("ecr:GetAuthorizationToken", "*"),
        Request(
            "ecr:BatchGetImage", f"arn:aws:ecr:{region}:{account}:repository/storage-{repository_id.lower()}"
        ),
        Request(
            "logs:PutLogEvents",
            f"arn:aws:logs:{region}:{account}:log-group:service-{log_group_id.lower()}:log-stream:api/x",
        ),
    ):
        assert evaluate(model, request, principal=role.arn, identity=model.identity[role.name]).allowed, (
            request
        )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_traced_function_may_send_its_traces(env: str) -> None:
    model = _model(env)
    traced = 0
    for stack in ("Api", "Resize"):
        template = _raw(env, stack)
        for function in resources_by_id(template, "AWS::Lambda::Function").values():
            props = function["Properties"]
            if props.get("TracingConfig", {}).get("Mode") != "Active":
                continue
            traced += 1
            role_name = props["Role"]["Fn::GetAtt"][0][:-8]
            for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords"):
                request = Request(action, "*")
                assert evaluate(
                    model, request, principal=model.roles[role_name].arn, identity=model.identity[role_name]
                ).allowed
    assert traced >= 3  # the API, the worker, the reprocess function
    assert place_of(env).region


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_the_projects_roles_may_publish_on_the_bus(env: str) -> None:
    """Consumers trust an event's source: a principal of the same account that is not one of the
    project's roles is refused, even with an administrator's identity policy."""
    from tests.permissions.policies import Statement

    model = _model(env)
    bus = f"arn:aws:events:{model.place.region}:{model.place.account}:event-bus/images-bus"
    put = Request("events:PutEvents", bus)
    worker = model.roles["ResizePipelineFunctionServiceRole"]
    assert evaluate(model, put, principal=worker.arn, identity=model.identity[worker.name]).allowed
    administrator = [Statement("admin", "Allow", ("*",), (), ("*",), {})]
    stranger = f"arn:aws:iam::{model.place.account}:role/someone-elses-function"
    verdict = evaluate(model, put, principal=stranger, identity=administrator)
    assert not verdict.allowed and any("Storage/RegistryBus" in d for d in verdict.denied_by)
