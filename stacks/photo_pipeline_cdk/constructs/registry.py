"""The image registry (one DynamoDB item per image, ``photo_contract.registry`` owns its layout) and the
EventBridge bus its transitions are announced on."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct
from photo_contract.events import EVENT_SOURCE
from photo_contract.registry import (
    BATCH_INDEX,
    BATCH_KEY,
    CONTENT_INDEX,
    CONTENT_KEY,
    CONTENT_PROJECTION,
    HELD_INDEX,
    HELD_KEY,
    OUTBOX_INDEX,
    OUTBOX_KEY,
    OUTBOX_SORT_KEY,
    PARTITION_KEY,
    SORT_KEY,
    TTL_ATTRIBUTE,
)

EVENT_ARCHIVE_DAYS = 7


class ImageRegistry(Construct):
    """On-demand table with point-in-time recovery, a KMS (AWS-managed) key, TTL for pending and deleted
    items, and the batch index; the bus with an archive (a consumer that was down can replay the last
    week) and a policy that admits only this account. Exposes ``.table`` and ``.bus``; grant with
    ``grant_api``/``grant_worker``.

    :param retain: keep the table (with deletion protection) when the stack is deleted (prod).
    :param publisher_role_prefix: only roles whose names start with it may put events on the bus (the
        project's stacks' prefix, e.g. ``photo-pipeline-prod-``), so a consumer trusts the source; None:
        any principal of the account.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus_name: str,
        retain: bool = False,
        publisher_role_prefix: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = self._build_table(retain)
        self.bus = self._build_bus(bus_name, publisher_role_prefix)

    def _build_table(self, retain: bool) -> dynamodb.TableV2:
        string = dynamodb.AttributeType.STRING
        return dynamodb.TableV2(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=string),
            sort_key=dynamodb.Attribute(name=SORT_KEY, type=string),
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=TTL_ATTRIBUTE,
            deletion_protection=retain,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=BATCH_INDEX,
                    partition_key=dynamodb.Attribute(name=BATCH_KEY, type=string),
                    sort_key=dynamodb.Attribute(name=SORT_KEY, type=string),
                    projection_type=dynamodb.ProjectionType.ALL,
                ),
                # Sparse: only items whose event is unsent carry its key (the outbox sweeper's read).
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=OUTBOX_INDEX,
                    partition_key=dynamodb.Attribute(name=OUTBOX_KEY, type=string),
                    sort_key=dynamodb.Attribute(name=OUTBOX_SORT_KEY, type=string),
                    projection_type=dynamodb.ProjectionType.ALL,
                ),
                # Sparse: only held images carry its key (the moderators' queue, oldest first).
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=HELD_INDEX,
                    partition_key=dynamodb.Attribute(name=HELD_KEY, type=string),
                    sort_key=dynamodb.Attribute(name=OUTBOX_SORT_KEY, type=string),
                    projection_type=dynamodb.ProjectionType.ALL,
                ),
                # Sparse: live images whose upload declared its MD5 (a re-post is copied, not uploaded);
                # only what names the original, so the index costs a fraction of the table's storage.
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=CONTENT_INDEX,
                    partition_key=dynamodb.Attribute(name=CONTENT_KEY, type=string),
                    sort_key=dynamodb.Attribute(name=SORT_KEY, type=string),
                    projection_type=dynamodb.ProjectionType.INCLUDE,
                    non_key_attributes=list(CONTENT_PROJECTION),
                ),
            ],
        )

    def _build_bus(self, bus_name: str, publisher_role_prefix: str | None) -> events.EventBus:
        bus = events.EventBus(self, "Bus", event_bus_name=bus_name)
        bus.archive(
            "Archive",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE]),
            retention=Duration.days(EVENT_ARCHIVE_DAYS),
            description="photo-pipeline image events, for replay to a consumer that missed them",
        )
        bus.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyThisAccountPublishes",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["events:PutEvents"],
                resources=[bus.event_bus_arn],
                conditions={"StringNotEquals": {"aws:PrincipalAccount": bus.env.account}},
            )
        )
        if publisher_role_prefix is not None:
            # Not any principal of the account either: only the project's roles, whose generated names
            # begin with their stack's (CloudFormation names a role <stack>-<logical id>-<suffix>).
            bus.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="OnlyTheProjectsRolesPublish",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["events:PutEvents"],
                    resources=[bus.event_bus_arn],
                    conditions={
                        "ArnNotLike": {
                            "aws:PrincipalArn": f"arn:{Aws.PARTITION}:iam::{bus.env.account}:role/{publisher_role_prefix}*"
                        }
                    },
                )
            )
        return bus


def grant_registry_api(grantee: iam.IGrantable, table: dynamodb.ITableV2, bus: events.IEventBus) -> None:
    """Reads, the pending batch (a transaction of puts) and the tombstone updates: no DeleteItem. A query
    of the batch index is authorized against the index's own ARN, which a grant on the table omits."""
    table.grant(grantee, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
    iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["dynamodb:Query"],
        resource_arns=[
            table.table_arn,
            f"{table.table_arn}/index/{BATCH_INDEX}",
            f"{table.table_arn}/index/{HELD_INDEX}",
            f"{table.table_arn}/index/{CONTENT_INDEX}",
        ],
    )
    bus.grant_put_events_to(grantee)


def grant_registry_worker(grantee: iam.IGrantable, table: dynamodb.ITableV2, bus: events.IEventBus) -> None:
    """One read and conditional updates: the worker can neither create nor delete a record."""
    table.grant(grantee, "dynamodb:GetItem", "dynamodb:UpdateItem")
    bus.grant_put_events_to(grantee)


def grant_registry_housekeeping(
    grantee: iam.IGrantable, table: dynamodb.ITableV2, bus: events.IEventBus
) -> None:
    """Reads, the erasure job's put, tombstone updates, owner pages and the outbox index: no DeleteItem."""
    table.grant(grantee, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
    iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["dynamodb:Query"],
        resource_arns=[table.table_arn, f"{table.table_arn}/index/{OUTBOX_INDEX}"],
    )
    bus.grant_put_events_to(grantee)
