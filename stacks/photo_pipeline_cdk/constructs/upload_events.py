"""S3 upload events, buffered: bucket notification → encrypted queue → dead-letter queue + alarm."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from photo_contract import UPLOADS_PREFIX
from photo_contract.runtime import DEAD_LETTER_RETENTION_DAYS, UPLOAD_QUEUE_RETENTION_DAYS

from photo_pipeline_cdk.constructs.alarms import alarm_above_zero
from photo_pipeline_cdk.nag import acknowledge

MIN_MAX_RECEIVE_COUNT = 5


def queue_with_dead_letters(
    scope: Construct,
    *,
    visibility_timeout_seconds: int,
    retention_days: int,
    max_receive_count: int,
    retain: bool,
) -> tuple[sqs.Queue, sqs.Queue]:
    """``scope``/Queue and ``scope``/DeadLetters: both SQS-encrypted and TLS-only, the DLQ after
    ``max_receive_count`` receives, kept 14 days (``DEAD_LETTER_RETENTION_DAYS``)."""
    removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
    dead_letters = sqs.Queue(
        scope,
        "DeadLetters",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(DEAD_LETTER_RETENTION_DAYS),
        removal_policy=removal,
    )
    acknowledge(
        dead_letters,
        **{
            "AwsSolutions-SQS3": "This queue is the dead-letter queue.",
            "Serverless-SQSRedrivePolicy": "This queue is the dead-letter queue.",
        },
    )
    queue = sqs.Queue(
        scope,
        "Queue",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        visibility_timeout=Duration.seconds(visibility_timeout_seconds),
        retention_period=Duration.days(retention_days),
        removal_policy=removal,
        dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=max_receive_count, queue=dead_letters),
    )
    return queue, dead_letters


class UploadEvents(Construct):
    """A new SQS-encrypted, TLS-only queue fed by ``ObjectCreated`` events under ``uploads/`` only,
    with a dead-letter queue after ``max_receive_count`` receives and an alarm when the DLQ holds
    anything.

    :param visibility_timeout_seconds: at least 6x the consumer's timeout (AWS's guidance for Lambda).
    :param max_message_age_seconds: an alarm fires when the oldest waiting event is older than this
        (default 15 minutes): a stalled worker is noticed long before events expire (4 days).
    :param retain: keep both queues when the stack is deleted (prod: a backlog is data).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        uploads_bucket: s3.IBucket,
        visibility_timeout_seconds: int,
        max_receive_count: int = MIN_MAX_RECEIVE_COUNT,
        max_message_age_seconds: int = 900,
        retain: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        if max_receive_count < MIN_MAX_RECEIVE_COUNT:
            raise ValueError(
                f"max_receive_count must be at least {MIN_MAX_RECEIVE_COUNT}, got {max_receive_count}"
            )
        self.queue, self.dead_letter_queue = queue_with_dead_letters(
            self,
            visibility_timeout_seconds=visibility_timeout_seconds,
            retention_days=UPLOAD_QUEUE_RETENTION_DAYS,
            max_receive_count=max_receive_count,
            retain=retain,
        )
        uploads_bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.queue),
            s3.NotificationKeyFilter(prefix=UPLOADS_PREFIX),
        )
        # The notification's allow names the bucket's ARN only; bucket names are global, so S3 acting for
        # another account is refused too (confused-deputy protection, S3's notification guide).
        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyThisAccountsBucketNotifies",
                effect=iam.Effect.DENY,
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
                conditions={"StringNotEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        self.dead_letter_alarm = alarm_above_zero(
            self,
            "DeadLettersAlarm",
            "Upload events failed every retry and wait in the dead-letter queue.",
            self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
        )
        self.oldest_message_alarm = cloudwatch.Alarm(
            self,
            "OldestMessageAlarm",
            alarm_description="Upload events wait longer than they should: is the resize worker stalled?",
            metric=self.queue.metric_approximate_age_of_oldest_message(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            threshold=max_message_age_seconds,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=3,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
