"""The housekeeping function's tasks against moto: orphaned and late originals removed by a principal
that never decodes, rejected originals tagged for the lifecycle rule, an erasure of thousands of images
with the same reads per step however far it has come, malformed tasks dropped."""

from __future__ import annotations

import json
from typing import Any

import pytest
from local_runner.inputs import camera_jpeg
from photo_contract import ImageKeys
from photo_contract.housekeeping import HousekeepingTask, Task
from photo_contract.registry import ImageRecord, Status
from photo_contract.runtime import DISCARD_TAG
from resize_worker.handler import ResizeWorker
from resize_worker.housekeeping import ERASE_PAGE, run
from resize_worker.housekeeping_handler import HousekeepingWorker
from resize_worker.settings import WorkerSettings
from upload_api.images import start_erasure

from tests.resize_worker.conftest import UPLOADS, World, s3_body, sqs_event

OWNER = "olga"


def _versions(world: World, key: str) -> list[dict[str, Any]]:
    return list(world.s3.list_object_versions(Bucket=UPLOADS, Prefix=key).get("Versions", []))


def test_an_original_without_a_record_is_removed(world: World, settings: WorkerSettings) -> None:
    """Its record expired (or never existed): the worker ignores it and asks housekeeping, which removes
    every version; until now such an original stayed forever, GPS tags and all."""
    keys = ImageKeys(owner=OWNER, image_id="1" * 32, extension="jpg")
    for name in ("a.jpg", "b.jpg"):
        world.s3.put_object(Bucket=UPLOADS, Key=keys.source, Body=camera_jpeg(name, (300, 200)).data)
    ResizeWorker(services=world.services(), settings=settings).handle_batch(sqs_event(s3_body(keys.source)))
    assert len(_versions(world, keys.source)) == 2  # the worker deleted nothing
    assert world.run_housekeeping() == ["removed 2 versions of an original without a record"]
    assert _versions(world, keys.source) == []


def test_the_weekly_sweep_finds_an_orphan_whose_settle_task_was_lost(world: World) -> None:
    kept = ImageKeys(owner=OWNER, image_id="2" * 32, extension="jpg")
    orphan = ImageKeys(owner=OWNER, image_id="3" * 32, extension="jpg")
    world.register(kept)  # pending: its event is on the way, so it stays
    for keys in (kept, orphan):
        world.s3.put_object(Bucket=UPLOADS, Key=keys.source, Body=b"bytes")
    assert run(world.housekeeping(), HousekeepingTask(Task.SWEEP_ORIGINALS)) == "swept 2 originals, settled 2"
    assert len(_versions(world, kept.source)) == 1 and _versions(world, orphan.source) == []


def test_a_rejected_original_is_tagged_for_the_lifecycle_rule(world: World, settings: WorkerSettings) -> None:
    keys = ImageKeys(owner=OWNER, image_id="4" * 32, extension="jpg")
    world.register(keys)
    world.s3.put_object(Bucket=UPLOADS, Key=keys.source, Body=b"not an image")
    ResizeWorker(services=world.services(), settings=settings).handle_batch(sqs_event(s3_body(keys.source)))
    assert world.record(keys).status is Status.REJECTED
    world.run_housekeeping()
    (version,) = _versions(world, keys.source)
    tags = world.s3.get_object_tagging(Bucket=UPLOADS, Key=keys.source, VersionId=version["VersionId"])
    assert tags["TagSet"] == [{"Key": DISCARD_TAG[0], "Value": DISCARD_TAG[1]}]


def _register_many(world: World, count: int) -> list[str]:
    ids = [f"{i:031x}e" for i in range(count)]
    now = "2026-11-30T00:00:00.000+00:00"
    for start in range(0, count, 100):
        world.registry.create_pending(
            [
                ImageRecord(
                    owner=OWNER,
                    image_id=image_id,
                    batch_id="0" * 32,
                    status=Status.PENDING,
                    content_type="image/jpeg",
                    declared_bytes=1,
                    created_at=now,
                    updated_at=now,
                )
                for image_id in ids[start : start + 100]
            ]
        )
    return ids


@pytest.mark.slow  # ~2 minutes: moto takes ~15 ms a write, and an image is four
def test_an_erasure_of_thousands_reads_the_same_per_step_and_finishes_without_the_client(
    world: World,
) -> None:
    """Before, each call started from the owner's oldest item and filtered tombstones after reading
    them: call k made k queries, and at ~50,000 images the calls timed out. Now a step reads the job
    and one page from where the job is, whatever came before."""
    count = 2_000
    _register_many(world, count)
    reads_per_step: list[int] = []
    reads = {"n": 0}

    def count_read(**_: Any) -> None:
        reads["n"] += 1

    client = world.registry._db
    for operation in ("Query", "GetItem", "Scan", "BatchGetItem"):
        client.meta.events.register(f"before-call.dynamodb.{operation}", count_read)
    job = start_erasure(world.registry, world.queue(), OWNER)  # what DELETE /v1/me/images does
    steps, deleted = 0, 0
    while messages := world.sqs.receive_message(QueueUrl=world.housekeeping_url).get("Messages", []):
        reads["n"] = 0
        task = HousekeepingTask.from_body(messages[0]["Body"])
        run(world.housekeeping(), task)
        world.sqs.delete_message(QueueUrl=world.housekeeping_url, ReceiptHandle=messages[0]["ReceiptHandle"])
        reads_per_step.append(reads["n"])
        steps += 1
        # Drained as it goes (moto's SQS scans every message it holds on each delivery).
        deleted += sum(e["detail-type"] == "Image Deleted" for e in world.events_seen())
    finished = world.registry.erasure(OWNER)
    assert finished is not None and finished.job_id == job.job_id
    assert (finished.state.value, finished.erased) == ("done", count)
    assert steps == count // ERASE_PAGE
    # The job, the page, and one read per image (the tombstone's own conditional write reads nothing
    # else): the same on the first step as on the last.
    assert set(reads_per_step) == {reads_per_step[0]}, reads_per_step
    assert world.registry.page(OWNER, limit=10) == ([], None)
    assert deleted == count


def test_the_handler_drops_a_malformed_task_and_runs_a_scheduled_one(world: World) -> None:
    worker = HousekeepingWorker(world.housekeeping())
    bad = sqs_event(json.dumps({"task": "settle", "owner": "../../etc"}), json.dumps({"task": "nope"}))
    assert worker.handle(bad) == {"batchItemFailures": []}  # nobody can fix them by retrying: dropped
    assert worker.handle({"task": "sweep-outbox"}) == {"done": "sent 0 unsent events"}


def test_a_rejected_original_a_reprocess_makes_ready_loses_its_expiry_tag(
    world: World, settings: WorkerSettings
) -> None:
    from dataclasses import replace

    from photo_contract.variants import FEED_VARIANTS, VariantSpec
    from photo_resize import ResizeOptions
    from resize_worker.process import process_object

    keys = ImageKeys(owner=OWNER, image_id="5" * 32, extension="jpg")
    world.register(keys)
    photo = camera_jpeg("big.jpg", (800, 600)).data
    world.s3.put_object(Bucket=UPLOADS, Key=keys.source, Body=photo)
    strict = replace(settings, max_source_bytes=len(photo) - 1)  # too many bytes: rejected
    process_object(world.services(), strict, bucket=UPLOADS, key=keys.source)
    world.run_housekeeping()
    (version,) = _versions(world, keys.source)
    where = {"Bucket": UPLOADS, "Key": keys.source, "VersionId": version["VersionId"]}
    assert world.s3.get_object_tagging(**where)["TagSet"]  # marked to expire in 7 days
    # The cap is raised and the spec changed: the reprocess makes the image ready.
    respecced = replace(
        settings, resize=ResizeOptions(variants=(*FEED_VARIANTS, VariantSpec(name="w320", width=320)))
    )
    process_object(world.services(), respecced, bucket=UPLOADS, key=keys.source)
    assert world.record(keys).status is Status.READY
    world.run_housekeeping()
    assert world.s3.get_object_tagging(**where)["TagSet"] == []  # a ready image's original stays
