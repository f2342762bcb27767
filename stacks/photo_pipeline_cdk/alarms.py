"""The one alarm shape the stacks use: anything above zero is worth a look."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct


def alarm_above_zero(
    scope: Construct,
    construct_id: str,
    description: str,
    metric: cloudwatch.IMetric,
    *,
    evaluation_periods: int = 1,
) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_description=description,
        metric=metric,
        threshold=0,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=evaluation_periods,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
