"""The per-owner upload-form counters both API runtimes share (``upload_api.quota`` writes them)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct
from photo_contract.runtime import QUOTA_TABLE_PARTITION_KEY, QUOTA_TABLE_TTL_ATTRIBUTE

from photo_pipeline_cdk.nag import acknowledge


class UploadQuotaTable(Construct):
    """On-demand, one item per owner and minute, expired by TTL. Counters a minute old are worthless, so
    the table is neither backed up nor retained. Exposes ``.table``; grant with ``grant_count``."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.TableV2(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name=QUOTA_TABLE_PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            billing=dynamodb.Billing.on_demand(),
            time_to_live_attribute=QUOTA_TABLE_TTL_ATTRIBUTE,
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.table,
            **{"AwsSolutions-DDB3": "Minute counters expire within two minutes: nothing to recover."},
        )

    def grant_count(self, grantee: iam.IGrantable) -> None:
        """The one action the API needs: a conditional UpdateItem on a counter."""
        grant_quota_count(grantee, self.table)


def grant_quota_count(grantee: iam.IGrantable, table: dynamodb.ITableV2) -> None:
    """What ``UploadQuotaTable.grant_count`` grants, on the table as another stack imported it."""
    table.grant(grantee, "dynamodb:UpdateItem")
