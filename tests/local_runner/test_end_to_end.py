"""The demo flow, asserted: embedded S3/SQS, real HTTP uploads, the worker, status polling."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import httpx
import pytest
from local_runner.demo import DemoResult
from local_runner.pipeline import LocalPipeline
from photo_contract.variants import FEED_VARIANTS
from PIL import Image

pytestmark = pytest.mark.slow  # the whole local pipeline over HTTP

UPRIGHT_PORTRAIT = {
    "leica-t_16mp_orient8.jpg",
    "canon-eos-1000d_10mp_orient6.jpg",
    "nikon-coolpix-p7000_10mp_orient6.webp",
    "Portrait_7.jpg",
    "oppo-r7plus_13mp_portrait.jpg",
    "iphone11pro_12mp.heic",
    "generated-12mp_portrait.jpg",  # the set the demo makes without ../shared
}


def _wait_until_idle(pipeline: LocalPipeline, seconds: float = 30) -> None:
    """Both steps' queues empty: nothing queued, nothing in flight."""
    sqs = pipeline.aws.client("sqs")
    deadline = time.monotonic() + seconds
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    while time.monotonic() < deadline:
        idle = [
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
            for url in (pipeline.resources.queue_url, pipeline.resources.alternates_queue_url)
        ]
        if all(a[n] == "0" for a in idle for n in names):
            return
        time.sleep(0.25)
    raise AssertionError("the queues did not drain")


def test_every_photo_is_ready_and_the_broken_file_rejected(demo_run: list[DemoResult]) -> None:
    assert len(demo_run) == 20
    statuses = {r.file.name: (r.status, r.body.get("reason")) for r in demo_run}
    assert statuses.pop("broken-truncated.jpg") == ("rejected", "truncated")
    assert set(statuses.values()) == {("ready", None)}


def test_variants_are_upright_stripped_and_served(demo_run: list[DemoResult]) -> None:
    for result in (r for r in demo_run if r.status == "ready"):
        assert [(v["name"], v["content_type"]) for v in result.body["variants"]] == [
            (spec.name, encoding.format.content_type) for spec in FEED_VARIANTS for encoding in spec.encodings
        ]
        portrait = result.body["height"] > result.body["width"]
        assert portrait == (result.file.name in UPRIGHT_PORTRAIT), result.file.name
        for variant in result.body["variants"]:
            response = httpx.get(variant["url"], timeout=30)
            assert response.status_code == 200
            image = Image.open(io.BytesIO(response.content))
            assert image.size == (variant["width"], variant["height"])
            assert (
                response.headers["content-type"] == variant["content_type"] == Image.MIME[str(image.format)]
            )
            assert dict(image.getexif()) == {} and "icc_profile" not in image.info
            if variant["name"] != "thumb150" and variant["width"] != variant["height"]:
                assert (variant["height"] > variant["width"]) == portrait, (result.file.name, variant)


def test_originals_are_untouched(pipeline: LocalPipeline, demo_run: list[DemoResult]) -> None:
    s3 = pipeline.aws.client("s3")
    for result in demo_run:
        body = s3.get_object(Bucket=pipeline.resources.uploads_bucket, Key=result.key)["Body"].read()
        assert body == result.file.data, result.file.name
        versions = s3.list_object_versions(Bucket=pipeline.resources.uploads_bucket, Prefix=result.key)
        assert len(versions.get("Versions", [])) == 1


def test_a_duplicate_s3_event_changes_nothing(pipeline: LocalPipeline, demo_run: list[DemoResult]) -> None:
    s3, sqs = pipeline.aws.client("s3"), pipeline.aws.client("sqs")
    media = pipeline.resources.media_bucket
    _wait_until_idle(pipeline)
    before = {o["Key"]: (o["ETag"], o["LastModified"]) for o in s3.list_objects_v2(Bucket=media)["Contents"]}
    target = demo_run[0]
    head = s3.head_object(Bucket=pipeline.resources.uploads_bucket, Key=target.key)
    duplicate = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Post",
                "s3": {
                    "bucket": {"name": pipeline.resources.uploads_bucket},
                    "object": {
                        "key": target.key.replace("/", "%2F"),
                        "eTag": head["ETag"].strip('"'),
                        "size": head["ContentLength"],
                    },
                },
            }
        ]
    }
    batches = pipeline.worker.batches
    sqs.send_message(QueueUrl=pipeline.resources.queue_url, MessageBody=json.dumps(duplicate))
    deadline = time.monotonic() + 20
    while pipeline.worker.batches == batches and time.monotonic() < deadline:
        time.sleep(0.1)
    _wait_until_idle(pipeline)
    assert pipeline.worker.batches > batches, "the worker never saw the duplicate"
    after = {o["Key"]: (o["ETag"], o["LastModified"]) for o in s3.list_objects_v2(Bucket=media)["Contents"]}
    assert after == before


def test_a_poison_message_ends_in_the_dead_letter_queue(
    pipeline: LocalPipeline, demo_run: list[DemoResult]
) -> None:
    sqs = pipeline.aws.client("sqs")
    sqs.send_message(QueueUrl=pipeline.resources.queue_url, MessageBody="this is not an S3 notification")
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60  # maxReceiveCount (5) x the local 2 s visibility timeout, with slack
    while not found and time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=pipeline.resources.dead_letter_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        found = [m for m in messages if m["Body"] == "this is not an S3 notification"]
    assert found, "the poison message never reached the DLQ"
    assert pipeline.worker.failed_records >= pipeline.resources.max_receive_count
