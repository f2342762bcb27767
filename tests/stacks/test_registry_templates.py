"""The image registry and its bus as synthesized: table settings per environment, the bus, its archive
and policy, and what each role may do to the table."""

from __future__ import annotations

import json
from typing import Any

import pytest
from photo_contract.registry import (
    BATCH_INDEX,
    CONTENT_INDEX,
    CONTENT_KEY,
    CONTENT_PROJECTION,
    HELD_INDEX,
    HELD_KEY,
    OUTBOX_INDEX,
    TTL_ATTRIBUTE,
)

from tests.stacks.templates import actions, resources, role_actions

pytestmark = pytest.mark.slow  # reads the templates of a full synth

Templates = dict[str, dict[str, dict[str, Any]]]


def _registry(template: dict[str, Any]) -> dict[str, Any]:
    (table,) = [
        t
        for t in resources(template, "AWS::DynamoDB::GlobalTable")
        if "GlobalSecondaryIndexes" in t["Properties"]
    ]
    return table


@pytest.mark.parametrize(("env", "retained"), [("dev", False), ("staging", False), ("prod", True)])
def test_the_registry_table(templates: Templates, env: str, retained: bool) -> None:
    table = _registry(templates[env]["Storage"])
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    (replica,) = props["Replicas"]
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert replica.get("DeletionProtectionEnabled", False) is retained
    assert table["DeletionPolicy"] == ("Retain" if retained else "Delete")
    indexes = {i["IndexName"]: i for i in props["GlobalSecondaryIndexes"]}
    assert set(indexes) == {BATCH_INDEX, OUTBOX_INDEX, HELD_INDEX, CONTENT_INDEX}
    content = indexes[CONTENT_INDEX]
    assert content["KeySchema"][0] == {"AttributeName": CONTENT_KEY, "KeyType": "HASH"}
    # What names an original, not the receipt or the variants: a fraction of the table's bytes.
    assert content["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": list(CONTENT_PROJECTION),
    }
    # The moderators' queue: keyed on the attribute only held items carry (sparse).
    assert indexes[HELD_INDEX]["KeySchema"][0] == {"AttributeName": HELD_KEY, "KeyType": "HASH"}
    assert all(i["Projection"] == {"ProjectionType": "ALL"} for n, i in indexes.items() if n != CONTENT_INDEX)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_bus_has_an_archive_and_admits_only_its_account(templates: Templates, env: str) -> None:
    storage = templates[env]["Storage"]
    (bus,) = resources(storage, "AWS::Events::EventBus")
    assert bus["Properties"]["Name"] == f"photo-pipeline-{env}-images"
    (archive,) = resources(storage, "AWS::Events::Archive")
    assert archive["Properties"]["RetentionDays"] == 7
    assert json.loads(json.dumps(archive["Properties"]["EventPattern"]))["source"] == ["photo-pipeline"]
    policies = resources(storage, "AWS::Events::EventBusPolicy")
    statements = [p["Properties"]["Statement"] for p in policies]
    assert any(
        s["Effect"] == "Deny"
        and s["Action"] == "events:PutEvents"
        and "aws:PrincipalAccount" in json.dumps(s)
        for s in statements
    )


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_role_gets_only_its_registry_actions(templates: Templates, env: str) -> None:
    resize = templates[env]["Resize"]
    for decoder in ("ResizePipelineFunctionServiceRole", "ResizePipelineReprocessFunctionServiceRole"):
        # what parses bytes cannot create or delete a record
        assert role_actions(resize, decoder, "dynamodb:") == {"dynamodb:GetItem", "dynamodb:UpdateItem"}
    # housekeeping writes erasure jobs (PutItem) and pages an owner's items and the outbox (Query)
    housekeeping = role_actions(resize, "HousekeepingFunctionServiceRole", "dynamodb:")
    assert housekeeping == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}
    assert "dynamodb:DeleteItem" not in actions(resize, "dynamodb:")
    api = actions(templates[env]["Api"], "dynamodb:")
    assert api == {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"}
    assert "dynamodb:DeleteItem" not in api  # a delete is a tombstone update
    for stack in ("Resize", "Api"):
        assert actions(templates[env][stack], "events:") == {"events:PutEvents"}
