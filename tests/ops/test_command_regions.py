"""Every command the project gives runs in the environment's region from the config, whatever the
profile says: each runs against moto with AWS_DEFAULT_REGION pointing elsewhere, with its resources only
in the environment's region (a command in the wrong region finds nothing and fails)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from photo_ops import preflight, redrive, reprocess
from photo_pipeline_cdk.config import ENVIRONMENTS

PROD = ENVIRONMENTS["prod"]
ELSEWHERE = "us-west-2"


@pytest.fixture
def profile_elsewhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    assert PROD.region and PROD.region != ELSEWHERE
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.setenv(name, ELSEWHERE)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def _stack(name: str, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {k: {"Value": v} for k, v in outputs.items()},
    }
    boto3.client("cloudformation", region_name=PROD.region).create_stack(
        StackName=name, TemplateBody=json.dumps(template)
    )


def test_redrive_finds_prod_queues_in_prods_region(profile_elsewhere: None) -> None:
    sqs = boto3.client("sqs", region_name=PROD.region)
    arns = {}
    for output, name in (("UploadEventsQueueArn", "q"), ("UploadEventsDeadLetterQueueArn", "dlq")):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arns[output] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    _stack(f"{PROD.stack_prefix}-storage", arns)
    assert redrive.main(["--env", "prod"]) == 0  # an empty dead-letter queue: nothing to move


def test_reprocess_starts_prods_state_machine_in_prods_region(
    profile_elsewhere: None, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = boto3.client("stepfunctions", region_name=PROD.region).create_state_machine(
        name="reprocess",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/reprocess",
    )["stateMachineArn"]
    _stack(f"{PROD.stack_prefix}-resize", {"ReprocessStateMachineArn": arn})
    assert reprocess.main(["--env", "prod"]) == 0
    follow = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("follow:"))
    assert f"--region {PROD.region}" in follow  # the printed command is pinned too


def test_preflight_checks_the_account_in_prods_region(
    profile_elsewhere: None, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("ssm", region_name=PROD.region).put_parameter(
        Name=preflight.BOOTSTRAP_VERSION_PARAMETER, Value="21", Type="String"
    )
    preflight.main(["--env", "prod"])
    out = capsys.readouterr().out
    assert f"✓ CDK bootstrap version in {PROD.region} is 21" in out
    assert f"✗ CDK is bootstrapped in {preflight.CLOUDFRONT_REGION}" in out  # prod's CDN certificate region


def test_a_pinned_account_refuses_credentials_of_another(
    profile_elsewhere: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from photo_ops.session import WrongAccountError
    from photo_pipeline_cdk import config as config_module

    pinned = dataclasses.replace(PROD, account="210987654321")  # moto's credentials are 123456789012's
    monkeypatch.setitem(config_module.ENVIRONMENTS, "prod", pinned)
    for command in (redrive.main, reprocess.main):
        with pytest.raises(WrongAccountError, match="210987654321"):
            command(["--env", "prod"])
