"""Each construct on a bare stack, in-process (``Template.from_stack``): seconds each, in the fast lane.
The constructs that build Lambda assets are covered by the synth of every environment (slow lane)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from photo_contract.registry import BATCH_INDEX, table_definition
from photo_pipeline_cdk.constructs.alarms import AlarmTopic
from photo_pipeline_cdk.constructs.delivery import MediaDistribution
from photo_pipeline_cdk.constructs.image_repository import ApiImageRepository
from photo_pipeline_cdk.constructs.registry import ImageRegistry, grant_registry_api
from photo_pipeline_cdk.constructs.storage import PhotoBuckets
from photo_pipeline_cdk.constructs.upload_events import UploadEvents
from photo_pipeline_cdk.constructs.upload_quota import UploadQuotaTable

from tests.stacks.templates import actions, as_list, resources


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Bare", env=cdk.Environment(account="210987654321", region="eu-west-1"))


def _template(stack: cdk.Stack) -> dict[str, Any]:
    template: dict[str, Any] = Template.from_stack(stack).to_json()
    return template


def test_the_alarm_topic_admits_only_this_accounts_alarms() -> None:
    stack = _stack()
    AlarmTopic(stack, "Alarms", emails=["oncall@snapgram.io"])
    template = _template(stack)
    (key,) = resources(template, "AWS::KMS::Key")
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (cloudwatch,) = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert set(as_list(cloudwatch["Action"])) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": "210987654321"}
    (policy,) = resources(template, "AWS::SNS::TopicPolicy")
    publish = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in publish] == [{"Service": "cloudwatch.amazonaws.com"}]
    (subscription,) = resources(template, "AWS::SNS::Subscription")
    assert subscription["Properties"]["Protocol"] == "email"


def test_an_alarm_topic_needs_someone_and_https() -> None:
    with pytest.raises(ValueError, match="at least one email"):
        AlarmTopic(_stack(), "Alarms", emails=[])
    with pytest.raises(ValueError, match="https"):
        AlarmTopic(_stack(), "Alarms", emails=[], webhook_url="http://chat.example/hook")


def test_upload_events_refuse_another_accounts_bucket_and_dead_letter_after_five() -> None:
    stack = _stack()
    bucket = s3.Bucket(stack, "Uploads")
    UploadEvents(stack, "Events", uploads_bucket=bucket, visibility_timeout_seconds=360)
    template = _template(stack)
    deny = [
        s
        for p in resources(template, "AWS::SQS::QueuePolicy")
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "OnlyThisAccountsBucketNotifies"
    ]
    assert deny and deny[0]["Effect"] == "Deny"
    assert deny[0]["Condition"] == {"StringNotEquals": {"aws:SourceAccount": "210987654321"}}
    queues = resources(template, "AWS::SQS::Queue")
    assert [
        q["Properties"]["RedrivePolicy"]["maxReceiveCount"]
        for q in queues
        if "RedrivePolicy" in q["Properties"]
    ] == [5]
    with pytest.raises(ValueError, match="max_receive_count"):
        UploadEvents(
            _stack(),
            "Events",
            uploads_bucket=s3.Bucket(_stack(), "B"),
            visibility_timeout_seconds=60,
            max_receive_count=2,
        )


def test_photo_buckets_version_originals_and_refuse_plain_http_origins() -> None:
    stack = _stack()
    PhotoBuckets(stack, "Buckets", cors_allowed_origins=["https://app.snapgram.io"])
    buckets = resources(_template(stack), "AWS::S3::Bucket")
    assert any(b["Properties"].get("VersioningConfiguration", {}).get("Status") == "Enabled" for b in buckets)
    with pytest.raises(ValueError, match="CORS origin"):
        PhotoBuckets(_stack(), "Buckets", cors_allowed_origins=["http://app.snapgram.io"])


def test_the_registry_grant_reaches_the_batch_index_and_nothing_deletes() -> None:
    stack = _stack()
    registry = ImageRegistry(stack, "Registry", bus_name="images")
    role = iam.Role(stack, "Api", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    grant_registry_api(role, registry.table, registry.bus)
    template = _template(stack)
    assert actions(template, "dynamodb:") == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
    }
    query = [
        s
        for p in resources(template, "AWS::IAM::Policy")
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "dynamodb:Query"
    ]
    assert f"/index/{BATCH_INDEX}" in json.dumps(query)
    (table,) = resources(template, "AWS::DynamoDB::GlobalTable")
    # The same indexes, with the same keys, as the contract's own table (the emulator's and the tests').
    declared = {i["IndexName"]: i["KeySchema"] for i in table["Properties"]["GlobalSecondaryIndexes"]}
    assert declared == {
        i["IndexName"]: i["KeySchema"] for i in table_definition("t")["GlobalSecondaryIndexes"]
    }


def test_the_quota_grant_is_one_conditional_update() -> None:
    stack = _stack()
    quota = UploadQuotaTable(stack, "Quota")
    role = iam.Role(stack, "Api", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    quota.grant_count(role)
    assert actions(_template(stack), "dynamodb:") == {"dynamodb:UpdateItem"}


def test_the_image_repository_keeps_tags_immutable_and_scans() -> None:
    stack = _stack()
    ApiImageRepository(stack, "Images", keep_images=5)
    (repo,) = resources(_template(stack), "AWS::ECR::Repository")
    props = repo["Properties"]
    assert props["ImageTagMutability"] == "IMMUTABLE" and props["ImageScanningConfiguration"] == {
        "ScanOnPush": True
    }
    assert '"countNumber":5' in props["LifecyclePolicy"]["LifecyclePolicyText"].replace(" ", "")
    with pytest.raises(ValueError, match="keep_images"):
        ApiImageRepository(_stack(), "Images", keep_images=0)


def test_the_distribution_reads_the_bucket_through_origin_access_control() -> None:
    stack = _stack()
    media = s3.Bucket(stack, "Media")
    MediaDistribution(stack, "Delivery", media_bucket=media, logging=True)
    template = _template(stack)
    assert resources(template, "AWS::CloudFront::OriginAccessControl")
    reads = [
        s
        for policy in resources(template, "AWS::S3::BucketPolicy")
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}
    ]
    assert reads and "AWS:SourceArn" in json.dumps(reads[0]["Condition"])
    with pytest.raises(ValueError, match="go together"):
        MediaDistribution(
            _stack(), "Delivery", media_bucket=s3.Bucket(_stack(), "M"), domain_names=["media.snapgram.io"]
        )


def _public_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def test_a_key_rotation_keeps_the_new_key_when_the_old_one_is_removed() -> None:
    """before → during (both keys in the group) → after: the new key's resource, and so its key pair id
    that the secret names, survives the old one's removal (ids come from the key, not its position)."""
    old, new = _public_key_pem(), _public_key_pem()

    def public_keys(*pems: str) -> dict[str, Any]:
        stack = _stack()
        MediaDistribution(stack, "Delivery", media_bucket=s3.Bucket(stack, "Media"), signing_public_keys=pems)
        template = _template(stack)
        (group,) = resources(template, "AWS::CloudFront::KeyGroup")
        keys = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudFront::PublicKey"}
        assert sorted(i["Ref"] for i in group["Properties"]["KeyGroupConfig"]["Items"]) == sorted(keys)
        return keys

    before, during, after = public_keys(old), public_keys(old, new), public_keys(new)
    assert set(before) < set(during) and set(after) < set(during)
    assert set(during) == set(before) | set(after) and not set(before) & set(after)


def test_signed_mode_takes_one_key_or_two_during_a_rotation() -> None:
    from photo_pipeline_cdk.config import CdnConfig

    key = _public_key_pem()
    with pytest.raises(ValueError, match="needs public_keys"):
        CdnConfig(access="signed")
    with pytest.raises(ValueError, match="two distinct keys"):
        CdnConfig(access="signed", public_keys=(key, key))
    with pytest.raises(ValueError, match="two distinct keys"):
        CdnConfig(access="signed", public_keys=(key, _public_key_pem(), _public_key_pem()))
    assert len(CdnConfig(access="signed", public_keys=(key, _public_key_pem())).public_keys) == 2


def test_originals_move_to_an_instant_read_class_and_archive_classes_are_refused() -> None:
    stack = _stack()
    PhotoBuckets(stack, "Buckets", originals_transition=(s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, 30))
    rules = [
        rule
        for bucket in resources(_template(stack), "AWS::S3::Bucket")
        for rule in bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
        if rule["Id"] == "OriginalsTransition"
    ]
    assert rules == [
        {
            "Id": "OriginalsTransition",
            "Prefix": "uploads/",
            "Status": "Enabled",
            "Transitions": [{"StorageClass": "GLACIER_IR", "TransitionInDays": 30}],
        }
    ]
    plain = _stack()
    PhotoBuckets(plain, "Buckets")
    assert "OriginalsTransition" not in json.dumps(_template(plain))
    for archive in (s3.StorageClass.GLACIER, s3.StorageClass.DEEP_ARCHIVE):
        with pytest.raises(ValueError, match="readable at once"):
            PhotoBuckets(_stack(), "Buckets", originals_transition=(archive, 90))


def _service(stack: cdk.Stack, **props: Any) -> Any:
    """The Fargate API on a bare stack, over imported resources (no Lambda asset to build)."""
    from aws_cdk import aws_certificatemanager as acm
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_ecr as ecr
    from aws_cdk import aws_events as events
    from photo_contract.runtime import ApiEnvironment
    from photo_pipeline_cdk.constructs.api import UploadApiService

    environment = ApiEnvironment(
        uploads_bucket="uploads",
        media_bucket="media",
        registry_table="registry",
        event_bus_name="bus",
        jwt_issuer="https://issuer.example",
        jwt_audience="app",
        jwks_url="https://issuer.example/jwks.json",
    )
    return UploadApiService(
        stack,
        "Api",
        repository=ecr.Repository.from_repository_name(stack, "Repo", "api"),
        image_tag="t1",
        environment=environment,
        uploads_bucket=s3.Bucket.from_bucket_name(stack, "Uploads", "uploads"),
        media_bucket=s3.Bucket.from_bucket_name(stack, "Media", "media"),
        certificate=acm.Certificate.from_certificate_arn(
            stack, "Cert", "arn:aws:acm:eu-west-1:210987654321:certificate/x"
        ),
        registry_table=dynamodb.TableV2.from_table_name(stack, "Registry", "registry"),
        event_bus=events.EventBus.from_event_bus_name(stack, "Bus", "bus"),
        waf_requests_per_ip_per_5_minutes=None,
        **props,
    )


def _endpoint_services(template: dict[str, Any]) -> list[str]:
    return sorted(
        json.dumps(e["Properties"]["ServiceName"]).split(".")[-1].strip('"]}')
        for e in resources(template, "AWS::EC2::VPCEndpoint")
    )


def test_the_service_network_levers_nat_count_and_the_dynamodb_endpoint() -> None:
    stack = _stack()
    _service(stack, nat_gateways=1)
    template = _template(stack)
    assert len(resources(template, "AWS::EC2::NatGateway")) == 1
    assert _endpoint_services(template) == ["dynamodb", "s3"]
    (service,) = resources(template, "AWS::ECS::Service")
    assert (
        service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    )

    without = _stack()
    _service(without, nat_gateways=2, dynamodb_endpoint=False)
    template = _template(without)
    assert len(resources(template, "AWS::EC2::NatGateway")) == 2
    assert _endpoint_services(template) == ["s3"]


def test_no_nat_puts_the_tasks_in_public_subnets_reachable_only_from_the_alb() -> None:
    stack = _stack()
    _service(stack, nat_gateways=0)
    template = _template(stack)
    assert resources(template, "AWS::EC2::NatGateway") == []
    (service,) = resources(template, "AWS::ECS::Service")
    network = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "ENABLED"
    assert all("Public" in subnet["Ref"] for subnet in network["Subnets"])
    # The tasks' security group admits the load balancer's group only, never an address range.
    ingress = resources(template, "AWS::EC2::SecurityGroupIngress")
    task_ingress = [i for i in ingress if "ServiceSecurityGroup" in json.dumps(i["Properties"]["GroupId"])]
    assert task_ingress and all("SourceSecurityGroupId" in i["Properties"] for i in task_ingress)
    assert all("CidrIp" not in i["Properties"] for i in task_ingress)
    with pytest.raises(ValueError, match="nat_gateways"):
        _service(_stack(), nat_gateways=3)
