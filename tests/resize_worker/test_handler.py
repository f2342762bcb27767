"""The resize handler against moto S3: batches, duplicates, rejections, partial failures."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from local_runner.inputs import camera_jpeg
from photo_contract import ImageKeys, Manifest, Rejection
from PIL import Image
from resize_worker.handler import ResizeWorker
from resize_worker.settings import WorkerSettings

from tests.resize_worker.conftest import MEDIA, UPLOADS, s3_body, sqs_event

OWNER = "alice"


def _upload(s3: Any, data: bytes, *, image_id: str, extension: str = "jpg") -> ImageKeys:
    keys = ImageKeys(owner=OWNER, image_id=image_id, extension=extension)
    s3.put_object(Bucket=UPLOADS, Key=keys.source, Body=data)
    return keys


def _ids(n: int) -> list[str]:
    return [f"{i:032x}" for i in range(1, n + 1)]


def _media_keys(s3: Any) -> dict[str, str]:
    listing = s3.list_objects_v2(Bucket=MEDIA).get("Contents", [])
    return {obj["Key"]: obj["ETag"] for obj in listing}


@pytest.fixture(scope="module")
def photo() -> bytes:
    """Like the corpus's Landscape_6: upright 1800x1200, stored 1200x1800 with EXIF orientation 6."""
    return camera_jpeg("landscape_6.jpg", (1800, 1200), orientation=6).data


def test_photo_becomes_variants_then_manifest(s3: Any, worker: ResizeWorker, photo: bytes) -> None:
    keys = _upload(s3, photo, image_id=_ids(1)[0])

    response = worker.handle_batch(sqs_event(s3_body(keys.source)))

    assert response == {"batchItemFailures": []}
    manifest = Manifest.from_json(s3.get_object(Bucket=MEDIA, Key=keys.manifest)["Body"].read())
    assert [v.name for v in manifest.variants] == ["w1080", "w640", "thumb150"]
    assert (manifest.width, manifest.height) == (1800, 1200)
    for variant in manifest.variants:
        head = s3.head_object(Bucket=MEDIA, Key=variant.key)
        assert variant.key.startswith(keys.derived_prefix)
        assert head["ContentType"] == "image/jpeg"
        assert "immutable" in head["CacheControl"]
        assert head["ContentLength"] == variant.size_bytes


def test_duplicate_event_changes_nothing(s3: Any, worker: ResizeWorker, photo: bytes) -> None:
    keys = _upload(s3, photo, image_id=_ids(1)[0])
    event = sqs_event(s3_body(keys.source))
    worker.handle_batch(event)
    before = _media_keys(s3)
    writes: list[str] = []
    original_put = s3.put_object
    s3.put_object = lambda **kw: writes.append(kw["Key"]) or original_put(**kw)

    response = worker.handle_batch(event)

    assert response == {"batchItemFailures": []}
    assert writes == []
    assert _media_keys(s3) == before


def test_new_object_under_the_same_key_is_processed_again(
    s3: Any, worker: ResizeWorker, photo: bytes
) -> None:
    keys = _upload(s3, b"not an image at all", image_id=_ids(1)[0])
    worker.handle_batch(sqs_event(s3_body(keys.source)))
    assert s3.list_objects_v2(Bucket=MEDIA, Prefix=keys.rejection)["KeyCount"] == 1

    _upload(s3, photo, image_id=_ids(1)[0])  # the client re-POSTs within its expiry
    worker.handle_batch(sqs_event(s3_body(keys.source)))

    manifest = Manifest.from_json(s3.get_object(Bucket=MEDIA, Key=keys.manifest)["Body"].read())
    assert manifest.source_etag == s3.head_object(Bucket=UPLOADS, Key=keys.source)["ETag"].strip('"')


def test_encoded_keys_reach_the_object(s3: Any, worker: ResizeWorker, photo: bytes) -> None:
    keys = _upload(s3, photo, image_id=_ids(1)[0])
    body = s3_body(keys.source.replace("/", "%2F"), encode=False)  # as moto and some emitters send it

    assert worker.handle_batch(sqs_event(body)) == {"batchItemFailures": []}
    assert s3.list_objects_v2(Bucket=MEDIA, Prefix=keys.manifest)["KeyCount"] == 1


def test_test_event_and_foreign_keys_are_ignored(s3: Any, worker: ResizeWorker, photo: bytes) -> None:
    s3.put_object(Bucket=UPLOADS, Key="elsewhere/x.jpg", Body=photo)
    s3.put_object(Bucket=UPLOADS, Key="uploads/../../etc/passwd", Body=photo)
    event = sqs_event(
        json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": UPLOADS}),
        s3_body("elsewhere/x.jpg"),
        s3_body("uploads/../../etc/passwd"),
    )
    assert worker.handle_batch(event) == {"batchItemFailures": []}
    assert _media_keys(s3) == {}


def test_bad_image_is_recorded_and_not_retried(s3: Any, worker: ResizeWorker, photo: bytes) -> None:
    keys = _upload(s3, photo[: len(photo) // 2], image_id=_ids(1)[0])

    response = worker.handle_batch(sqs_event(s3_body(keys.source)))

    assert response == {"batchItemFailures": []}  # acknowledged: retrying the same bytes cannot help
    rejection = Rejection.from_json(s3.get_object(Bucket=MEDIA, Key=keys.rejection)["Body"].read())
    assert rejection.reason == "truncated"
    assert s3.list_objects_v2(Bucket=MEDIA, Prefix=keys.manifest)["KeyCount"] == 0


def test_oversized_original_is_rejected_without_download(
    s3: Any, settings: WorkerSettings, photo: bytes
) -> None:
    small = ResizeWorker(s3=s3, settings=WorkerSettings(media_bucket=MEDIA, max_source_bytes=len(photo) - 1))
    keys = _upload(s3, photo, image_id=_ids(1)[0])
    gets: list[str] = []
    original_get = s3.get_object
    s3.get_object = lambda **kw: gets.append(kw["Key"]) or original_get(**kw)

    assert small.handle_batch(sqs_event(s3_body(keys.source))) == {"batchItemFailures": []}

    assert keys.source not in gets
    rejection = Rejection.from_json(original_get(Bucket=MEDIA, Key=keys.rejection)["Body"].read())
    assert rejection.reason == "too_many_bytes"


def test_one_bad_record_in_a_batch_of_ten_fails_alone(s3: Any, worker: ResizeWorker, photo: bytes) -> None:
    ids = _ids(10)
    bodies = [s3_body(_upload(s3, photo, image_id=image_id).source) for image_id in ids[:9]]
    # The tenth names a bucket that does not exist: an infrastructure error, so it must be retried.
    bodies.append(s3_body(f"uploads/{OWNER}/{ids[9]}.jpg", bucket="no-such-bucket"))

    response = worker.handle_batch(sqs_event(*bodies))

    assert response == {"batchItemFailures": [{"itemIdentifier": "message-9"}]}
    for image_id in ids[:9]:
        keys = ImageKeys(owner=OWNER, image_id=image_id, extension="jpg")
        assert s3.list_objects_v2(Bucket=MEDIA, Prefix=keys.manifest)["KeyCount"] == 1


def test_malformed_message_is_returned_to_the_queue(s3: Any, worker: ResizeWorker, photo: bytes) -> None:
    keys = _upload(s3, photo, image_id=_ids(1)[0])
    response = worker.handle_batch(sqs_event("{ this is not json", s3_body(keys.source)))
    assert response == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}


def test_a_batch_that_fails_whole_raises_so_lambda_retries_it(worker: ResizeWorker) -> None:
    with pytest.raises(BatchProcessingError):
        worker.handle_batch(sqs_event("{ this is not json"))


def test_deleted_original_is_ignored(s3: Any, worker: ResizeWorker) -> None:
    body = s3_body(f"uploads/{OWNER}/{_ids(1)[0]}.jpg")  # event for an object no longer there
    assert worker.handle_batch(sqs_event(body)) == {"batchItemFailures": []}
    assert _media_keys(s3) == {}


def test_original_is_never_modified(s3: Any, worker: ResizeWorker, photo: bytes) -> None:
    keys = _upload(s3, photo, image_id=_ids(1)[0])
    before = s3.head_object(Bucket=UPLOADS, Key=keys.source)["ETag"]
    worker.handle_batch(sqs_event(s3_body(keys.source)))
    assert s3.head_object(Bucket=UPLOADS, Key=keys.source)["ETag"] == before
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=UPLOADS)["Contents"]] == [keys.source]


def test_variants_are_upright(s3: Any, worker: ResizeWorker, photo: bytes) -> None:
    keys = _upload(s3, photo, image_id=_ids(1)[0])  # stored 1200x1800 with tag 6
    worker.handle_batch(sqs_event(s3_body(keys.source)))
    import io

    data = s3.get_object(Bucket=MEDIA, Key=keys.variant("w640", "jpg"))["Body"].read()
    assert Image.open(io.BytesIO(data)).size == (640, 427)


def test_settings_come_from_the_environment() -> None:
    settings = WorkerSettings.from_env(
        {
            "MEDIA_BUCKET": "m",
            "MAX_SOURCE_BYTES": "100",
            "MAX_PIXELS": "1000",
            "VARIANTS": '[{"name":"a","width":10,"mode":"fit","format":"webp","quality":70}]',
        }
    )
    assert settings.max_source_bytes == 100
    assert settings.resize.max_pixels == 1000
    assert [(v.name, v.format.value) for v in settings.resize.variants] == [("a", "webp")]
    with pytest.raises(ValueError, match="MEDIA_BUCKET"):
        WorkerSettings.from_env({})
