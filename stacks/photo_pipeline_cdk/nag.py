"""cdk-nag v3 through CDK's own policy-validation API: findings fail the synth unless acknowledged."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct


def add_nag_checks(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))


def acknowledge(construct: IConstruct, **reasons: str) -> None:
    """``acknowledge(fn, **{"AwsSolutions-L1": "why"})``: every finding named, each with its reason."""
    cdk.Validations.of(construct).acknowledge(
        *(cdk.Acknowledgment(id=_qualified(rule), reason=reason) for rule, reason in reasons.items())
    )


def acknowledge_python_function(function: IConstruct, *, python_version: str, **more: str) -> None:
    """What every function of ours answers the same way, plus its own ``more`` findings."""
    acknowledge(
        function,
        **{
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]": "Basic execution only writes the function's own logs.",
            "AwsSolutions-IAM5[Resource::*]": "X-Ray PutTraceSegments/PutTelemetryRecords take no resource.",
            "AwsSolutions-L1": f"Python {python_version}: the newest runtime the layer is verified on locally.",
            "Serverless-LambdaLatestVersion": f"Python {python_version}: the newest runtime verified locally.",
            **more,
        },
    )


def acknowledge_prefix_grants(construct: IConstruct, *resources: str, **more: str) -> None:
    """The IAM5 findings of grants on object prefixes (``grants.grant_object_actions``): each prefix by
    name. The actions are named one by one, so no action wildcard needs acknowledging."""
    why_prefix = "Object keys are server-chosen under this prefix; the grant is the prefix, no wider."
    acknowledge(
        construct,
        **{f"AwsSolutions-IAM5[Resource::{nag_resource(construct, arn)}]": why_prefix for arn in resources},
        **more,
    )


def _qualified(rule: str) -> str:
    pack = rule.split("-", 1)[0]
    return rule if "::" in rule else f"{pack}::{rule}"


def nag_resource(scope: IConstruct, value: str) -> str:
    """How cdk-nag spells a (tokenised) resource ARN in a finding ID, e.g. ``<BucketX.Arn>/uploads/*``.

    Resolved now, in ``scope``'s stack: right for a resource of that stack or one imported by export
    name, which is how our stacks pass resources across (see stacks.py).
    """
    return _render(cdk.Stack.of(scope).resolve(value))


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(_render(part) for part in parts)
        if function == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if function == "Ref":
            return f"<{argument}>"
        if function == "Fn::ImportValue":
            return _render(argument)
    raise ValueError(f"cannot spell {value!r} as cdk-nag does")
