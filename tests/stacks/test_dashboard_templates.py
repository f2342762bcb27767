"""The dashboard as synthesized, per environment: it exists, it references the resources the other stacks
made (through their exports, never a typed name), and the graphs of alarmed metrics draw the alarms'
own thresholds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from photo_ops.dashboard_picture import dashboard_body, widgets
from photo_pipeline_cdk.config import ENVIRONMENTS

pytestmark = pytest.mark.slow  # reads the templates of a full synth

Templates = dict[str, dict[str, dict[str, Any]]]
ENVS = ["dev", "staging", "prod"]


def _imports(template: dict[str, Any]) -> str:
    (dashboard,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    return json.dumps(dashboard["Properties"]["DashboardBody"])


@pytest.mark.parametrize("env", ENVS)
def test_the_dashboard_watches_every_part_of_the_pipeline(templates: Templates, env: str) -> None:
    operations = templates[env]["Operations"]
    body = _imports(operations)
    prefix = ENVIRONMENTS[env].stack_prefix
    # Each part, by the named export of the stack that made it.
    for export in [
        "api-HttpApiId",
        "resize-ResizeFunctionName",
        "storage-UploadEventsQueueArn",
        "storage-UploadEventsDeadLetterQueueArn",
        "storage-RegistryTableName",
        "storage-MediaDistributionId",
    ]:
        assert f'"Fn::ImportValue": "{prefix}-{export}"' in body, export
    fargate = ENVIRONMENTS[env].api.fargate.enabled
    assert (f"{prefix}-service-LoadBalancerFullName" in body) == fargate  # the Fargate row only where it runs
    titles = {w.title for w in widgets(dashboard_body(operations))}
    assert {
        "Requests",
        "4xx / 5xx",
        "Latency p50 / p99 (ms)",
        "Rejections by reason",
        "Resize ms p50 / p99",
    } <= titles
    assert {"Age of oldest message (s)", "Dead letters", "Registry throttled requests", "Bytes out"} <= titles
    assert ("Tasks: CPU %, memory %, running" in titles) == fargate


@pytest.mark.parametrize("env", ENVS)
def test_alarmed_graphs_draw_the_alarms_thresholds(templates: Templates, env: str) -> None:
    thresholds = {
        r["Properties"].get("MetricName"): r["Properties"]["Threshold"]
        for t in templates[env].values()
        for r in t["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    body = dashboard_body(templates[env]["Operations"])
    drawn = {
        w["properties"]["title"]: [
            a["value"] for a in w["properties"].get("annotations", {}).get("horizontal", [])
        ]
        for w in body["widgets"]
        if w["type"] == "metric"
    }
    assert thresholds["ApproximateAgeOfOldestMessage"] > 0
    assert drawn["Age of oldest message (s)"] == [thresholds["ApproximateAgeOfOldestMessage"]]
    assert (
        drawn["Dead letters"] == [0]
        and drawn["Errors"] == [0]
        and drawn["Core failures (a bug to read)"] == [0]
    )
    assert drawn["Concurrent executions"] == [ENVIRONMENTS[env].resize.reserved_concurrency]
