"""Recorded calls against an environment's synthesized policies: which would be denied, which grants
no call needs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from local_runner.emulator import (
    ACCESS_KEY_ID,
    ALTERNATES_PRINCIPAL,
    API_PRINCIPAL,
    HOUSEKEEPING_PRINCIPAL,
    REPROCESS_PRINCIPAL,
    REPROCESSING_MAP_PRINCIPAL,
    WORKER_PRINCIPAL,
    LocalResources,
)
from photo_pipeline_cdk.binding import StackName, stack_name
from photo_pipeline_cdk.config import environment_config

from tests.permissions.policies import Statement, Templates, Verdict, evaluate, key_requests, load_templates
from tests.permissions.recorder import Call
from tests.permissions.requests import Place, Request, requests_for

SNAPSHOTS = Path(__file__).resolve().parents[1] / "stacks" / "snapshots"
# A stand-in account for environments whose config leaves it to the credentials (dev).
STAND_IN_ACCOUNT = "123456789012"
STAND_IN_REGION = "us-east-1"
# The API under Mangum, as the Lambda function runs it (the uvicorn server stands for the container).
API_FUNCTION_PRINCIPAL = "api-function"

# Who each local principal is in the templates (a role's logical id without CDK's hash). The API's code
# is one on both runtimes, so what either runtime calls is checked against both runtimes' roles.
_API_ROLES = ("UploadApiFunctionServiceRole", "UploadApiServiceTaskDefTaskRole")
ROLES_OF_PRINCIPAL: Mapping[str, tuple[str, ...]] = {
    API_PRINCIPAL: _API_ROLES,
    API_FUNCTION_PRINCIPAL: _API_ROLES,
    WORKER_PRINCIPAL: ("ResizePipelineFunctionServiceRole",),
    REPROCESS_PRINCIPAL: ("ResizePipelineReprocessFunctionServiceRole",),
    REPROCESSING_MAP_PRINCIPAL: ("ReprocessingStateMachineRole",),
    HOUSEKEEPING_PRINCIPAL: ("HousekeepingFunctionServiceRole",),
    ALTERNATES_PRINCIPAL: ("ResizePipelineAlternatesFunctionServiceRole",),
}


def principal_of(call: Call) -> str | None:
    """The local principal behind an access key id (None: the test harness, which stands for no role)."""
    prefix = f"{ACCESS_KEY_ID}-"
    return call.access_key.removeprefix(prefix) if call.access_key.startswith(prefix) else None


def place_of(env: str) -> Place:
    config = environment_config(env)
    return Place(account=config.account or STAND_IN_ACCOUNT, region=config.region or STAND_IN_REGION)


def local_names(resources: LocalResources) -> dict[str, str]:
    """The storage stack's outputs, as the local run named the resources behind them."""
    return {
        "UploadsBucketName": resources.uploads_bucket,
        "MediaBucketName": resources.media_bucket,
        "RegistryTableName": resources.registry_table,
        "UploadQuotaTableName": resources.quota_table,
        "EventBusName": resources.event_bus_name,
        "UploadEventsQueueArn": resources.queue_arn.rsplit(":", 1)[1],
        "UploadEventsDeadLetterQueueArn": resources.dead_letter_queue_url.rstrip("/").rsplit("/", 1)[1],
        "ReprocessingReports": resources.reports_bucket,  # the resize stack's, not an output
        "MediaDistributionId": resources.distribution_id,
        "HousekeepingQueueArn": resources.housekeeping_queue_arn.rsplit(":", 1)[1],
        "HousekeepingDeadLetterQueueArn": resources.housekeeping_dead_letter_queue_url.rstrip("/").rsplit(
            "/", 1
        )[1],
        # The resize stack's own (not outputs): the second step's queue and its dead letters.
        "ResizePipelineAlternatesQueue": resources.alternates_queue_arn.rsplit(":", 1)[1],
        "ResizePipelineAlternatesQueueDeadLetters": resources.alternates_dead_letter_queue_url.rstrip(
            "/"
        ).rsplit("/", 1)[1],
    }


def environment_templates(env: str, names_by_output: Mapping[str, str]) -> Templates:
    """The environment's snapshot templates with the storage stack's resources named as locally."""
    storage = json.loads((SNAPSHOTS / env / "Storage.template.json").read_text())
    resize = json.loads((SNAPSHOTS / env / "Resize.template.json").read_text())
    names: dict[tuple[str, str], str] = {
        ("Resize", logical_id): names_by_output["ReprocessingReports"]
        for logical_id, resource in resize["Resources"].items()
        if resource["Type"] == "AWS::S3::Bucket"
        and logical_id.startswith("ReprocessingReports")
        and "ReprocessingReports" in names_by_output
    }
    for prefix in ("ResizePipelineAlternatesQueueDeadLetters", "ResizePipelineAlternatesQueue"):
        for logical_id, resource in resize["Resources"].items():
            hashed = logical_id.removeprefix(prefix)
            if resource["Type"] == "AWS::SQS::Queue" and len(hashed) == 8 and prefix in names_by_output:
                names[("Resize", logical_id)] = names_by_output[prefix]
    for output, name in names_by_output.items():
        if output not in storage["Outputs"]:
            continue
        value = storage["Outputs"][output]["Value"]
        logical_id = value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]
        names[("Storage", logical_id)] = name
    config = environment_config(env)
    stack_names = {stack.value.title(): stack_name(config, stack) for stack in StackName}
    return load_templates(SNAPSHOTS / env, place_of(env), names, stack_names)


@dataclass(frozen=True)
class Check:
    principal: str
    role: str
    request: Request
    call: Call
    verdict: Verdict


def all_requests(templates: Templates, call: Call) -> list[Request]:
    direct = requests_for(call, templates.place)
    return [*direct, *(k for r in direct for k in key_requests(templates, r))]


def check_calls(
    templates: Templates, calls: Iterable[Call], identity: Mapping[str, list[Statement]] | None = None
) -> list[Check]:
    """Every recorded call of a known principal, against each of its roles present in the templates."""
    identity = identity if identity is not None else templates.identity
    seen: set[tuple[str, str, Request]] = set()
    checks: list[Check] = []
    for call in calls:
        principal = principal_of(call)
        if principal is None:
            continue
        for role in ROLES_OF_PRINCIPAL[principal]:
            if role not in templates.roles:
                continue  # e.g. dev has no Fargate service
            for request in all_requests(templates, call):
                if (principal, role, request) in seen:
                    continue
                seen.add((principal, role, request))
                verdict = evaluate(
                    templates, request, principal=templates.roles[role].arn, identity=identity.get(role, [])
                )
                checks.append(Check(principal, role, request, call, verdict))
    return checks


@dataclass(frozen=True)
class Grant:
    role: str
    action: str
    statement: Statement


def unused_grants(templates: Templates, checks: list[Check]) -> list[Grant]:
    """Each action of each identity statement removed in turn: the ones whose removal denies no call."""
    unused: list[Grant] = []
    for role, statements in templates.identity.items():
        for index, statement in enumerate(statements):
            if statement.effect != "Allow":
                continue
            users = [c for c in checks if c.role == role and statement.origin in c.verdict.allowed_by]
            for action in statement.actions:
                trimmed = [*statements[:index], statement.without(action), *statements[index + 1 :]]
                still = {role: trimmed}
                if not any(
                    not evaluate(
                        templates, c.request, principal=templates.roles[role].arn, identity=still[role]
                    ).allowed
                    for c in users
                ):
                    unused.append(Grant(role, action, statement))
    return unused


def describe(check: Check) -> str:
    return (
        f"{check.principal} as {check.role}: {check.call.service}.{check.call.operation} needs "
        f"{check.request.action} on {check.request.resource}"
        + (f" (denied by {', '.join(check.verdict.denied_by)})" if check.verdict.denied_by else "")
    )
