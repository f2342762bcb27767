"""The memory and time budget on the worker path: an image whose header says it would not fit is
rejected before decoding; a batch stops starting images when too little time is left."""

from __future__ import annotations

import io
from dataclasses import replace

from photo_contract import ImageKeys
from photo_contract.budget import memory_budget_bytes, worst_image_seconds
from photo_resize import ResizeOptions
from PIL import Image
from resize_worker.handler import ResizeWorker
from resize_worker.settings import WorkerSettings

from tests.resize_worker.conftest import MEDIA, UPLOADS, World, s3_body, sqs_event


def _png(size: tuple[int, int], mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG")
    return out.getvalue()


def _upload(world: World, data: bytes, image_id: str) -> ImageKeys:
    keys = ImageKeys.for_upload(owner="alice", image_id=image_id, content_type="image/png")
    world.register(keys, content_type="image/png")
    world.s3.put_object(Bucket=UPLOADS, Key=keys.source, Body=data)
    return keys


class _Context:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms
        self.function_name = "resize"
        self.aws_request_id = "request-1"
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:resize"
        self.memory_limit_in_mb = 1024

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_an_image_over_the_memory_budget_is_rejected_before_decoding(
    world: World, settings: WorkerSettings
) -> None:
    # The header says 2000x2000 RGBA; the pixel data is cut off. Decoding would find it truncated: the
    # budget verdict proves the check ran on the header alone.
    whole = _png((2000, 2000))
    keys = _upload(world, whole[: len(whole) // 2], "0" * 31 + "1")
    tight = replace(settings, resize=ResizeOptions(memory_budget_bytes=2000 * 2000 * 4))
    response = ResizeWorker(services=world.services(), settings=tight).handle_batch(
        sqs_event(s3_body(keys.source))
    )
    assert response == {"batchItemFailures": []}
    rejection = world.record(keys)
    assert rejection.reason == "exceeds_memory_budget"
    assert rejection.detail is not None and "2000x2000 RGBA PNG" in rejection.detail


def test_the_same_image_within_budget_is_processed(world: World, settings: WorkerSettings) -> None:
    keys = _upload(world, _png((2000, 2000)), "0" * 31 + "2")
    roomy = replace(settings, resize=ResizeOptions(memory_budget_bytes=2000 * 2000 * 4 * 5))
    worker = ResizeWorker(services=world.services(), settings=roomy)
    assert worker.handle_batch(sqs_event(s3_body(keys.source))) == {"batchItemFailures": []}
    assert world.record(keys).status == "ready"


def test_records_are_deferred_untouched_when_time_runs_short(world: World, settings: WorkerSettings) -> None:
    s3 = world.s3
    keys = [_upload(world, _png((64, 64), "RGB"), f"{i:032x}") for i in range(1, 4)]
    event = sqs_event(*(s3_body(k.source) for k in keys))
    reserved = replace(settings, time_reserve_seconds=5.0)
    worker = ResizeWorker(services=world.services(), settings=reserved)

    response = worker.handle_batch(event, _Context(remaining_ms=4_000))  # type: ignore[arg-type]

    deferred = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    assert deferred == {record["messageId"] for record in event["Records"]}
    assert s3.list_objects_v2(Bucket=MEDIA).get("KeyCount", 0) == 0  # nothing started

    response = worker.handle_batch(event, _Context(remaining_ms=50_000))  # type: ignore[arg-type]
    assert response == {"batchItemFailures": []}


def test_lambdas_memory_variable_sets_the_budget_and_the_reserve() -> None:
    base = {"MEDIA_BUCKET": MEDIA, "REGISTRY_TABLE": "t", "EVENT_BUS_NAME": "b"}
    settings = WorkerSettings.from_env({**base, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"})
    assert settings.resize.memory_budget_bytes == memory_budget_bytes(1024, settings.max_source_bytes)
    assert settings.time_reserve_seconds == worst_image_seconds(1024)
    unset = WorkerSettings.from_env(base)
    assert unset.resize.memory_budget_bytes is None and unset.time_reserve_seconds is None
