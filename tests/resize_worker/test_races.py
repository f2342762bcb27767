"""Races that can fail: a delete while the worker is making variants leaves no variant, no ready record
and no ready event, wherever in the worker's run it lands."""

from __future__ import annotations

from typing import Any

import pytest
from local_runner.inputs import camera_jpeg
from photo_contract import ImageKeys
from photo_contract.registry import Status
from photo_contract.variants import FEED_VARIANTS
from resize_worker.handler import ResizeWorker
from resize_worker.settings import WorkerSettings
from upload_api.images import delete_image

from tests.resize_worker.conftest import MEDIA, UPLOADS, World, s3_body, sqs_event

OWNER = "alice"
IMAGE_ID = "0" * 31 + "7"
OUTPUTS = sum(len(spec.encodings) for spec in FEED_VARIANTS)  # objects one image's variants make


@pytest.mark.parametrize(
    "after_puts", [1, OUTPUTS], ids=["after-the-first-variant", "after-the-last-variant"]
)
def test_a_delete_during_processing_leaves_nothing(
    world: World, settings: WorkerSettings, after_puts: int
) -> None:
    s3 = world.s3
    keys = ImageKeys(owner=OWNER, image_id=IMAGE_ID, extension="jpg")
    world.register(keys)
    s3.put_object(Bucket=UPLOADS, Key=keys.source, Body=camera_jpeg("r.jpg", (1600, 1200)).data)
    storage = world.storage()
    original_put = s3.put_object
    puts: list[str] = []

    def put_then_maybe_delete(**kw: Any) -> Any:
        result = original_put(**kw)
        puts.append(kw["Key"])
        if len(puts) == after_puts:
            assert delete_image(storage, OWNER, IMAGE_ID)  # the user deletes the post right now
        return result

    s3.put_object = put_then_maybe_delete
    response = ResizeWorker(services=world.services(), settings=settings).handle_batch(
        sqs_event(s3_body(keys.source))
    )
    s3.put_object = original_put

    assert response == {"batchItemFailures": []}
    assert len(puts) == OUTPUTS  # the worker did make its variants
    assert s3.list_objects_v2(Bucket=MEDIA).get("KeyCount", 0) == 0  # and none is left
    assert s3.list_object_versions(Bucket=UPLOADS).get("Versions", []) == []
    record = world.record(keys)
    assert (record.status, record.variants) == (Status.DELETED, ())
    assert [e["detail-type"] for e in world.events_seen()] == ["Image Deleted"]


def test_a_deleted_image_never_becomes_ready(world: World, settings: WorkerSettings) -> None:
    """The event of an upload arrives after the delete (a late or replayed message)."""
    s3 = world.s3
    keys = ImageKeys(owner=OWNER, image_id=IMAGE_ID, extension="jpg")
    world.register(keys)
    storage = world.storage()
    assert delete_image(storage, OWNER, IMAGE_ID)
    s3.put_object(Bucket=UPLOADS, Key=keys.source, Body=camera_jpeg("r.jpg", (800, 600)).data)

    ResizeWorker(services=world.services(), settings=settings).handle_batch(sqs_event(s3_body(keys.source)))

    assert world.record(keys).status is Status.DELETED
    assert s3.list_objects_v2(Bucket=MEDIA).get("KeyCount", 0) == 0
    # The worker may not delete originals: it asked housekeeping, which removes the late one.
    assert len(s3.list_object_versions(Bucket=UPLOADS).get("Versions", [])) == 1
    assert world.run_housekeeping() == ["removed 1 versions of an original deleted"]
    assert s3.list_object_versions(Bucket=UPLOADS).get("Versions", []) == []


def test_a_duplicate_delivery_processed_at_the_same_time_keeps_the_committed_set(
    world: World, settings: WorkerSettings
) -> None:
    """SQS delivers at least once: a second worker renders the same version while the first commits.
    Its write loses, and the keys it would clean up are the committed set's own (a version names its
    keys): they must stay."""
    s3 = world.s3
    keys = ImageKeys(owner=OWNER, image_id=IMAGE_ID, extension="jpg")
    world.register(keys)
    s3.put_object(Bucket=UPLOADS, Key=keys.source, Body=camera_jpeg("d.jpg", (1600, 1200)).data)
    event = sqs_event(s3_body(keys.source))
    first = ResizeWorker(services=world.services(), settings=settings)
    second_services = world.services()
    real_get = second_services.registry.get
    stale = real_get(OWNER, IMAGE_ID)  # what the second worker read before the first committed
    reads = []

    def get_then_commit_first(owner: str, image_id: str) -> Any:
        reads.append(image_id)
        if len(reads) == 1:
            assert first.handle_batch(event) == {"batchItemFailures": []}  # the first commits now
            return stale
        return real_get(owner, image_id)

    second_services.registry.get = get_then_commit_first  # type: ignore[method-assign]
    response = ResizeWorker(services=second_services, settings=settings).handle_batch(event)

    assert response == {"batchItemFailures": []}
    record = world.record(keys)
    assert record.status is Status.READY
    present = {o["Key"] for o in s3.list_objects_v2(Bucket=MEDIA).get("Contents", [])}
    assert present == {v.key for v in record.variants}  # every committed variant is still there
    assert [e["detail-type"] for e in world.events_seen()] == ["Image Ready"]  # announced once


def test_a_duplicate_delivery_racing_a_delete_recreates_nothing(
    world: World, settings: WorkerSettings
) -> None:
    """Worker 2 holds a duplicate of the event: it read the pending record; while it resizes, worker 1
    commits ready and the user deletes the image. Worker 2's late writes (the same keys: a version names
    them) must all lose to the tombstone."""
    from resize_worker import process

    s3 = world.s3
    keys = ImageKeys(owner=OWNER, image_id=IMAGE_ID, extension="jpg")
    world.register(keys)
    s3.put_object(Bucket=UPLOADS, Key=keys.source, Body=camera_jpeg("r.jpg", (1600, 1200)).data)
    storage = world.storage()
    real_resize = process.resize_image
    worker_one = ResizeWorker(services=world.services(), settings=settings)

    def worker_one_commits_and_the_user_deletes(data: bytes, options: Any) -> Any:
        result = real_resize(data, options)
        process.resize_image = real_resize  # worker 1 resizes normally
        assert worker_one.handle_batch(sqs_event(s3_body(keys.source))) == {"batchItemFailures": []}
        assert world.record(keys).status is Status.READY
        assert delete_image(storage, OWNER, IMAGE_ID)
        return result

    process.resize_image = worker_one_commits_and_the_user_deletes
    try:
        worker_two = ResizeWorker(services=world.services(), settings=settings)
        assert worker_two.handle_batch(sqs_event(s3_body(keys.source))) == {"batchItemFailures": []}
    finally:
        process.resize_image = real_resize
    assert s3.list_objects_v2(Bucket=MEDIA).get("KeyCount", 0) == 0  # no variant outlives the delete
    assert world.record(keys).status is Status.DELETED


def _fail_one_put_events(world: World, which: int) -> None:
    real_put = world.events.put_events
    calls = {"n": 0}

    def fail(**kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == which:
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]}
        return real_put(**kw)

    world.events.put_events = fail


def test_an_erasure_with_a_failed_put_events_ends_with_every_event_sent(world: World) -> None:
    """One PutEvents fails in the middle of an erasure step: the step fails (SQS delivers its task
    again), the retry redoes the page from where the job is, and every event is on the bus."""
    from photo_contract.events import EventNotPublishedError
    from photo_contract.housekeeping import HousekeepingTask, Task
    from resize_worker.housekeeping import run
    from upload_api.images import start_erasure

    ids = [f"{i:031d}a" for i in range(5)]
    for image_id in ids:
        world.register(ImageKeys(owner=OWNER, image_id=image_id, extension="jpg"))
    _fail_one_put_events(world, 3)
    job = start_erasure(world.registry, world.queue(), OWNER)
    task = HousekeepingTask(Task.ERASE, owner=OWNER, job_id=job.job_id)
    with pytest.raises(EventNotPublishedError):
        run(world.housekeeping(), task)
    assert run(world.housekeeping(), task).startswith("erased 5 of 5 (done)")  # the redelivery
    deleted = [e["detail"]["image_id"] for e in world.events_seen() if e["detail-type"] == "Image Deleted"]
    assert sorted(deleted) == ids
    assert all(
        world.record(ImageKeys(owner=OWNER, image_id=i, extension="jpg")).event_pending is False for i in ids
    )


def test_the_outbox_sweeper_sends_what_a_failed_delete_left_unsent(world: World) -> None:
    """A delete whose PutEvents failed answered 503 and the client never came back: the sweeper, a
    while later, sends the event and clears the flag."""
    from datetime import UTC, datetime, timedelta

    from photo_contract.events import EventNotPublishedError
    from resize_worker.housekeeping import sweep_outbox

    keys = ImageKeys(owner=OWNER, image_id=IMAGE_ID, extension="jpg")
    world.register(keys)
    _fail_one_put_events(world, 1)
    with pytest.raises(EventNotPublishedError):
        delete_image(world.storage(), OWNER, IMAGE_ID)
    assert world.record(keys).event_pending and world.events_seen() == []
    assert sweep_outbox(world.storage(), now=datetime.now(UTC)) == 0  # too fresh: its writer may be at work
    assert sweep_outbox(world.storage(), now=datetime.now(UTC) + timedelta(minutes=10)) == 1
    assert [e["detail-type"] for e in world.events_seen()] == ["Image Deleted"]
    assert not world.record(keys).event_pending
