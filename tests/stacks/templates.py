"""Reading synthesized templates in tests: one home for what every template test needs."""

from __future__ import annotations

from typing import Any


def resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """Every resource of ``kind`` (``AWS::S3::Bucket``…)."""
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def resources_by_id(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Every resource of ``kind``, by logical id."""
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def logical_ids(template: dict[str, Any], kind: str) -> list[str]:
    return list(resources_by_id(template, kind))


def as_list(value: str | list[str]) -> list[str]:
    """A policy's Action or Resource, which may be one string."""
    return [value] if isinstance(value, str) else value


def actions(template: dict[str, Any], prefix: str) -> set[str]:
    """Every IAM action starting with ``prefix`` (``dynamodb:``) in the template's policies."""
    return {
        action
        for policy in resources(template, "AWS::IAM::Policy")
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in as_list(statement["Action"])
        if action.startswith(prefix)
    }


def role_actions(template: dict[str, Any], role_prefix: str, prefix: str) -> set[str]:
    """Like :func:`actions`, only in the policies attached to roles whose logical id starts with
    ``role_prefix`` (``ResizePipelineFunctionServiceRole``)."""
    return {
        action
        for policy in resources(template, "AWS::IAM::Policy")
        if any(role.get("Ref", "").startswith(role_prefix) for role in policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in as_list(statement["Action"])
        if action.startswith(prefix)
    }
