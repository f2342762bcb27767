"""The pre-sign-up trigger against moto's DynamoDB: the day's limit holds, administrators are not
counted, a new day opens again. (The count is one conditional write, atomic in DynamoDB; moto's
in-process tables are not atomic across threads, so the callers here take turns.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from photo_contract.runtime import QUOTA_TABLE_PARTITION_KEY
from resize_worker.signup_handler import DAY_SECONDS, SignUpLimit, SignUpsClosedError, handle

NOW = 1_796_600_000.0


@pytest.fixture
def limit() -> Iterator[SignUpLimit]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="quota",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": QUOTA_TABLE_PARTITION_KEY, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": QUOTA_TABLE_PARTITION_KEY, "KeyType": "HASH"}],
        )
        yield SignUpLimit(dynamodb, "quota", per_day=5)


def _event(source: str = "PreSignUp_SignUp") -> dict[str, Any]:
    return {
        "version": "1",
        "triggerSource": source,
        "userPoolId": "eu-west-1_example",
        "userName": "someone",
        "request": {"userAttributes": {"email": "someone@example.com"}},
        "response": {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False},
    }


def test_the_days_limit_holds(limit: SignUpLimit) -> None:
    def sign_up(_: int) -> bool:
        try:
            handle(_event(), limit, now=NOW + _)
        except SignUpsClosedError:
            return False
        return True

    admitted = [sign_up(i) for i in range(20)]
    assert admitted == [True] * 5 + [False] * 15
    assert handle(_event("PreSignUp_AdminCreateUser"), limit, now=NOW)["userName"] == "someone"
    assert handle(_event(), limit, now=NOW + DAY_SECONDS)["response"]["autoConfirmUser"] is False  # a new day
