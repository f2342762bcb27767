"""The two-step pipeline as synthesized: the alternates queue with its DLQ and alarm, the alternates
function with its own budget on it, and the first step told where to queue (the others not)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from photo_pipeline_cdk.config import environment_config

from tests.stacks.conftest import ENVIRONMENTS
from tests.stacks.templates import resources_by_id, role_actions

pytestmark = pytest.mark.slow  # reads the templates of a full synth

Templates = dict[str, dict[str, dict[str, Any]]]
HANDLERS = {
    "resize_worker.handler.lambda_handler": "first",
    "resize_worker.reprocess.lambda_handler": "reprocess",
    "resize_worker.alternates_handler.lambda_handler": "alternates",
}


def _functions(resize: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        HANDLERS[r["Properties"]["Handler"]]: (logical_id, r["Properties"])
        for logical_id, r in resources_by_id(resize, "AWS::Lambda::Function").items()
        if r["Properties"].get("Handler") in HANDLERS
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_alternates_step_has_its_queue_dlq_alarm_and_budget(templates: Templates, env: str) -> None:
    config = environment_config(env).resize
    assert config.alternates is not None
    resize = templates[env]["Resize"]
    queues = resources_by_id(resize, "AWS::SQS::Queue")
    (queue_id,) = [k for k, q in queues.items() if "RedrivePolicy" in q["Properties"]]
    redrive = queues[queue_id]["Properties"]["RedrivePolicy"]
    dlq_id = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert dlq_id in queues and redrive["maxReceiveCount"] == config.max_receive_count
    assert queues[queue_id]["Properties"]["SqsManagedSseEnabled"] is True

    functions = _functions(resize)
    alternates_id, alternates = functions["alternates"]
    assert (alternates["MemorySize"], alternates["Timeout"], alternates["ReservedConcurrentExecutions"]) == (
        config.alternates.memory_mib,
        config.alternates.timeout_seconds,
        config.alternates.reserved_concurrency,
    )
    mappings = [
        m["Properties"]
        for m in resources_by_id(resize, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": alternates_id}
    ]
    assert [m["EventSourceArn"] for m in mappings] == [{"Fn::GetAtt": [queue_id, "Arn"]}]
    assert mappings[0]["BatchSize"] == config.alternates.batch_size
    assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

    alarms = [
        a["Properties"]
        for a in resources_by_id(resize, "AWS::CloudWatch::Alarm").values()
        if {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}
        in a["Properties"].get("Dimensions", [])
    ]
    assert len(alarms) == 1 and alarms[0]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarms[0]["AlarmActions"] and alarms[0]["OKActions"]  # someone hears it


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_the_first_step_queues_alternates(templates: Templates, env: str) -> None:
    resize = templates[env]["Resize"]
    told = {
        kind: props["Environment"]["Variables"].get("ALTERNATES_QUEUE_URL")
        for kind, (_, props) in _functions(resize).items()
    }
    assert told["first"] is not None and "AlternatesQueue" in json.dumps(told["first"])
    assert told["reprocess"] is None and told["alternates"] is None
    # The second step reads originals (no version reads, no deletes of them) and never moderates.
    second = "ResizePipelineAlternatesFunctionServiceRole"
    assert role_actions(resize, second, "s3:") == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
    }
    assert role_actions(resize, second, "rekognition:") == set()
    assert "sqs:SendMessage" in role_actions(resize, "ResizePipelineFunctionServiceRole", "sqs:")
