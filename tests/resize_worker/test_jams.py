"""No image may jam the pipeline: encoder limits and unexpected core failures are recorded once, acked."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from photo_contract import ImageKeys
from photo_contract.registry import ImageRecord
from photo_contract.variants import FEED_VARIANTS, OutputFormat, VariantSpec
from photo_resize import ResizeOptions
from PIL import Image
from resize_worker.handler import ResizeWorker
from resize_worker.settings import WorkerSettings

from tests.resize_worker.conftest import UPLOADS, World, s3_body, sqs_event

IMAGE_ID = "0" * 31 + "1"


def _encoded(size: tuple[int, int], fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB" if fmt == "PNG" else "P", size, 0).save(out, fmt)
    return out.getvalue()


@pytest.fixture
def _upload(world: World) -> Any:
    def upload(s3: Any, data: bytes, content_type: str) -> ImageKeys:
        keys = ImageKeys.for_upload(owner="alice", image_id=IMAGE_ID, content_type=content_type)
        world.register(keys, content_type=content_type)
        s3.put_object(Bucket=UPLOADS, Key=keys.source, Body=data)
        return keys

    return upload


@pytest.fixture
def _rejection(world: World) -> Any:
    def rejection(s3: Any, keys: ImageKeys) -> ImageRecord:
        return world.record(keys)

    return rejection


@pytest.mark.parametrize(
    ("size", "fmt", "content_type"),
    [
        ((1, 70_000), "PNG", "image/png"),
        ((100, 70_000), "PNG", "image/png"),
        ((10, 65_535), "GIF", "image/gif"),
    ],
    ids=["1x70000-png", "100x70000-png", "10x65535-gif"],
)
def test_a_strip_beyond_jpeg_limits_is_rejected_once(
    s3: Any,
    world: World,
    settings: WorkerSettings,
    _upload: Any,
    _rejection: Any,
    size: tuple[int, int],
    fmt: str,
    content_type: str,
) -> None:
    """With plain fit-to-width variants (the feed's own crop a strip to 4:5 and never get here)."""
    plain = tuple(replace(spec, min_aspect=None, max_aspect=None) for spec in FEED_VARIANTS)
    worker = ResizeWorker(
        services=world.services(), settings=replace(settings, resize=ResizeOptions(variants=plain))
    )
    keys = _upload(s3, _encoded(size, fmt), content_type)
    response = worker.handle_batch(sqs_event(s3_body(keys.source)))
    assert response == {"batchItemFailures": []}  # acknowledged: no retry, nothing for the DLQ
    rejection = _rejection(s3, keys)
    assert rejection.reason == "output_too_large"
    assert "65500" in rejection.detail


def test_the_feed_variants_crop_a_strip_instead(
    s3: Any, world: World, worker: ResizeWorker, _upload: Any
) -> None:
    keys = _upload(s3, _encoded((100, 70_000), "PNG"), "image/png")
    assert worker.handle_batch(sqs_event(s3_body(keys.source))) == {"batchItemFailures": []}
    record = world.record(keys)
    assert record.status.value == "ready"
    assert {(v.name, v.width, v.height) for v in record.variants if v.name == "w1080"} == {
        ("w1080", 100, 125)
    }


def test_a_webp_variant_has_its_own_limit(
    s3: Any, world: World, settings: WorkerSettings, _upload: Any, _rejection: Any
) -> None:
    webp = (*FEED_VARIANTS, VariantSpec(name="w16k", width=200, format=OutputFormat.WEBP))
    worker = ResizeWorker(
        services=world.services(), settings=replace(settings, resize=ResizeOptions(variants=webp))
    )
    keys = _upload(s3, _encoded((100, 20_000), "PNG"), "image/png")
    assert worker.handle_batch(sqs_event(s3_body(keys.source))) == {"batchItemFailures": []}
    rejection = _rejection(s3, keys)
    assert (rejection.reason, "16383" in rejection.detail) == ("output_too_large", True)


def test_an_unexpected_core_failure_is_recorded_once_and_not_retried(
    s3: Any, worker: ResizeWorker, monkeypatch: pytest.MonkeyPatch, _upload: Any, _rejection: Any
) -> None:
    calls = []

    def broken_core(data: bytes, options: ResizeOptions) -> Any:
        calls.append(len(data))
        raise OSError("broken data stream when writing image file")

    monkeypatch.setattr("resize_worker.process.resize_image", broken_core)
    keys = _upload(s3, _encoded((64, 64), "PNG"), "image/png")
    event = sqs_event(s3_body(keys.source))

    assert worker.handle_batch(event) == {"batchItemFailures": []}
    rejection = _rejection(s3, keys)
    assert rejection.reason == "processing_failed"
    assert rejection.detail == "OSError: broken data stream when writing image file"
    # The same event again (SQS at-least-once): already recorded for this ETag, the core is not re-run.
    assert worker.handle_batch(event) == {"batchItemFailures": []}
    assert calls == [calls[0]]


def test_infrastructure_errors_are_still_retried(s3: Any, world: World, worker: ResizeWorker) -> None:
    keys = ImageKeys.for_upload(owner="alice", image_id=IMAGE_ID, content_type="image/png")
    world.register(keys)
    body = s3_body(keys.source, bucket="no-such-bucket")
    # Every record failed: Powertools fails the invocation, so SQS delivers the batch again.
    with pytest.raises(BatchProcessingError):
        worker.handle_batch(sqs_event(body))
    assert world.record(keys).status == "pending"  # nothing recorded as a verdict
