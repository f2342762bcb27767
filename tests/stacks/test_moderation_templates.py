"""Moderation as synthesized: only the live resize function's role may call Rekognition (where the
environment moderates at all), no distribution may read the held prefix, and the moderators group the
review calls check exists in the user pool the API trusts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from photo_contract import HELD_PREFIX
from photo_contract.moderation import MODERATORS_GROUP
from photo_pipeline_cdk.config import environment_config

from tests.stacks.conftest import ENVIRONMENTS
from tests.stacks.templates import as_list, resources, resources_by_id

pytestmark = pytest.mark.slow  # reads the templates of a full synth

Templates = dict[str, dict[str, dict[str, Any]]]


def _roles_with(templates: dict[str, dict[str, Any]], service: str) -> set[str]:
    found = set()
    for stack, template in templates.items():
        for policy in resources(template, "AWS::IAM::Policy"):
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if statement["Effect"] == "Allow" and any(
                    a.startswith(f"{service}:") or a == "*" for a in as_list(statement["Action"])
                ):
                    found |= {f"{stack}/{r['Ref']}" for r in policy["Properties"].get("Roles", [])}
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_the_workers_role_may_moderate(templates: Templates, env: str) -> None:
    moderating = _roles_with(templates[env], "rekognition")
    if not environment_config(env).resize.moderation.enabled:
        assert moderating == set()
        return
    assert env in ("staging", "prod")
    (role,) = moderating  # one role: not the reprocess function's, not the API's, not housekeeping's
    functions = resources_by_id(templates[env]["Resize"], "AWS::Lambda::Function")
    worker = [f for i, f in functions.items() if i.startswith("ResizePipelineFunction")]
    (function,) = worker
    assert role == f"Resize/{function['Properties']['Role']['Fn::GetAtt'][0]}"
    statements = [
        s
        for p in resources(templates[env]["Resize"], "AWS::IAM::Policy")
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if any(a.startswith("rekognition:") for a in as_list(s["Action"]))
    ]
    granted = {a for s in statements for a in as_list(s["Action"]) if a.startswith("rekognition:")}
    assert granted == {"rekognition:DetectModerationLabels"}  # not rekognition:*, nothing else of it


def test_moderation_is_on_in_staging_and_prod_only() -> None:
    assert {env: environment_config(env).resize.moderation.enabled for env in ENVIRONMENTS} == {
        "dev": False,
        "staging": True,
        "prod": True,
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_distribution_may_read_held_images(templates: Templates, env: str) -> None:
    policies = resources(templates[env]["Storage"], "AWS::S3::BucketPolicy")
    media = [p for p in policies if "CdnNeverServesHeldImages" in json.dumps(p)]
    (policy,) = media
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in statements if s.get("Sid") == "CdnNeverServesHeldImages"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert deny["Action"] == "s3:GetObject"
    assert json.dumps(deny["Resource"]).endswith(f'"/{HELD_PREFIX}*"]]}}')
    # The same bucket's OAC allow covers every key: the deny is what keeps held/ out.
    allows = [s for s in statements if s["Effect"] == "Allow" and s.get("Principal") == deny["Principal"]]
    assert allows and all(json.dumps(s["Resource"]).endswith('"/*"]]}') for s in allows)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_moderators_group_exists_in_the_user_pool(templates: Templates, env: str) -> None:
    groups = resources(templates[env]["Storage"], "AWS::Cognito::UserPoolGroup")
    assert [g["Properties"]["GroupName"] for g in groups] == [MODERATORS_GROUP]
