"""What an image cost, in its Image Ready event: the worker's processing milliseconds and the bytes it
wrote per variant, checked against what S3 holds and the time the handler took (make cost prices both)."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from local_runner.inputs import camera_jpeg
from photo_contract import ImageKeys
from photo_contract.variants import FEED_VARIANTS
from photo_ops.bill import variant_kib_from
from photo_ops.cost import load_measured
from resize_worker.handler import ResizeWorker

from tests.conftest import REPO
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


def test_on_the_corpus_the_events_bytes_agree_with_the_cost_models(
    s3: Any, world: World, worker: ResizeWorker, corpus: Path
) -> None:
    """make cost prices storage and delivery from the formats benchmark's bytes per variant; the events
    of the same photos, made by the worker, must say the same (within 15%: medians of 8 photos)."""
    photos = sorted((corpus / "camera").glob("*.jpg"))
    for index, photo in enumerate(photos):
        keys = ImageKeys(owner="alice", image_id=f"{index + 1:032x}", extension="jpg")
        world.register(keys)
        s3.put_object(Bucket=UPLOADS, Key=keys.source, Body=photo.read_bytes())
        assert worker.handle_batch(sqs_event(s3_body(keys.source))) == {"batchItemFailures": []}
    details = [e["detail"] for e in world.events_seen() if e["detail-type"] == "Image Ready"]
    assert len(details) == len(photos) >= 8

    measured = load_measured(REPO / "bench" / "results", FEED_VARIANTS)
    event_kib = statistics.median(d["bytes_written"] for d in details) / 1024
    assert event_kib == pytest.approx(measured.variant_kib_per_photo, rel=0.15)
    model = variant_kib_from(json.loads((REPO / "bench" / "results" / "formats.json").read_text()))
    for (variant, fmt), kib in model.items():
        sizes = [
            v["size_bytes"] / 1024
            for d in details
            for v in d["variants"]
            if v["name"] == variant and v["content_type"] == f"image/{fmt}"
        ]
        if sizes:  # the model's table has formats the spec does not make (WebP)
            assert statistics.median(sizes) == pytest.approx(kib, rel=0.15), (variant, fmt)
