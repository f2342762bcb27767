"""The one alarm shape the stacks use: anything above zero is worth a look."""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from aws_cdk import Aws, Duration, IAspect, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from photo_pipeline_cdk.nag import acknowledge


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


class AlarmTopic(Construct):
    """The environment's alarm topic: SNS, TLS-only, encrypted with a customer-managed key, with an email
    subscription per address and, optionally, an HTTPS webhook (a chat integration). Exposes ``.topic``
    and ``.key``. CloudWatch can publish an alarm only to a topic whose key policy lets
    ``cloudwatch.amazonaws.com`` use the key (the AWS-managed ``alias/aws/sns`` cannot be granted) and
    whose topic policy allows it; both are limited to this account's alarms.

    :param emails: who is told; at least one address or a webhook is required, so no alarm goes nowhere.
    :param webhook_url: an ``https://`` endpoint that receives the SNS notifications.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, emails: Sequence[str], webhook_url: str | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        if not emails and not webhook_url:
            raise ValueError("an alarm topic needs at least one email address or a webhook: got neither")
        if webhook_url is not None and not webhook_url.startswith("https://"):
            raise ValueError(f"the alarm webhook must be https://, got {webhook_url!r}")
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the alarm notifications; CloudWatch alarms of this account may use it",
            enable_key_rotation=True,
            # Nothing is kept under this key: notifications are delivered and gone.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        self.topic = sns.Topic(self, "Topic", master_key=self.key, enforce_ssl=True)
        account, region = Stack.of(self).account, Stack.of(self).region
        from_this_accounts_alarms = {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{region}:{account}:alarm:*"},
        }
        cloudwatch_service = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[cloudwatch_service],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions=from_this_accounts_alarms,
            )
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[cloudwatch_service],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=from_this_accounts_alarms,
            )
        )
        # Stable IDs (Email1, Email2, Webhook): an address must not become a logical ID.
        endpoints = [(f"Email{i}", sns.SubscriptionProtocol.EMAIL, e) for i, e in enumerate(emails, 1)]
        if webhook_url:
            endpoints.append(("Webhook", sns.SubscriptionProtocol.HTTPS, webhook_url))
        for construct_id_, protocol, endpoint in endpoints:
            subscription = sns.Subscription(
                self, construct_id_, topic=self.topic, protocol=protocol, endpoint=endpoint
            )
            acknowledge(
                subscription,
                **{
                    "Serverless-SNSRedrivePolicy": (
                        "An alarm notification nobody received has no consumer to replay it to; SNS "
                        "retries delivery itself and the alarm stays in ALARM in CloudWatch."
                    )
                },
            )


@jsii.implements(IAspect)
class NotifyOnEveryAlarm:
    """An aspect: every CloudWatch alarm in its scope notifies ``topic_arn`` on ALARM and on OK, so an
    alarm added later cannot be forgotten."""

    def __init__(self, topic_arn: str) -> None:
        self._topic_arn = topic_arn

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, cloudwatch.CfnAlarm):
            node.alarm_actions = [self._topic_arn]
            node.ok_actions = [self._topic_arn]
