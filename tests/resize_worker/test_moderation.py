"""Moderation in the worker: a verdict from the moderator on the largest JPEG just made, a held state
whose variants wait under held/, a reject rule, a failing call that never passes an image, and the
review (clear, reject) with its idempotence and its events. The Rekognition adapter is checked against
botocore's Stubber with the request and response shapes of AWS's API reference."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from local_runner.inputs import camera_jpeg
from photo_contract import HELD_PREFIX, ImageKeys
from photo_contract.moderation import (
    DEFAULT_POLICY,
    Decision,
    ModerationAction,
    ModerationLabel,
    ModerationPolicy,
    ModerationRule,
)
from photo_contract.registry import Status
from photo_contract.review import Review, decide
from PIL import Image
from resize_worker.handler import ResizeWorker
from resize_worker.moderation import LocalModerator, RekognitionModerator
from resize_worker.process import ProcessStatus, process_object
from resize_worker.settings import WorkerSettings

from tests.resize_worker.conftest import BUS, MEDIA, TABLE, UPLOADS, World, s3_body, sqs_event

OWNER = "mod-owner"


class Scripted:
    """A moderator that answers what it is told, and counts its calls."""

    def __init__(self, labels: list[ModerationLabel] | Exception) -> None:
        self.answer = labels
        self.calls: list[bytes] = []

    def labels(self, jpeg: bytes, *, min_confidence: float) -> tuple[list[ModerationLabel], str]:
        self.calls.append(jpeg)
        if isinstance(self.answer, Exception):
            raise self.answer
        return [label for label in self.answer if label.confidence >= min_confidence], "7.0"


SETTINGS = WorkerSettings(
    media_bucket=MEDIA, registry_table=TABLE, event_bus_name=BUS, moderation=DEFAULT_POLICY
)
VIOLENT = [
    ModerationLabel(name="Violence", confidence=88.0),
    ModerationLabel(name="Graphic Violence", parent="Violence", confidence=88.0),
]


def _upload(world: World, image_id: str, photo: bytes | None = None) -> ImageKeys:
    keys = ImageKeys(owner=OWNER, image_id=image_id, extension="jpg")
    world.register(keys)
    world.s3.put_object(
        Bucket=UPLOADS, Key=keys.source, Body=photo or camera_jpeg("m.jpg", (1600, 1200)).data
    )
    return keys


def _process(world: World, keys: ImageKeys, moderator: Any, settings: WorkerSettings = SETTINGS) -> Any:
    services = dataclasses.replace(world.services(), moderator=moderator)
    return process_object(services, settings, bucket=UPLOADS, key=keys.source)


def _media(world: World) -> list[str]:
    return sorted(o["Key"] for o in world.s3.list_objects_v2(Bucket=MEDIA).get("Contents", []))


def test_a_held_image_waits_under_held_and_is_announced_held(world: World) -> None:
    keys = _upload(world, "a" * 32)
    moderator = Scripted(VIOLENT)
    outcome = _process(world, keys, moderator)
    assert outcome.status is ProcessStatus.HELD
    record = world.record(keys)
    assert record.status is Status.HELD
    assert record.moderation is not None and record.moderation.action is ModerationAction.HOLD
    assert {label.name for label in record.moderation.labels} == {"Violence", "Graphic Violence"}
    assert record.variants and all(v.key.startswith(HELD_PREFIX) for v in record.variants)
    assert all(key.startswith(HELD_PREFIX) for key in _media(world))  # nothing where the CDN serves
    # The moderator saw the largest JPEG the worker made (no second decode of the original).
    (sent,) = moderator.calls
    with Image.open(io.BytesIO(sent)) as image:
        assert (image.format, image.width) == ("JPEG", 1080)
    (event,) = world.events_seen()
    assert event["detail-type"] == "Image Held"
    assert event["detail"]["moderation"]["action"] == "hold"


def test_a_reject_rule_rejects_with_reason_moderation(world: World) -> None:
    keys = _upload(world, "b" * 32)
    outcome = _process(world, keys, Scripted([ModerationLabel(name="Explicit", confidence=97.5)]))
    assert outcome.status is ProcessStatus.REJECTED and outcome.detail == "moderation"
    record = world.record(keys)
    assert (record.status, record.reason) == (Status.REJECTED, "moderation")
    assert _media(world) == []
    (event,) = world.events_seen()
    assert (event["detail-type"], event["detail"]["reason"]) == ("Image Rejected", "moderation")


def test_a_clean_image_is_ready_and_its_verdict_recorded(world: World) -> None:
    keys = _upload(world, "c" * 32)
    assert _process(world, keys, Scripted([])).status is ProcessStatus.READY
    record = world.record(keys)
    assert record.status is Status.READY and record.moderation is not None
    assert (record.moderation.action, record.moderation.model) == (None, "7.0")


def test_a_failed_moderation_call_is_retried_and_never_passes_the_image(world: World) -> None:
    keys = _upload(world, "d" * 32)
    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "DetectModerationLabels"
    )
    worker = ResizeWorker(
        services=dataclasses.replace(world.services(), moderator=Scripted(throttled)), settings=SETTINGS
    )
    # Every record of the batch failed: the invocation fails and SQS delivers the batch again (then the DLQ).
    with pytest.raises(BatchProcessingError, match="ThrottlingException"):
        worker.handle_batch(sqs_event(s3_body(keys.source)))
    assert world.record(keys).status is Status.PENDING
    assert _media(world) == [] and world.events_seen() == []
    # The next delivery, with the moderator back, decides.
    assert _process(world, keys, Scripted(VIOLENT)).status is ProcessStatus.HELD


def test_moderation_off_asks_nobody(world: World) -> None:
    keys = _upload(world, "e" * 32)
    moderator = Scripted(VIOLENT)
    off = dataclasses.replace(SETTINGS, moderation=ModerationPolicy())
    assert _process(world, keys, moderator, off).status is ProcessStatus.READY
    assert moderator.calls == [] and world.record(keys).moderation is None


def test_a_reprocess_keeps_the_verdict_and_never_asks_again(world: World) -> None:
    from photo_contract.variants import FEED_VARIANTS

    keys = _upload(world, "f" * 32)
    _process(world, keys, Scripted(VIOLENT))
    first = world.record(keys)
    # A new variant spec, and no moderator (the reprocess function has none): still held.
    respec = dataclasses.replace(
        SETTINGS, resize=dataclasses.replace(SETTINGS.resize, variants=FEED_VARIANTS[:2])
    )
    assert _process(world, keys, None, respec).status is ProcessStatus.HELD
    second = world.record(keys)
    assert second.version != first.version and second.status is Status.HELD
    assert all(v.key.startswith(HELD_PREFIX) for v in second.variants)


# --- the review -------------------------------------------------------------------------------------


def test_clearing_moves_the_variants_to_where_the_cdn_serves_them_once(world: World) -> None:
    keys = _upload(world, "1" * 32)
    _process(world, keys, Scripted(VIOLENT))
    world.events_seen()
    held = world.record(keys)
    review, record = decide(world.storage(), OWNER, keys.image_id, Decision.CLEARED, moderator="mod-1")
    assert review is Review.DONE and record is not None
    assert record.status is Status.READY
    assert [v.key for v in record.variants] == [ImageKeys.released(v.key) for v in held.variants]
    assert _media(world) == sorted(v.key for v in record.variants)  # the held copies are gone
    assert record.moderation is not None
    assert (record.moderation.decision, record.moderation.decided_by) == (Decision.CLEARED, "mod-1")
    assert record.moderation.labels == held.moderation.labels  # type: ignore[union-attr]
    assert [e["detail-type"] for e in world.events_seen()] == ["Image Cleared", "Image Ready"]
    # Idempotent: the same decision again changes nothing and announces nothing.
    again, same = decide(world.storage(), OWNER, keys.image_id, Decision.CLEARED, moderator="mod-2")
    assert again is Review.ALREADY and same == world.record(keys)
    assert world.events_seen() == []
    # The other decision on a cleared image is a conflict, not a silent change.
    assert (
        decide(world.storage(), OWNER, keys.image_id, Decision.REJECTED, moderator="mod-2")[0]
        is Review.CONFLICT
    )


def test_rejecting_removes_variants_and_every_version_of_the_original(world: World) -> None:
    keys = _upload(world, "2" * 32)
    _process(world, keys, Scripted(VIOLENT))
    world.events_seen()
    review, record = decide(world.storage(), OWNER, keys.image_id, Decision.REJECTED, moderator="mod-1")
    assert review is Review.DONE and record is not None
    assert (record.status, record.reason, record.variants) == (Status.REJECTED, "moderation", ())
    assert _media(world) == []
    versions = world.s3.list_object_versions(Bucket=UPLOADS, Prefix=keys.source)
    assert versions.get("Versions", []) == [] and versions.get("DeleteMarkers", []) == []
    (event,) = world.events_seen()
    assert (event["detail-type"], event["detail"]["reason"]) == ("Image Rejected", "moderation")
    assert event["detail"]["moderation"]["decided_by"] == "mod-1"
    assert (
        decide(world.storage(), OWNER, keys.image_id, Decision.REJECTED, moderator="m")[0] is Review.ALREADY
    )


def test_a_decision_on_an_image_that_is_not_held_is_a_conflict(world: World) -> None:
    keys = _upload(world, "3" * 32)
    _process(world, keys, Scripted([]))
    assert (
        decide(world.storage(), OWNER, keys.image_id, Decision.CLEARED, moderator="m")[0] is Review.CONFLICT
    )
    assert decide(world.storage(), OWNER, "4" * 32, Decision.CLEARED, moderator="m")[0] is Review.NOT_FOUND


def test_a_delete_removes_held_variants_too(world: World) -> None:
    from photo_contract.deletion import tombstone

    keys = _upload(world, "5" * 32)
    _process(world, keys, Scripted(VIOLENT))
    assert tombstone(world.storage(), OWNER, keys.image_id)
    assert _media(world) == []
    assert (
        decide(world.storage(), OWNER, keys.image_id, Decision.CLEARED, moderator="m")[0] is Review.NOT_FOUND
    )


# --- the policy and the adapters ---------------------------------------------------------------------


def test_reject_wins_over_hold_and_parents_match() -> None:
    policy = ModerationPolicy(
        rules=(
            ModerationRule(category="Explicit", min_confidence=90, action=ModerationAction.REJECT),
            ModerationRule(category="Explicit", min_confidence=50, action=ModerationAction.HOLD),
        )
    )
    child = ModerationLabel(name="Exposed Male Genitalia", parent="Explicit Nudity", confidence=99)
    assert policy.verdict([child]) == (None, ())  # its parent is not the rule's category
    top = ModerationLabel(name="Explicit", confidence=95)
    assert policy.verdict([top])[0] is ModerationAction.REJECT
    assert policy.verdict([dataclasses.replace(top, confidence=70)])[0] is ModerationAction.HOLD
    level2 = ModerationLabel(name="Explicit Nudity", parent="Explicit", confidence=92)
    assert policy.verdict([level2])[0] is ModerationAction.REJECT
    assert ModerationPolicy.from_env(policy.to_env()) == policy


def test_the_rekognition_adapter_sends_the_bytes_and_reads_the_documented_response() -> None:
    client = boto3.client("rekognition", region_name="eu-west-1")
    jpeg = camera_jpeg("x.jpg", (200, 150)).data
    with Stubber(client) as stub:
        # Response shape from the DetectModerationLabels API reference (taxonomy v7 labels).
        stub.add_response(
            "detect_moderation_labels",
            {
                "ModerationLabels": [
                    {"Confidence": 88.21, "Name": "Violence", "ParentName": "", "TaxonomyLevel": 1},
                    {
                        "Confidence": 88.21,
                        "Name": "Graphic Violence",
                        "ParentName": "Violence",
                        "TaxonomyLevel": 2,
                    },
                ],
                "ModerationModelVersion": "7.0",
                "ContentTypes": [],
            },
            {"Image": {"Bytes": jpeg}, "MinConfidence": 60.0},
        )
        labels, model = RekognitionModerator(client).labels(jpeg, min_confidence=60.0)
        stub.assert_no_pending_responses()
    assert model == "7.0"
    assert labels == [
        ModerationLabel(name="Violence", parent="", confidence=88.21),
        ModerationLabel(name="Graphic Violence", parent="Violence", confidence=88.21),
    ]
    assert DEFAULT_POLICY.verdict(labels)[0] is ModerationAction.HOLD


def test_the_rekognition_adapter_raises_on_failure() -> None:
    client = boto3.client("rekognition", region_name="eu-west-1")
    with Stubber(client) as stub:
        stub.add_client_error(
            "detect_moderation_labels", service_error_code="ThrottlingException", http_status_code=400
        )
        with pytest.raises(ClientError):
            RekognitionModerator(client).labels(b"\xff\xd8", min_confidence=50)


def test_the_local_moderator_labels_strongly_red_pictures_only() -> None:
    def jpeg(colour: tuple[int, int, int]) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (1080, 720), colour).save(out, "JPEG")
        return out.getvalue()

    labels, _ = LocalModerator().labels(jpeg((200, 30, 40)), min_confidence=60)
    assert DEFAULT_POLICY.verdict(labels)[0] is ModerationAction.HOLD
    assert LocalModerator().labels(jpeg((90, 140, 200)), min_confidence=60)[0] == []
    assert LocalModerator().labels(camera_jpeg("c.jpg", (800, 600)).data, min_confidence=60)[0] == []
