"""Originals as synthesized: no role that decodes an original's bytes may delete its versions (an
exploit in a decoder must not be able to destroy every user's originals), the ones that may never
parse bytes, and the uploads bucket's lifecycle expires what the housekeeping function tags."""

from __future__ import annotations

import json
from typing import Any

import pytest
from photo_contract.runtime import DISCARD_TAG, REJECTED_ORIGINAL_DAYS
from photo_pipeline_cdk.config import environment_config

from tests.stacks.conftest import ENVIRONMENTS
from tests.stacks.templates import as_list, resources, resources_by_id

pytestmark = pytest.mark.slow  # reads the templates of a full synth

Templates = dict[str, dict[str, dict[str, Any]]]
READS = {"s3:GetObject", "s3:GetObjectVersion", "s3:GetObject*", "s3:*", "*"}
DELETES = {"s3:DeleteObjectVersion", "s3:DeleteObject*", "s3:*", "*"}


def _on_originals(resource: Any) -> bool:
    """An object ARN of the uploads bucket (imported by name, or the bucket itself in the storage stack)."""
    text = json.dumps(resource)
    bucket = "UploadsBucketName" in text or "BucketsUploads" in text
    return bucket and ("/uploads/*" in text or text.endswith('/*"]}') or '"/*"' in text)


def _role_actions_on_originals(templates: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    by_role: dict[str, set[str]] = {}
    for stack, template in templates.items():
        for policy in resources(template, "AWS::IAM::Policy"):
            roles = [f"{stack}/{r['Ref']}" for r in policy["Properties"].get("Roles", [])]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if statement["Effect"] != "Allow":
                    continue
                targets = statement["Resource"]
                if not any(_on_originals(r) for r in (targets if isinstance(targets, list) else [targets])):
                    continue
                for role in roles:
                    by_role.setdefault(role, set()).update(as_list(statement["Action"]))
    return by_role


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_role_that_reads_originals_may_delete_their_versions(templates: Templates, env: str) -> None:
    by_role = _role_actions_on_originals(templates[env])
    readers = {role for role, acts in by_role.items() if acts & READS}
    deleters = {role for role, acts in by_role.items() if acts & DELETES}
    assert readers, "the worker reads originals: the check must see it"
    assert deleters, "the API and housekeeping delete originals: the check must see them"
    # The decoders (worker, reprocess) read originals; so does the API, which copies one inside S3 for
    # a re-post and HEADs them for a retry, but never has the bytes in hand, let alone decodes them.
    decoders = {role for role in readers if "ResizePipeline" in role}
    assert decoders and not decoders & deleters, f"decoders that may delete originals in {env}"
    assert all(role.startswith(("Api/", "Service/")) for role in readers - decoders), readers - decoders
    assert any("Housekeeping" in role for role in deleters)
    assert not any("ResizePipeline" in role for role in deleters)  # the worker and reprocess decode


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_housekeeping_function_carries_no_decoder(templates: Templates, env: str) -> None:
    functions = resources_by_id(templates[env]["Resize"], "AWS::Lambda::Function")
    (housekeeping,) = [f for i, f in functions.items() if i.startswith("Housekeeping")]
    assert "Layers" not in housekeeping["Properties"]  # the Pillow layer is the worker's alone
    assert housekeeping["Properties"]["Handler"] == "resize_worker.housekeeping_handler.lambda_handler"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tagged_rejected_originals_expire(templates: Templates, env: str) -> None:
    uploads = [
        b
        for i, b in resources_by_id(templates[env]["Storage"], "AWS::S3::Bucket").items()
        if i.startswith("BucketsUploads")
    ]
    (bucket,) = uploads
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    rejected = rules["RejectedOriginals"]
    assert rejected["TagFilters"] == [{"Key": DISCARD_TAG[0], "Value": DISCARD_TAG[1]}]
    assert rejected["ExpirationInDays"] == REJECTED_ORIGINAL_DAYS
    assert rejected["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_originals_move_to_glacier_instant_retrieval_where_config_says(
    templates: Templates, env: str
) -> None:
    transition = environment_config(env).originals_transition
    rules = {
        rule.get("Id", ""): rule
        for bucket in resources(templates[env]["Storage"], "AWS::S3::Bucket")
        for rule in bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
    }
    if transition is None:
        assert "OriginalsTransition" not in rules
        return
    rule = rules["OriginalsTransition"]
    assert rule["Prefix"] == "uploads/"
    assert rule["Transitions"] == [
        {"StorageClass": transition.storage_class.value, "TransitionInDays": transition.after_days}
    ]
    assert env != "prod" or rule["Transitions"][0]["StorageClass"] == "GLACIER_IR"
