"""Reprocessing at scale: a Step Functions Distributed Map over a listing of the originals.

The items come from an S3 listing of ``uploads/`` (or one owner's ``uploads/<owner>/``), not from a
registry export: the listing is read by Step Functions itself, page by page, with no export job, no
extra copy and no lag, and the per-item code reads the registry record anyway (the "done" check needs
it). Each item is one invocation of the reprocess function (``ResizePipeline.reprocess_function``),
in Express child workflows; results go to a reports bucket of its own (``.reports_bucket``, kept 90
days), so the state machine's role can write nowhere near the originals.

Execution input: ``{"prefix": "uploads/", "before": "<ISO time or empty>", "dry_run": false}``
(``python -m photo_ops.reprocess`` builds it). Only principals given ``.operator_policy`` (or an
administrator's own ``states:*``) can start a run.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct, IConstruct
from photo_contract import UPLOADS_PREFIX
from photo_contract.keys import REPROCESS_REPORTS_PREFIX

from photo_pipeline_cdk.nag import acknowledge


class Reprocessing(Construct):
    """``.state_machine``: every listed original through ``function``, at most ``max_concurrency`` at
    once; the run fails when more than ``tolerated_failure_percentage`` of the items fail (after the
    task's own retries of Lambda's transient errors)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        uploads_bucket: s3.IBucket,
        max_concurrency: int,
        tolerated_failure_percentage: float,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        super().__init__(scope, construct_id)
        self.reports_bucket = self._build_reports_bucket()
        every_original = self._build_map(
            function, uploads_bucket, max_concurrency, tolerated_failure_percentage
        )
        self.state_machine = self._build_state_machine(self._gate(every_original), log_retention)
        self.operator_policy = self._build_operator_policy()
        self._acknowledge_findings(function)

    def _build_map(
        self,
        function: lambda_.IFunction,
        uploads_bucket: s3.IBucket,
        max_concurrency: int,
        tolerated_failure_percentage: float,
    ) -> sfn.DistributedMap:
        every_original = sfn.DistributedMap(
            self,
            "EveryOriginal",
            item_reader=sfn.S3ObjectsItemReader(
                bucket=uploads_bucket, prefix=sfn.JsonPath.string_at("$.prefix")
            ),
            item_selector={
                "item.$": "$$.Map.Item.Value",
                "bucket": uploads_bucket.bucket_name,
                "before.$": "$.before",
                "dry_run.$": "$.dry_run",
            },
            max_concurrency=max_concurrency,
            tolerated_failure_percentage=tolerated_failure_percentage,
            map_execution_type=sfn.StateMachineType.EXPRESS,
            result_writer_v2=sfn.ResultWriterV2(bucket=self.reports_bucket, prefix=REPROCESS_REPORTS_PREFIX),
        )
        process = tasks.LambdaInvoke(
            self,
            "ReprocessOneOriginal",
            lambda_function=function,
            payload_response_only=True,
            retry_on_service_exceptions=False,  # the retry below covers these and throttling
        )
        process.add_retry(
            errors=[
                "Lambda.TooManyRequestsException",
                "Lambda.ServiceException",
                "Lambda.SdkClientException",
            ],
            interval=Duration.seconds(2),
            max_attempts=4,
            backoff_rate=2,
        )
        every_original.item_processor(process)
        return every_original

    def _gate(self, every_original: sfn.DistributedMap) -> sfn.Choice:
        """Refuse an input ``make reprocess`` would not send (started from the console, or by a script)
        before a single original is listed: the prefix is all of uploads/ or one owner's folder, the
        flags have their types."""
        one_owner = sfn.Condition.and_(
            sfn.Condition.string_matches("$.prefix", "uploads/*/"),
            sfn.Condition.not_(sfn.Condition.string_matches("$.prefix", "uploads/*/*/")),
        )
        valid = sfn.Condition.and_(
            sfn.Condition.is_string("$.prefix"),
            sfn.Condition.or_(sfn.Condition.string_equals("$.prefix", UPLOADS_PREFIX), one_owner),
            sfn.Condition.is_string("$.before"),
            sfn.Condition.is_boolean("$.dry_run"),
        )
        refuse = sfn.Fail(
            self,
            "InvalidInput",
            error="InvalidInput",
            cause='expected {"prefix": "uploads/" or "uploads/<owner>/", "before": "<ISO time or empty>", '
            '"dry_run": true|false}',
        )
        return sfn.Choice(self, "ValidInput").when(valid, every_original).otherwise(refuse)

    def _build_reports_bucket(self) -> s3.Bucket:
        # Retained: a run's report outlives a stack rebuild; the objects expire on their own.
        return s3.Bucket(
            self,
            "Reports",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
        )

    def _build_state_machine(
        self, start: sfn.IChainable, log_retention: logs.RetentionDays
    ) -> sfn.StateMachine:
        log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)
        return sfn.StateMachine(
            self,
            "StateMachine",
            comment="photo-pipeline: re-make every original's variants with the current spec",
            definition_body=sfn.DefinitionBody.from_chainable(start),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL),
        )

    def _build_operator_policy(self) -> iam.ManagedPolicy:
        """Step Functions has no resource policy: who may start a run is decided by identity policies
        alone. This is the one the stacks make (attach it to your operators' role or group); no role
        of the stacks may start a run."""
        machine = self.state_machine
        executions = Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{machine.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        return iam.ManagedPolicy(
            self,
            "OperatorPolicy",
            description="photo-pipeline: start and follow reprocessing runs (make reprocess)",
            statements=[
                iam.PolicyStatement(actions=["states:StartExecution"], resources=[machine.state_machine_arn]),
                iam.PolicyStatement(
                    actions=["states:DescribeExecution", "states:StopExecution"], resources=[executions]
                ),
                iam.PolicyStatement(
                    actions=["s3:GetObject"],
                    resources=[self.reports_bucket.arn_for_objects(f"{REPROCESS_REPORTS_PREFIX}*")],
                ),
            ],
        )

    def _acknowledge_findings(self, function: lambda_.IFunction) -> None:
        acknowledge(
            self.reports_bucket,
            **{
                "AwsSolutions-S1": "Reports of reprocessing runs, written by Step Functions only; CloudTrail data events cover access if wanted."
            },
        )
        stack = Stack.of(self)

        def logical_id(construct: IConstruct) -> str:
            return str(stack.resolve(stack.get_logical_id(construct.node.default_child)))  # type: ignore[arg-type]

        # As cdk-nag renders the ARN: literal partition and region when the stack has a region.
        concrete = not Token.is_unresolved(stack.region)
        partition, region = ("aws", stack.region) if concrete else ("<AWS::Partition>", "<AWS::Region>")
        executions = (
            f"arn:{partition}:states:{region}:<AWS::AccountId>:execution:"
            '{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"' + logical_id(self.state_machine) + '"}]}]}'
        )
        acknowledge(
            self.state_machine,
            **{
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<{logical_id(self.reports_bucket)}>/*]": (
                    "The Map's result writer: any key of the run's own reports bucket."
                ),
                f"AwsSolutions-IAM5[Resource::<{logical_id(function)}.Arn>:*]": (
                    "Invoking the reprocess function's versions (CDK's LambdaInvoke grant)."
                ),
                "AwsSolutions-IAM5[Resource::*]": (
                    "X-Ray and CloudWatch Logs delivery actions take no resource."
                ),
                f"AwsSolutions-IAM5[Resource::{executions}:*]": (
                    "The Distributed Map describes and stops its own child executions."
                ),
                f"AwsSolutions-IAM5[Resource::{executions}/*:*]": (
                    "The Distributed Map redrives its own child executions."
                ),
            },
        )
        operator_executions = f"arn:{partition}:states:{region}:<AWS::AccountId>:execution:<{logical_id(self.state_machine)}.Name>:*"
        acknowledge(
            self.operator_policy,
            **{
                f"AwsSolutions-IAM5[Resource::{operator_executions}]": (
                    "An operator follows and stops this state machine's runs, whichever they are."
                ),
                f"AwsSolutions-IAM5[Resource::<{logical_id(self.reports_bucket)}.Arn>/{REPROCESS_REPORTS_PREFIX}*]": (
                    "An operator reads any run's report, under the reports prefix only."
                ),
            },
        )
