"""The memory and time budget on the worker path: an image whose header says it would not fit is
rejected before decoding; a batch stops starting images when too little time is left."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

from photo_contract import ImageKeys, Rejection
from photo_contract.budget import memory_budget_bytes, worst_image_seconds
from photo_resize import ResizeOptions
from PIL import Image
from resize_worker.handler import ResizeWorker
from resize_worker.settings import WorkerSettings

from tests.resize_worker.conftest import MEDIA, UPLOADS, s3_body, sqs_event


def _png(size: tuple[int, int], mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG")
    return out.getvalue()


def _upload(s3: Any, data: bytes, image_id: str) -> ImageKeys:
    keys = ImageKeys.for_upload(owner="alice", image_id=image_id, content_type="image/png")
    s3.put_object(Bucket=UPLOADS, Key=keys.source, Body=data)
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
    s3: Any, settings: WorkerSettings
) -> None:
    # The header says 2000x2000 RGBA; the pixel data is cut off. Decoding would find it truncated: the
    # budget verdict proves the check ran on the header alone.
    whole = _png((2000, 2000))
    keys = _upload(s3, whole[: len(whole) // 2], "0" * 31 + "1")
    tight = replace(settings, resize=ResizeOptions(memory_budget_bytes=2000 * 2000 * 4))
    response = ResizeWorker(s3=s3, settings=tight).handle_batch(sqs_event(s3_body(keys.source)))
    assert response == {"batchItemFailures": []}
    rejection = Rejection.from_json(s3.get_object(Bucket=MEDIA, Key=keys.rejection)["Body"].read())
    assert rejection.reason == "exceeds_memory_budget"
    assert "2000x2000 RGBA PNG" in rejection.detail


def test_the_same_image_within_budget_is_processed(s3: Any, settings: WorkerSettings) -> None:
    keys = _upload(s3, _png((2000, 2000)), "0" * 31 + "2")
    roomy = replace(settings, resize=ResizeOptions(memory_budget_bytes=2000 * 2000 * 4 * 5))
    assert ResizeWorker(s3=s3, settings=roomy).handle_batch(sqs_event(s3_body(keys.source))) == {
        "batchItemFailures": []
    }
    s3.head_object(Bucket=MEDIA, Key=keys.manifest)


def test_records_are_deferred_untouched_when_time_runs_short(s3: Any, settings: WorkerSettings) -> None:
    keys = [_upload(s3, _png((64, 64), "RGB"), f"{i:032x}") for i in range(1, 4)]
    event = sqs_event(*(s3_body(k.source) for k in keys))
    reserved = replace(settings, time_reserve_seconds=5.0)
    worker = ResizeWorker(s3=s3, settings=reserved)

    response = worker.handle_batch(event, _Context(remaining_ms=4_000))  # type: ignore[arg-type]

    deferred = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    assert deferred == {record["messageId"] for record in event["Records"]}
    assert s3.list_objects_v2(Bucket=MEDIA).get("KeyCount", 0) == 0  # nothing started

    response = worker.handle_batch(event, _Context(remaining_ms=50_000))  # type: ignore[arg-type]
    assert response == {"batchItemFailures": []}


def test_lambdas_memory_variable_sets_the_budget_and_the_reserve() -> None:
    settings = WorkerSettings.from_env({"MEDIA_BUCKET": MEDIA, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"})
    assert settings.resize.memory_budget_bytes == memory_budget_bytes(1024, settings.max_source_bytes)
    assert settings.time_reserve_seconds == worst_image_seconds(1024)
    unset = WorkerSettings.from_env({"MEDIA_BUCKET": MEDIA})
    assert unset.resize.memory_budget_bytes is None and unset.time_reserve_seconds is None
