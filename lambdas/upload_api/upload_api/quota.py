"""A per-owner cap on upload forms, shared by every Lambda instance and Fargate task.

A fixed one-minute window per owner in DynamoDB: one conditional ``UpdateItem`` adds the batch to the
window's count only if the result stays within the limit, so concurrent requests cannot overshoot it
(no read-modify-write). Items expire through the table's TTL. A window boundary can let through up to
twice the limit within a minute; that is the price of one write per request, and a limit is a brake
on scripts, not a billing meter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from photo_contract.runtime import QUOTA_TABLE_PARTITION_KEY as PARTITION_KEY
from photo_contract.runtime import QUOTA_TABLE_TTL_ATTRIBUTE as TTL_ATTRIBUTE

WINDOW_SECONDS = 60


class FormQuota(Protocol):
    def take(self, owner: str, count: int, *, now: float) -> float | None:
        """Reserve ``count`` forms for ``owner``: None if granted, else seconds until the next window."""
        ...


@dataclass(frozen=True)
class NoQuota:
    def take(self, owner: str, count: int, *, now: float) -> float | None:
        return None


@dataclass(frozen=True)
class DynamoFormQuota:
    dynamodb: Any  # a boto3 DynamoDB client
    table: str
    forms_per_minute: int

    def take(self, owner: str, count: int, *, now: float) -> float | None:
        window = int(now // WINDOW_SECONDS)
        retry_after = WINDOW_SECONDS - (now % WINDOW_SECONDS)
        if count > self.forms_per_minute:
            return retry_after
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={PARTITION_KEY: {"S": f"forms#{owner}#{window}"}},
                UpdateExpression="ADD issued :count SET #ttl = :expires",
                ConditionExpression="attribute_not_exists(issued) OR issued <= :room",
                ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":count": {"N": str(count)},
                    ":room": {"N": str(self.forms_per_minute - count)},
                    ":expires": {"N": str((window + 2) * WINDOW_SECONDS)},
                },
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return retry_after
        return None
