"""Fine-grained intent of the synthesized templates (dev unless the environment matters)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from photo_contract.runtime import DISCARD_TAG, REJECTED_ORIGINAL_DAYS

from tests.stacks.conftest import ENVIRONMENTS
from tests.stacks.templates import as_list, logical_ids, resources, resources_by_id

pytestmark = pytest.mark.slow  # reads the templates of a full synth

Templates = dict[str, dict[str, dict[str, Any]]]


@pytest.fixture(scope="module")
def storage(templates: Templates) -> Template:
    return Template.from_json(templates["dev"]["Storage"])


@pytest.fixture(scope="module")
def resize(templates: Templates) -> Template:
    return Template.from_json(templates["dev"]["Resize"])


def test_every_bucket_is_encrypted_private_and_tls_only(storage: Template, templates: Templates) -> None:
    buckets = resources(templates["dev"]["Storage"], "AWS::S3::Bucket")
    assert len(buckets) == 4  # uploads, media, their access logs, the CDN's logs
    for bucket in buckets:
        props = bucket["Properties"]
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
    policies = resources(templates["dev"]["Storage"], "AWS::S3::BucketPolicy")
    tls_denials = [
        s
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(tls_denials) == 4


def test_uploads_bucket_is_versioned_with_cors_and_abandoned_and_rejected_rules(storage: Template) -> None:
    storage.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "CorsConfiguration": {
                "CorsRules": [
                    Match.object_like(
                        {
                            "AllowedMethods": ["POST"],
                            "AllowedOrigins": ["http://localhost:8000", "http://127.0.0.1:8000"],
                        }
                    )
                ]
            },
            "LifecycleConfiguration": {
                "Rules": [
                    Match.object_like(
                        {"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}, "Status": "Enabled"}
                    ),
                    # a rejected original expires once housekeeping tags it (docs/privacy.md)
                    Match.object_like(
                        {
                            "Id": "RejectedOriginals",
                            "TagFilters": [{"Key": DISCARD_TAG[0], "Value": DISCARD_TAG[1]}],
                            "ExpirationInDays": REJECTED_ORIGINAL_DAYS,
                            "Status": "Enabled",
                        }
                    ),
                ]
            },
        },
    )


def test_notification_sends_only_uploads_prefix_object_created_to_the_queue(storage: Template) -> None:
    storage.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "NotificationConfiguration": {
                "QueueConfigurations": [
                    {
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
                        "QueueArn": Match.any_value(),
                    }
                ]
            }
        },
    )


def test_queues_are_encrypted_with_a_dlq_after_five_receives(templates: Templates) -> None:
    queues = resources_by_id(templates["dev"]["Storage"], "AWS::SQS::Queue")
    assert len(queues) == 4  # upload events and housekeeping tasks, each with its DLQ
    assert all(q["Properties"]["SqsManagedSseEnabled"] is True for q in queues.values())
    mains = {k: q for k, q in queues.items() if "RedrivePolicy" in q["Properties"]}
    assert sorted(next(c for c in _CONSUMERS if k.startswith(c)) for k in mains) == sorted(_CONSUMERS)
    for queue in mains.values():
        redrive = queue["Properties"]["RedrivePolicy"]
        assert redrive["maxReceiveCount"] >= 5
        (dead_letters,) = redrive["deadLetterTargetArn"]["Fn::GetAtt"][:1]
        assert "RedrivePolicy" not in queues[dead_letters]["Properties"]


# Each queue with a dead-letter queue, and the handler of the function that consumes it.
_CONSUMERS = {
    "UploadEventsQueue": "resize_worker.handler.lambda_handler",
    "HousekeepingQueue": "resize_worker.housekeeping_handler.lambda_handler",
}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_visibility_timeout_is_at_least_six_function_timeouts(templates: Templates, env: str) -> None:
    queues = resources_by_id(templates[env]["Storage"], "AWS::SQS::Queue")
    for queue_id, handler in _CONSUMERS.items():
        (main,) = [q for k, q in queues.items() if k.startswith(queue_id)]
        (function,) = [
            f
            for f in resources(templates[env]["Resize"], "AWS::Lambda::Function")
            if f["Properties"].get("Handler") == handler
        ]
        assert main["Properties"]["VisibilityTimeout"] >= 6 * function["Properties"]["Timeout"], queue_id


def test_resize_function_settings(resize: Template) -> None:
    resize.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.13",
            "Architectures": ["arm64"],
            "Handler": "resize_worker.handler.lambda_handler",
            "ReservedConcurrentExecutions": 5,
            "RecursiveLoop": "Terminate",
            "TracingConfig": {"Mode": "Active"},
            "Layers": [Match.any_value()],
            "Environment": {
                "Variables": Match.object_like({"MAX_PIXELS": "50000000", "VARIANTS": Match.any_value()})
            },
        },
    )
    resize.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 7})
    resize.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleArchitectures": ["arm64"], "CompatibleRuntimes": ["python3.13"]},
    )
    resize.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BatchSize": 10,
            "ScalingConfig": {"MaximumConcurrency": 5},
        },
    )


@pytest.mark.parametrize("role", ["ResizePipelineFunction", "ResizePipelineReprocessFunction"])
def test_resize_role_reads_uploads_and_writes_media_only(templates: Templates, role: str) -> None:
    """The worker and the reprocess function: the same grants."""
    (policy,) = [
        p
        for key, p in templates["dev"]["Resize"]["Resources"].items()
        if p["Type"] == "AWS::IAM::Policy" and key.startswith(f"{role}ServiceRole")
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    s3_statements = [s for s in statements if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    actions = {a for s in s3_statements for a in as_list(s["Action"])}
    assert actions == {  # named, no wildcard groups, no version deletes (issue 20: a decoder exploit)
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
    }
    for statement in s3_statements:
        resource_text = json.dumps(statement["Resource"])
        writes = {
            a for a in as_list(statement["Action"]) if a.startswith(("s3:Put", "s3:Abort", "s3:Delete"))
        }
        if writes:
            # Writes reach only the media bucket's images/ prefix: never an original.
            assert "MediaBucketName" in resource_text and "UploadsBucketName" not in resource_text
            assert "/images/*" in resource_text
        if "UploadsBucketName" in resource_text and "/uploads/*" in resource_text:
            # Originals are only read; removing one is housekeeping's, which never decodes bytes.
            assert as_list(statement["Action"]) == ["s3:GetObject", "s3:GetObjectVersion"]
    sqs = {
        a: json.dumps(s["Resource"]) for s in statements for a in as_list(s["Action"]) if a.startswith("sqs:")
    }
    consumer = {
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    }
    # Only the worker consumes the upload queue (the state machine invokes the reprocess function);
    # both hand an original to remove to housekeeping's queue.
    assert set(sqs) == (consumer if role == "ResizePipelineFunction" else set()) | {"sqs:SendMessage"}
    assert "HousekeepingQueueArn" in sqs["sqs:SendMessage"]
    assert all("UploadEventsQueueArn" in sqs[a] for a in consumer & set(sqs))


def test_alarms_watch_dead_letters_errors_and_throttles(storage: Template, resize: Template) -> None:
    storage.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
        },
    )
    for metric in ("Errors", "Throttles"):
        resize.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "MetricName": metric,
                "Namespace": "AWS/Lambda",
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
            },
        )


def test_prod_retains_data_and_dev_does_not(templates: Templates) -> None:
    for env, policy in (("prod", "Retain"), ("dev", "Delete")):
        buckets = resources(templates[env]["Storage"], "AWS::S3::Bucket")
        assert {b["DeletionPolicy"] for b in buckets} == {policy}


def test_construct_ids_do_not_carry_the_environment(templates: Templates) -> None:
    # Same logical IDs in every environment: moving config between environments never replaces resources.
    # A Lambda version's id ends in a hash of its function's configuration (a new version per change,
    # by CDK's design): that part is not a name and is left out.
    def stable(logical_id: str) -> str:
        head, found, _ = logical_id.partition("CurrentVersion")
        return head + found if found else logical_id

    # CDK's reader of a cross-region reference: only where an Edge stack exists (a CDN web ACL in config).
    cross_region = {
        "CustomCrossRegionExportReaderCustomResourceProviderHandler46647B68",
        "CustomCrossRegionExportReaderCustomResourceProviderRole10531BBD",
        "ExportsReader8B249524",
    }
    for stack in ("Storage", "Resize", "Api", "Operations"):
        ids = [
            {stable(i) for i in templates[env][stack]["Resources"]} - cross_region
            for env in ("dev", "staging", "prod")
        ]
        assert ids[0] == ids[1] == ids[2]
    assert set(templates["staging"]["Edge"]["Resources"]) == set(templates["prod"]["Edge"]["Resources"])
    assert cross_region <= set(templates["prod"]["Storage"]["Resources"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_alarm_notifies_the_alarm_topic_on_alarm_and_ok(templates: Templates, env: str) -> None:
    alarms = [
        (stack, alarm)
        for stack, template in templates[env].items()
        for alarm in resources(template, "AWS::CloudWatch::Alarm")
    ]
    assert len(alarms) >= 6
    for stack, alarm in alarms:
        actions = alarm["Properties"].get("AlarmActions")
        assert actions and alarm["Properties"].get("OKActions") == actions, (stack, alarm)
        expected = (
            {"Ref": next(iter(logical_ids(templates[env]["Storage"], "AWS::SNS::Topic")))}
            if stack == "Storage"
            else {"Fn::ImportValue": f"photo-pipeline-{env}-storage-AlarmTopicArn"}
        )
        assert actions == [expected], (stack, actions)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_alarm_topic_is_encrypted_tls_only_and_has_a_subscriber(templates: Templates, env: str) -> None:
    storage = Template.from_json(templates[env]["Storage"])
    storage.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    storage.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": Match.object_like(
                {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                            )
                        ]
                    )
                }
            )
        },
    )
    assert resources(templates[env]["Storage"], "AWS::SNS::Subscription")


def test_a_stalled_worker_is_noticed_by_the_age_of_the_oldest_event(storage: Template) -> None:
    storage.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateAgeOfOldestMessage",
            "Threshold": 900,
            "ComparisonOperator": "GreaterThanThreshold",
        },
    )


def test_processing_failures_of_the_core_are_alarmed(resize: Template) -> None:
    resize.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "ProcessingFailures", "Namespace": "PhotoPipeline", "Threshold": 0},
    )


def test_prod_keeps_its_queues_and_dev_does_not(templates: Templates) -> None:
    for env, policy in (("prod", "Retain"), ("dev", "Delete")):
        queues = resources(templates[env]["Storage"], "AWS::SQS::Queue")
        assert len(queues) == 4 and {q["DeletionPolicy"] for q in queues} == {policy}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_cross_stack_value_is_a_named_export(env: str) -> None:
    """CDK's generated exports (``ExportsOutput…``) pin a producing stack to whatever imports them and
    change with construct paths; every export here is ``photo-pipeline-<env>-<stack>-<Name>``."""
    snapshots = Path(__file__).parent / "snapshots" / env
    for path in sorted(snapshots.glob("*.template.json")):
        template = json.loads(path.read_text())
        for name, output in template.get("Outputs", {}).items():
            assert not name.startswith("ExportsOutput"), (path.name, name)
            if "Export" in output:
                assert output["Export"]["Name"].startswith(f"photo-pipeline-{env}-"), (path.name, name)
