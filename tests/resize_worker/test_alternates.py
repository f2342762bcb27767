"""Two steps: ready with the JPEGs, the alternates (AVIF) after, against moto. The races with two writers:
a delete between the steps and during the second, a spec change between them, a duplicate of either,
a crash between the second step's write and its event."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from local_runner.inputs import camera_jpeg
from photo_contract import ImageKeys
from photo_contract.alternates import AlternatesQueue, AlternatesState, AlternatesTask
from photo_contract.events import ALTERNATES_DETAIL_TYPE
from photo_contract.registry import Status
from photo_contract.variants import FEED_VARIANTS, VariantSpec
from photo_resize import Encodings, ResizeOptions, resize_image
from resize_worker.alternates import make_alternates
from resize_worker.handler import ResizeWorker
from resize_worker.process import ProcessStatus, Services
from resize_worker.reprocess import ReprocessRequest, reprocess_item
from resize_worker.settings import WorkerSettings
from upload_api.images import delete_image

from tests.resize_worker.conftest import MEDIA, UPLOADS, World, s3_body, sqs_event

KEYS = ImageKeys(owner="alice", image_id="a" * 32, extension="jpg")
NEW_SPEC = (*FEED_VARIANTS, VariantSpec(name="w320", width=320))


@pytest.fixture
def queue(world: World) -> AlternatesQueue:
    return AlternatesQueue(world.sqs, world.sqs.create_queue(QueueName="alternates")["QueueUrl"])


@pytest.fixture
def services(world: World, queue: AlternatesQueue) -> Services:
    return replace(world.services(), alternates=queue)


@pytest.fixture
def first(world: World, services: Services, settings: WorkerSettings) -> ResizeWorker:
    """The resize worker as the first of two steps; its original is uploaded and registered."""
    world.register(KEYS)
    world.s3.put_object(Bucket=UPLOADS, Key=KEYS.source, Body=camera_jpeg("p.jpg", (2400, 1600)).data)
    return ResizeWorker(services=services, settings=settings)


def _tasks(world: World, queue: AlternatesQueue) -> list[AlternatesTask]:
    messages = world.sqs.receive_message(QueueUrl=queue.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    for m in messages:
        world.sqs.delete_message(QueueUrl=queue.queue_url, ReceiptHandle=m["ReceiptHandle"])
    return [AlternatesTask.from_body(m["Body"]) for m in messages]


def _media(world: World) -> set[str]:
    return {o["Key"] for o in world.s3.list_objects_v2(Bucket=MEDIA).get("Contents", [])}


def _types(world: World) -> list[str]:
    return [e["detail-type"] for e in world.events_seen()]


def test_ready_with_its_jpegs_then_the_alternates_are_added(
    world: World, first: ResizeWorker, queue: AlternatesQueue, services: Services, settings: WorkerSettings
) -> None:
    assert first.handle_batch(sqs_event(s3_body(KEYS.source))) == {"batchItemFailures": []}
    record = world.record(KEYS)
    assert record.status is Status.READY and record.alternates is AlternatesState.PENDING
    assert {v.content_type for v in record.variants} == {"image/jpeg"} and len(record.variants) == 3
    (ready,) = world.events_seen()
    assert ready["detail"]["formats"] == ["jpeg"] and ready["detail"]["alternates_pending"] is True
    (task,) = _tasks(world, queue)
    assert (task.version, task.bucket) == (record.version, UPLOADS)

    outcome = make_alternates(services, settings, task)

    assert outcome.status is ProcessStatus.READY
    record = world.record(KEYS)
    assert record.alternates is AlternatesState.DONE
    avif = [v for v in record.variants if v.content_type == "image/avif"]
    assert sorted(v.name for v in avif) == ["w1080", "w640"] and len(record.variants) == 5
    # Listed as one step lists them: each variant's encodings together, in the spec's order.
    assert [(v.name, v.content_type) for v in record.variants] == [
        (spec.name, encoding.format.content_type) for spec in FEED_VARIANTS for encoding in spec.encodings
    ]
    assert _media(world) == {v.key for v in record.variants}  # every file under the one version
    (added,) = world.events_seen()
    assert added["detail-type"] == ALTERNATES_DETAIL_TYPE
    assert {v["key"] for v in added["detail"]["variants"]} == {v.key for v in avif}
    # The same geometry as a one-step make of the same original.
    whole = resize_image(world.s3.get_object(Bucket=UPLOADS, Key=KEYS.source)["Body"].read(), ResizeOptions())
    assert {(v.name, v.format.value, v.width, v.height) for v in whole.variants} == {
        (v.name, v.content_type.removeprefix("image/"), v.width, v.height) for v in record.variants
    }


def test_a_delete_between_the_steps_leaves_nothing_behind(
    world: World, first: ResizeWorker, queue: AlternatesQueue, services: Services, settings: WorkerSettings
) -> None:
    first.handle_batch(sqs_event(s3_body(KEYS.source)))
    (task,) = _tasks(world, queue)
    assert delete_image(world.storage(), KEYS.owner, KEYS.image_id)
    assert make_alternates(services, settings, task).status is ProcessStatus.IGNORED
    assert world.record(KEYS).status is Status.DELETED
    assert not any(k.endswith(".avif") for k in _media(world))


def test_a_delete_during_the_second_step_loses_it_its_write_and_its_files(
    world: World, first: ResizeWorker, queue: AlternatesQueue, services: Services, settings: WorkerSettings
) -> None:
    first.handle_batch(sqs_event(s3_body(KEYS.source)))
    (task,) = _tasks(world, queue)
    real = services.registry

    class DeleteBeforeWrite:
        """The registry as the step sees it: the delete lands after the files, before the record."""

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def add_alternates(self, owner: str, image_id: str, **kwargs: Any) -> Any:
            assert any(k.endswith(".avif") for k in _media(world))  # written, not yet recorded
            assert delete_image(world.storage(), owner, image_id)
            return real.add_alternates(owner, image_id, **kwargs)

    racing = replace(services, registry=DeleteBeforeWrite())  # type: ignore[arg-type]
    assert make_alternates(racing, settings, task).status is ProcessStatus.SUPERSEDED
    assert world.record(KEYS).status is Status.DELETED
    assert not any(k.endswith(".avif") for k in _media(world))


def test_an_original_deleted_under_the_second_step_is_no_failure(
    world: World, first: ResizeWorker, queue: AlternatesQueue, services: Services, settings: WorkerSettings
) -> None:
    first.handle_batch(sqs_event(s3_body(KEYS.source)))
    (task,) = _tasks(world, queue)
    seen = world.record(KEYS)
    real = services.registry

    class DeleteAfterRead:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def get(self, owner: str, image_id: str) -> Any:
            if not getattr(self, "deleted", False):
                self.deleted = True
                assert delete_image(world.storage(), owner, image_id)  # the original goes too
                return seen
            return real.get(owner, image_id)

    racing = replace(services, registry=DeleteAfterRead())  # type: ignore[arg-type]
    assert make_alternates(racing, settings, task).status is ProcessStatus.SUPERSEDED
    assert not any(k.endswith(".avif") for k in _media(world))


def test_a_spec_change_between_the_steps_makes_the_old_task_moot(
    world: World, first: ResizeWorker, queue: AlternatesQueue, services: Services, settings: WorkerSettings
) -> None:
    first.handle_batch(sqs_event(s3_body(KEYS.source)))
    (task,) = _tasks(world, queue)
    head = world.s3.head_object(Bucket=UPLOADS, Key=KEYS.source)
    item = {
        "Key": KEYS.source,
        "Etag": head["ETag"],
        "LastModified": head["LastModified"].timestamp(),
        "Size": 1,
    }
    respecced = replace(settings, resize=ResizeOptions(variants=NEW_SPEC))
    assert (
        reprocess_item(world.services(), respecced, bucket=UPLOADS, item=item, request=ReprocessRequest())[
            "status"
        ]
        == "ready"
    )  # a reprocess makes every encoding in one step
    remade = world.record(KEYS)
    assert remade.version != task.version and remade.alternates is None

    assert make_alternates(services, settings, task).status is ProcessStatus.IGNORED
    assert world.record(KEYS) == remade
    assert _media(world) == {v.key for v in remade.variants}  # nothing of the old version is left


def test_a_duplicate_of_either_step_changes_nothing(
    world: World, first: ResizeWorker, queue: AlternatesQueue, services: Services, settings: WorkerSettings
) -> None:
    first.handle_batch(sqs_event(s3_body(KEYS.source)))
    # A duplicate of the first step while its alternates are pending queues the task again (a crash may
    # have lost the first): the second step takes it once.
    first.handle_batch(sqs_event(s3_body(KEYS.source)))
    tasks = _tasks(world, queue)
    assert len(tasks) == 2 and tasks[0] == tasks[1]
    assert make_alternates(services, settings, tasks[0]).status is ProcessStatus.READY
    after = world.record(KEYS)
    assert make_alternates(services, settings, tasks[1]).status is ProcessStatus.ALREADY_DONE
    assert world.record(KEYS) == after and len(after.variants) == 5
    first.handle_batch(sqs_event(s3_body(KEYS.source)))  # done: nothing is queued again
    assert _tasks(world, queue) == []
    assert _types(world) == ["Image Ready", ALTERNATES_DETAIL_TYPE]


def test_a_crash_between_the_write_and_the_event_is_finished_by_the_retry(
    world: World, first: ResizeWorker, queue: AlternatesQueue, services: Services, settings: WorkerSettings
) -> None:
    first.handle_batch(sqs_event(s3_body(KEYS.source)))
    (task,) = _tasks(world, queue)
    world.events_seen()

    class Down:
        def put_events(self, **_: Any) -> Any:
            raise ConnectionError("EventBridge is unreachable")

    with pytest.raises(ConnectionError):
        make_alternates(replace(services, events=Down()), settings, task)
    assert world.record(KEYS).alternates is AlternatesState.MADE
    assert make_alternates(services, settings, task).status is ProcessStatus.ALREADY_DONE
    assert world.record(KEYS).alternates is AlternatesState.DONE
    assert _types(world) == [ALTERNATES_DETAIL_TYPE]


def test_one_step_without_the_queue_makes_everything_as_before(
    world: World, settings: WorkerSettings
) -> None:
    world.register(KEYS)
    world.s3.put_object(Bucket=UPLOADS, Key=KEYS.source, Body=camera_jpeg("p.jpg", (2400, 1600)).data)
    ResizeWorker(services=world.services(), settings=settings).handle_batch(sqs_event(s3_body(KEYS.source)))
    record = world.record(KEYS)
    assert record.alternates is None and len(record.variants) == 5
    (ready,) = world.events_seen()
    assert ready["detail"]["formats"] == ["avif", "jpeg"] and ready["detail"]["alternates_pending"] is False


def test_the_core_makes_either_half_of_the_encodings() -> None:
    data = camera_jpeg("p.jpg", (2400, 1600)).data
    primary = resize_image(data, ResizeOptions(encodings=Encodings.PRIMARY))
    alternates = resize_image(data, ResizeOptions(encodings=Encodings.ALTERNATES))
    assert {(v.name, v.format.value) for v in primary.variants} == {
        ("w1080", "jpeg"),
        ("w640", "jpeg"),
        ("thumb150", "jpeg"),
    }
    assert {(v.name, v.format.value) for v in alternates.variants} == {("w1080", "avif"), ("w640", "avif")}
    assert primary.placeholder == alternates.placeholder  # the same frames, made the same way


class _RetriedWrites:
    """The registry as botocore sees it after a lost answer: the write is applied, then retried, and the
    retry's condition fails (DynamoDB answers ConditionalCheckFailed for the write that already won)."""

    def __init__(self, real: Any, method: str) -> None:
        self._real, self._method = real, method

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._real, name)
        if name != self._method:
            return attribute

        def applied_then_refused(*args: Any, **kwargs: Any) -> Any:
            attribute(*args, **kwargs)
            return attribute(*args, **kwargs)

        return applied_then_refused


def test_a_first_step_write_retried_after_a_lost_answer_still_queues_and_announces(
    world: World, queue: AlternatesQueue, services: Services, settings: WorkerSettings
) -> None:
    world.register(KEYS)
    world.s3.put_object(Bucket=UPLOADS, Key=KEYS.source, Body=camera_jpeg("p.jpg", (2400, 1600)).data)
    retried = replace(services, registry=_RetriedWrites(services.registry, "complete"))  # type: ignore[arg-type]
    worker = ResizeWorker(services=retried, settings=settings)
    assert worker.handle_batch(sqs_event(s3_body(KEYS.source))) == {"batchItemFailures": []}
    record = world.record(KEYS)
    assert record.status is Status.READY and record.event_pending is False
    assert _types(world) == ["Image Ready"]
    assert len(_tasks(world, queue)) == 1  # the second step is not lost with the answer
    assert len(_media(world)) == 3  # the JPEGs the write names were kept


def test_a_second_step_write_retried_after_a_lost_answer_still_announces(
    world: World, first: ResizeWorker, queue: AlternatesQueue, services: Services, settings: WorkerSettings
) -> None:
    first.handle_batch(sqs_event(s3_body(KEYS.source)))
    (task,) = _tasks(world, queue)
    world.events_seen()
    retried = replace(services, registry=_RetriedWrites(services.registry, "add_alternates"))  # type: ignore[arg-type]
    assert make_alternates(retried, settings, task).status is ProcessStatus.ALREADY_DONE
    record = world.record(KEYS)
    assert record.alternates is AlternatesState.DONE and len(record.variants) == 5
    assert _types(world) == [ALTERNATES_DETAIL_TYPE]
    assert _media(world) == {v.key for v in record.variants}
