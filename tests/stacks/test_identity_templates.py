"""The user pool as synthesized: self sign-up is capped per day by a pre-sign-up trigger that may only
count in the upload-quota table."""

from __future__ import annotations

import json
from typing import Any

import pytest
from photo_pipeline_cdk.config import environment_config

from tests.stacks.conftest import ENVIRONMENTS
from tests.stacks.templates import resources_by_id

pytestmark = pytest.mark.slow  # reads the templates of a full synth

Templates = dict[str, dict[str, dict[str, Any]]]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_self_sign_up_is_capped_per_day(templates: Templates, env: str) -> None:
    storage = templates[env]["Storage"]
    (pool,) = resources_by_id(storage, "AWS::Cognito::UserPool").values()
    trigger = pool["Properties"]["LambdaConfig"]["PreSignUp"]
    (function_id,) = trigger["Fn::GetAtt"][:1]
    function = resources_by_id(storage, "AWS::Lambda::Function")[function_id]["Properties"]
    assert function["Handler"] == "resize_worker.signup_handler.lambda_handler"
    per_day = environment_config(env).api.signups_per_day
    assert function["Environment"]["Variables"]["SIGNUPS_PER_DAY"] == str(per_day)
    assert "Layers" not in function  # no decoder in it
    role = function["Role"]["Fn::GetAtt"][0]
    statements = [
        s
        for p in resources_by_id(storage, "AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    dynamo = [s for s in statements if "dynamodb" in json.dumps(s["Action"])]
    assert [s["Action"] for s in dynamo] == ["dynamodb:UpdateItem"]
    assert "UploadQuota" in json.dumps(dynamo[0]["Resource"])
    permissions = [
        p["Properties"]
        for p in resources_by_id(storage, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "cognito-idp.amazonaws.com"
    ]
    assert [p["SourceArn"] for p in permissions] == [
        {"Fn::GetAtt": [next(iter(resources_by_id(storage, "AWS::Cognito::UserPool"))), "Arn"]}
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_user_pool_names_its_feature_plan(templates: Templates, env: str) -> None:
    """Explicit, from config: a pool without one is billed as Essentials (make cost, identity)."""
    (pool,) = resources_by_id(templates[env]["Storage"], "AWS::Cognito::UserPool").values()
    assert pool["Properties"]["UserPoolTier"] == environment_config(env).api.cognito_plan.value == "LITE"
