"""The reprocessing state machine as synthesized, per environment: a Distributed Map reading an S3
listing of the originals, with the configured concurrency and failure tolerance, results to its own
bucket, and IAM scoped to listing the uploads bucket and invoking its own function."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from photo_pipeline_cdk.config import ENVIRONMENTS

pytestmark = pytest.mark.slow  # reads the templates of a full synth

Templates = dict[str, dict[str, dict[str, Any]]]
ENVS = ["dev", "staging", "prod"]


def _by_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _definition(state_machine: dict[str, Any]) -> dict[str, Any]:
    """The ASL with each CloudFormation token replaced by a readable stand-in."""

    def text(part: Any) -> str:
        if isinstance(part, str):
            return part
        if "Ref" in part:
            return f"<Ref {part['Ref']}>"
        if "Fn::GetAtt" in part:
            return f"<{'.'.join(part['Fn::GetAtt'])}>"
        if "Fn::ImportValue" in part:
            return f"<Import {part['Fn::ImportValue']}>"
        return "<token>"

    joined = state_machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(text(p) for p in joined))


@pytest.mark.parametrize("env", ENVS)
def test_a_distributed_map_over_the_originals(templates: Templates, env: str) -> None:
    resize = templates[env]["Resize"]
    config = ENVIRONMENTS[env].resize
    (state_machine,) = _by_type(resize, "AWS::StepFunctions::StateMachine").values()
    definition = _definition(state_machine)
    gate = definition["States"][definition["StartAt"]]
    assert gate["Type"] == "Choice"
    state = definition["States"][gate["Choices"][0]["Next"]]
    assert state["Type"] == "Map"
    assert state["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    reader = state["ItemReader"]
    assert reader["Resource"].endswith(":states:::s3:listObjectsV2")
    assert reader["Parameters"]["Prefix.$"] == "$.prefix"
    assert "UploadsBucketName" in reader["Parameters"]["Bucket"]
    assert state["MaxConcurrency"] == config.reprocess_concurrency
    assert state["ToleratedFailurePercentage"] == config.reprocess_tolerated_failure_percentage
    assert state["ResultWriter"]["Resource"].endswith(":states:::s3:putObject")
    assert "Reports" in state["ResultWriter"]["Parameters"]["Bucket"]
    (task,) = state["ItemProcessor"]["States"].values()
    assert "ReprocessFunction" in task["Resource"]
    assert state["ItemSelector"]["item.$"] == "$$.Map.Item.Value"
    assert resize["Outputs"]["ReprocessStateMachineArn"]  # make reprocess finds it here


@pytest.mark.parametrize("env", ENVS)
def test_the_state_machine_can_list_originals_and_invoke_its_function_only(
    templates: Templates, env: str
) -> None:
    resize = templates[env]["Resize"]
    statements = [
        s
        for key, policy in _by_type(resize, "AWS::IAM::Policy").items()
        if key.startswith("ReprocessingStateMachine")
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    by_action: dict[str, list[str]] = {}
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            by_action.setdefault(action, []).append(json.dumps(statement["Resource"]))
    s3_actions = {a for a in by_action if a.startswith("s3:")}
    assert s3_actions == {
        "s3:ListBucket",
        "s3:PutObject",
        "s3:GetObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
    }
    assert all(
        "UploadsBucketName" in r for r in by_action["s3:ListBucket"]
    )  # listing, never reading originals
    for action in s3_actions - {"s3:ListBucket"}:
        assert all("Reports" in r and "Uploads" not in r for r in by_action[action]), action
    assert all("ReprocessFunction" in r for r in by_action["lambda:InvokeFunction"])
    assert not any(a.startswith(("dynamodb:", "events:")) for a in by_action)


@pytest.mark.parametrize("env", ENVS)
def test_reprocessing_has_its_own_concurrency(templates: Templates, env: str) -> None:
    config = ENVIRONMENTS[env].resize
    functions = {
        f["Properties"]["Handler"]: f["Properties"]
        for f in _by_type(templates[env]["Resize"], "AWS::Lambda::Function").values()
        if "Handler" in f["Properties"]
    }
    reprocess = functions["resize_worker.reprocess.lambda_handler"]
    worker = functions["resize_worker.handler.lambda_handler"]
    assert reprocess["ReservedConcurrentExecutions"] == config.reprocess_concurrency
    assert worker["ReservedConcurrentExecutions"] == config.reserved_concurrency
    # The same spec, buckets and registry; only the live first step queues a second step.
    first_step = dict(worker["Environment"]["Variables"])
    assert first_step.pop("ALTERNATES_QUEUE_URL", None) is not None
    assert reprocess["Environment"]["Variables"] == first_step
    assert reprocess["Timeout"] < worker["Timeout"]  # one image, not a batch


def _holds(rule: dict[str, Any], data: dict[str, Any]) -> bool:
    """A Choice rule, as the Amazon States Language defines the operators the gate uses."""
    if "And" in rule:
        return all(_holds(r, data) for r in rule["And"])
    if "Or" in rule:
        return any(_holds(r, data) for r in rule["Or"])
    if "Not" in rule:
        return not _holds(rule["Not"], data)
    value = data.get(rule["Variable"].removeprefix("$."), _MISSING)
    if "IsString" in rule:
        return isinstance(value, str) is rule["IsString"]
    if "IsBoolean" in rule:
        return isinstance(value, bool) is rule["IsBoolean"]
    if "StringEquals" in rule:
        return value == rule["StringEquals"]
    if "StringMatches" in rule:  # "*" is any run of characters, "/" included
        pattern = "^" + ".*".join(re.escape(p) for p in rule["StringMatches"].split("*")) + "$"
        return isinstance(value, str) and re.match(pattern, value) is not None
    raise AssertionError(f"an operator this evaluator does not know: {rule}")


_MISSING = object()


@pytest.mark.parametrize("env", ENVS)
def test_the_state_machine_refuses_an_input_make_reprocess_would_not_send(
    templates: Templates, env: str
) -> None:
    from photo_ops.reprocess import execution_input

    (state_machine,) = _by_type(templates[env]["Resize"], "AWS::StepFunctions::StateMachine").values()
    definition = _definition(state_machine)
    gate = definition["States"][definition["StartAt"]]
    assert definition["States"][gate["Default"]] == {
        "Type": "Fail",
        "Error": "InvalidInput",
        "Cause": definition["States"][gate["Default"]]["Cause"],
    }
    (valid,) = gate["Choices"]

    def accepted(data: dict[str, Any]) -> bool:
        return _holds({k: v for k, v in valid.items() if k != "Next"}, data)

    for owner in (None, "alice"):  # what the operator command sends
        assert accepted(execution_input(owner=owner, before=None, dry_run=False))
    base = {"prefix": "uploads/", "before": "", "dry_run": False}
    for bad in (
        {**base, "prefix": ""},  # the whole bucket
        {**base, "prefix": "reports/"},
        {**base, "prefix": "uploads/alice/../"},
        {**base, "prefix": "uploads/alice/x"},
        {**base, "dry_run": "yes"},
        {"prefix": "uploads/"},
    ):
        assert not accepted(bad), bad


@pytest.mark.parametrize("env", ENVS)
def test_only_the_operator_policy_may_start_a_run(templates: Templates, env: str) -> None:
    """Step Functions has no resource policy, so the stacks give StartExecution to one managed policy
    (for the operators' role or group, an output) and to no role of their own."""
    starters = [
        (stack, key)
        for stack, template in templates[env].items()
        for key, resource in template["Resources"].items()
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role")
        and "states:StartExecution" in json.dumps(resource["Properties"])
    ]
    resize = templates[env]["Resize"]
    (policy_id,) = _by_type(resize, "AWS::IAM::ManagedPolicy")
    (machine_id,) = _by_type(resize, "AWS::StepFunctions::StateMachine")
    (map_policy_id,) = [k for k in _by_type(resize, "AWS::IAM::Policy") if "DistributedMapPolicy" in k]
    assert sorted(starters) == sorted([("Resize", policy_id), ("Resize", map_policy_id)])
    # The other is the state machine's own role, starting its Distributed Map's children on itself.
    map_policy = resize["Resources"][map_policy_id]["Properties"]
    (machine_role,) = map_policy["Roles"]
    assert resize["Resources"][machine_id]["Properties"]["RoleArn"] == {
        "Fn::GetAtt": [machine_role["Ref"], "Arn"]
    }
    assert [
        s["Resource"]
        for s in map_policy["PolicyDocument"]["Statement"]
        if s["Action"] == "states:StartExecution"
    ] == [{"Ref": machine_id}]
    policy = resize["Resources"][policy_id]["Properties"]
    assert not any(key in policy for key in ("Roles", "Users", "Groups"))  # attached by the operator
    statements = {
        tuple(s["Action"] if isinstance(s["Action"], list) else [s["Action"]]): json.dumps(s["Resource"])
        for s in policy["PolicyDocument"]["Statement"]
    }
    assert statements[("states:StartExecution",)] == json.dumps({"Ref": machine_id})
    assert ":execution:" in statements[("states:DescribeExecution", "states:StopExecution")]
    assert "/reports/reprocess/*" in statements[("s3:GetObject",)]
    output = resize["Outputs"]["ReprocessOperatorPolicyArn"]
    assert output["Value"] == {"Ref": policy_id}
