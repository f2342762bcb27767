"""What an image cost, in its Image Ready event: the worker's processing milliseconds and the bytes it
wrote per variant, checked against what S3 holds and the time the handler took (make cost prices both)."""

from __future__ import annotations

import time
from typing import Any

from local_runner.inputs import camera_jpeg
from photo_contract import ImageKeys
from resize_worker.handler import ResizeWorker

from tests.resize_worker.conftest import MEDIA, UPLOADS, World, s3_body, sqs_event


def test_the_ready_event_carries_processing_ms_and_the_bytes_written_per_variant(
    s3: Any, world: World, worker: ResizeWorker
) -> None:
    keys = ImageKeys(owner="alice", image_id="c" * 32, extension="jpg")
    world.register(keys)
    s3.put_object(Bucket=UPLOADS, Key=keys.source, Body=camera_jpeg("p.jpg", (2400, 1600)).data)

    started = time.perf_counter()
    assert worker.handle_batch(sqs_event(s3_body(keys.source))) == {"batchItemFailures": []}
    handled_ms = (time.perf_counter() - started) * 1000

    (event,) = world.events_seen()
    detail = event["detail"]
    # Measured, and inside the handler's own wall time (the registry write and the event are not in it).
    assert isinstance(detail["processing_ms"], int)
    assert 0 < detail["processing_ms"] <= handled_ms
    assert world.record(keys).processing_ms == detail["processing_ms"]
    # Every variant file's size is what S3 stores under its key, and their sum is bytes_written.
    stored = {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket=MEDIA)["Contents"]}
    assert {v["key"]: v["size_bytes"] for v in detail["variants"]} == stored
    assert detail["bytes_written"] == sum(stored.values()) > 0
