"""`make reprocess ENV=…` in AWS: it finds the state machine through the resize stack's outputs, starts
an execution with the input the Map expects, and prints the execution ARN and how to follow it. moto
runs the state machine registry and CloudFormation (not the Map's execution itself)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from photo_ops.reprocess import execution_input, main

REGION = "eu-west-1"  # prod's


@mock_aws
def test_it_starts_the_environments_state_machine_and_says_how_to_follow(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    arn = stepfunctions.create_state_machine(
        name="reprocess",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/reprocess",
    )["stateMachineArn"]
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="photo-pipeline-prod-resize",
        TemplateBody=json.dumps(
            {
                "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                "Outputs": {"ReprocessStateMachineArn": {"Value": arn}},
            }
        ),
    )

    assert (
        main(["--env", "prod", "--owner", "alice", "--before", "2026-11-01T00:00:00+00:00", "--dry-run"]) == 0
    )

    out = capsys.readouterr().out
    started = out.splitlines()[0].removeprefix("started: ")
    assert (
        started.startswith(f"arn:aws:states:{REGION}:")
        and f"describe-execution --region {REGION} --execution-arn {started}" in out
    )
    execution = stepfunctions.describe_execution(executionArn=started)
    assert json.loads(execution["input"]) == {
        "prefix": "uploads/alice/",
        "before": "2026-11-01T00:00:00+00:00",
        "dry_run": True,
    }


def test_the_input_lists_every_original_or_one_owners() -> None:
    assert execution_input(owner=None, before=None, dry_run=False) == {
        "prefix": "uploads/",
        "before": "",
        "dry_run": False,
    }
    with pytest.raises(ValueError, match="not a valid owner"):
        execution_input(owner="../other", before=None, dry_run=False)


@mock_aws
def test_without_the_stack_output_it_names_the_fix() -> None:
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="photo-pipeline-prod-resize",
        TemplateBody=json.dumps(
            {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
        ),
    )
    with pytest.raises(RuntimeError, match="deploy the resize stack first"):
        main(["--env", "prod"])
