"""Cognito's pre-sign-up trigger: at most ``SIGNUPS_PER_DAY`` self sign-ups a day (UTC), counted in the
upload-quota table by one conditional write, so unlimited new accounts cannot multiply the per-owner
upload quota. Administrators' own user creation is not counted. Shipped with the housekeeping package
(no image decoder); it reads its environment here and nowhere else."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from photo_contract.runtime import QUOTA_TABLE_PARTITION_KEY, QUOTA_TABLE_TTL_ATTRIBUTE

DAY_SECONDS = 24 * 3600
SELF_SIGN_UP = "PreSignUp_SignUp"  # the trigger source of a user signing themselves up
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 2})


class SignUpsClosedError(Exception):
    """Cognito shows the message to the caller: the day's sign-ups are used up."""


@dataclass(frozen=True)
class SignUpLimit:
    dynamodb: Any
    table: str
    per_day: int

    def admit(self, *, now: float) -> bool:
        day = int(now // DAY_SECONDS)
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={QUOTA_TABLE_PARTITION_KEY: {"S": f"signups#{day}"}},
                UpdateExpression="ADD admitted :one SET #ttl = :expires",
                ConditionExpression="attribute_not_exists(admitted) OR admitted < :limit",
                ExpressionAttributeNames={"#ttl": QUOTA_TABLE_TTL_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(self.per_day)},
                    ":expires": {"N": str((day + 2) * DAY_SECONDS)},
                },
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True


def handle(event: dict[str, Any], limit: SignUpLimit, *, now: float) -> dict[str, Any]:
    if event.get("triggerSource") == SELF_SIGN_UP and not limit.admit(now=now):
        raise SignUpsClosedError("sign-ups are closed for today: try again tomorrow")
    return event


_limit: SignUpLimit | None = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _limit
    if _limit is None:
        _limit = SignUpLimit(
            boto3.client("dynamodb", config=CLIENT_CONFIG),
            os.environ["QUOTA_TABLE"],
            int(os.environ["SIGNUPS_PER_DAY"]),
        )
    return handle(event, _limit, now=time.time())
