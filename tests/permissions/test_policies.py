"""The evaluator and the request mapping on small templates: each rule it applies can fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.permissions.policies import evaluate, key_requests, load_templates
from tests.permissions.recorder import Call
from tests.permissions.requests import Place, Request, requests_for

PLACE = Place(account="210987654321", region="eu-west-1")
ROLE = "arn:aws:iam::210987654321:role/app-role"


def _templates(
    tmp_path: Path, resources: dict[str, Any], names: dict[tuple[str, str], str] | None = None
) -> Any:
    (tmp_path / "App.template.json").write_text(json.dumps({"Resources": resources}))
    return load_templates(tmp_path, PLACE, names or {("App", "Role1234ABCD"): "app-role"})


def _role_with(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Role1234ABCD": {"Type": "AWS::IAM::Role", "Properties": {}},
        "Policy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "Roles": [{"Ref": "Role1234ABCD"}],
                "PolicyDocument": {"Statement": list(statements)},
            },
        },
    }


def _allowed(templates: Any, request: Request) -> bool:
    return evaluate(templates, request, principal=ROLE, identity=templates.identity["Role"]).allowed


def test_a_query_on_an_index_is_authorized_against_the_index_arn() -> None:
    call = Call("k", "dynamodb", "Query", {"TableName": "images", "IndexName": "batch"})
    (request,) = requests_for(call, PLACE)
    assert request == Request(
        "dynamodb:Query", "arn:aws:dynamodb:eu-west-1:210987654321:table/images/index/batch"
    )
    (on_table,) = requests_for(Call("k", "dynamodb", "Query", {"TableName": "images"}), PLACE)
    assert on_table.resource.endswith(":table/images")


def test_a_transaction_is_each_items_action_and_a_versioned_read_its_own_action() -> None:
    items = [{"Put": {"TableName": "a"}}, {"ConditionCheck": {"TableName": "b"}}]
    actions = [
        (r.action, r.resource.rsplit("/", 1)[1])
        for r in requests_for(Call("k", "dynamodb", "TransactWriteItems", {"TransactItems": items}), PLACE)
    ]
    assert actions == [("dynamodb:PutItem", "a"), ("dynamodb:ConditionCheckItem", "b")]
    (head,) = requests_for(
        Call("k", "s3", "HeadObject", {"Bucket": "b", "Key": "k/1", "VersionId": "v"}), PLACE
    )
    assert head == Request("s3:GetObjectVersion", "arn:aws:s3:::b/k/1")
    (listing,) = requests_for(
        Call("k", "s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "uploads/x/"}), PLACE
    )
    assert (listing.action, listing.resource, listing.context) == (
        "s3:ListBucket",
        "arn:aws:s3:::b",
        {"s3:prefix": "uploads/x/"},
    )


def test_a_table_grant_does_not_cover_its_index(tmp_path: Path) -> None:
    table = "arn:aws:dynamodb:eu-west-1:210987654321:table/images"
    templates = _templates(
        tmp_path, _role_with({"Effect": "Allow", "Action": "dynamodb:Query", "Resource": table})
    )
    assert _allowed(templates, Request("dynamodb:Query", table))
    assert not _allowed(templates, Request("dynamodb:Query", f"{table}/index/batch"))


def test_s3_prefix_conditions_are_evaluated(tmp_path: Path) -> None:
    statement = {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::b",
        "Condition": {"StringLike": {"s3:prefix": ["images/*"]}},
    }
    templates = _templates(tmp_path, _role_with(statement))
    assert _allowed(templates, Request("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "images/a/"}))
    assert not _allowed(templates, Request("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "uploads/a/"}))
    assert not _allowed(templates, Request("s3:ListBucket", "arn:aws:s3:::b"))  # no prefix: no match


def test_an_explicit_deny_in_a_resource_policy_wins(tmp_path: Path) -> None:
    resources = _role_with({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    resources["BucketPolicy"] = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": "b",
            "PolicyDocument": {
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": "s3:*",
                        "Resource": "arn:aws:s3:::b/*",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": "s3:DeleteObject",
                        "Resource": "arn:aws:s3:::b/*",
                    },
                ]
            },
        },
    }
    templates = _templates(tmp_path, resources)
    assert _allowed(
        templates, Request("s3:GetObject", "arn:aws:s3:::b/k")
    )  # over TLS: the first deny does not apply
    verdict = evaluate(
        templates,
        Request("s3:DeleteObject", "arn:aws:s3:::b/k"),
        principal=ROLE,
        identity=templates.identity["Role"],
    )
    assert not verdict.allowed and verdict.denied_by == ["App/BucketPolicy#1"]


def test_an_unknown_condition_key_is_reported_and_grants_nothing(tmp_path: Path) -> None:
    statement = {
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestTag/x": "y"}},
    }
    templates = _templates(tmp_path, _role_with(statement))
    verdict = evaluate(
        templates,
        Request("sqs:SendMessage", "arn:aws:sqs:eu-west-1:210987654321:q"),
        principal=ROLE,
        identity=templates.identity["Role"],
    )
    assert not verdict.allowed and verdict.not_evaluated == {"aws:requesttag/x"}


@pytest.mark.parametrize("key_policy_names", ["role", "account", "nobody"])
def test_an_sse_kms_bucket_needs_the_key_and_its_policy(tmp_path: Path, key_policy_names: str) -> None:
    principal = {
        "role": {"AWS": ROLE},
        "account": {"AWS": "arn:aws:iam::210987654321:root"},
        "nobody": {"AWS": "arn:aws:iam::999999999999:root"},
    }
    resources = _role_with(
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": "*"},
    )
    resources["Key"] = {
        "Type": "AWS::KMS::Key",
        "Properties": {
            "KeyPolicy": {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": principal[key_policy_names],
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                ]
            }
        },
    }
    resources["Bucket"] = {
        "Type": "AWS::S3::Bucket",
        "Properties": {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "ServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]},
                        }
                    }
                ]
            }
        },
    }
    templates = _templates(
        tmp_path,
        resources,
        {("App", "Role1234ABCD"): "app-role", ("App", "Bucket"): "b", ("App", "Key"): "k1"},
    )
    (key_use,) = key_requests(templates, Request("s3:PutObject", "arn:aws:s3:::b/x"))
    assert key_use == Request("kms:GenerateDataKey", "arn:aws:kms:eu-west-1:210987654321:key/k1")
    assert _allowed(templates, key_use) is (key_policy_names != "nobody")
