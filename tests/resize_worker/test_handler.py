"""The resize handler against moto S3, DynamoDB and EventBridge: batches, duplicates, rejections, partial
failures, the registry record and the events."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from local_runner.inputs import camera_jpeg
from photo_contract import ImageKeys
from photo_contract.registry import Status
from photo_contract.variants import FEED_VARIANTS, variants_version
from PIL import Image
from resize_worker.handler import ResizeWorker
from resize_worker.settings import WorkerSettings

from tests.resize_worker.conftest import BATCH, MEDIA, UPLOADS, World, s3_body, sqs_event

OWNER = "alice"


def _put(s3: Any, data: bytes, *, image_id: str, extension: str = "jpg") -> ImageKeys:
    keys = ImageKeys(owner=OWNER, image_id=image_id, extension=extension)
    s3.put_object(Bucket=UPLOADS, Key=keys.source, Body=data)
    return keys


@pytest.fixture
def upload(world: World) -> Any:
    """Register the image (as the API does when it signs the form), then upload its original."""

    def upload(s3: Any, data: bytes, *, image_id: str, extension: str = "jpg") -> ImageKeys:
        keys = ImageKeys(owner=OWNER, image_id=image_id, extension=extension)
        world.register(keys)
        return _put(s3, data, image_id=image_id, extension=extension)

    return upload


def _ids(n: int) -> list[str]:
    return [f"{i:032x}" for i in range(1, n + 1)]


def _media_keys(s3: Any) -> dict[str, str]:
    listing = s3.list_objects_v2(Bucket=MEDIA).get("Contents", [])
    return {obj["Key"]: obj["ETag"] for obj in listing}


@pytest.fixture(scope="module")
def photo() -> bytes:
    """Like the corpus's Landscape_6: upright 1800x1200, stored 1200x1800 with EXIF orientation 6."""
    return camera_jpeg("landscape_6.jpg", (1800, 1200), orientation=6).data


def test_photo_becomes_variants_then_a_ready_record_and_an_event(
    s3: Any, world: World, worker: ResizeWorker, upload: Any, photo: bytes
) -> None:
    keys = upload(s3, photo, image_id=_ids(1)[0])

    response = worker.handle_batch(sqs_event(s3_body(keys.source)))

    assert response == {"batchItemFailures": []}
    record = world.record(keys)
    etag = s3.head_object(Bucket=UPLOADS, Key=keys.source)["ETag"].strip('"')
    version = variants_version(etag, FEED_VARIANTS)
    assert (record.status, record.source_etag, record.version) == (Status.READY, etag, version)
    assert record.event_pending is False
    # Every format of a variant is listed (a client builds its srcset from them).
    assert [(v.name, v.content_type) for v in record.variants] == [
        ("w1080", "image/jpeg"),
        ("w1080", "image/avif"),
        ("w640", "image/jpeg"),
        ("w640", "image/avif"),
        ("thumb150", "image/jpeg"),
    ]
    assert (record.width, record.height) == (1800, 1200)
    assert record.expires_at is None  # a ready record does not expire
    for variant in record.variants:
        head = s3.head_object(Bucket=MEDIA, Key=variant.key)
        assert variant.key.startswith(f"{keys.derived_prefix}{version}/")  # versioned, immutable keys
        assert head["ContentType"] == variant.content_type
        assert variant.key.endswith({"image/jpeg": ".jpg", "image/avif": ".avif"}[variant.content_type])
        assert "immutable" in head["CacheControl"]
        assert head["ContentLength"] == variant.size_bytes
    (event,) = world.events_seen()
    assert (event["source"], event["detail-type"]) == ("photo-pipeline", "Image Ready")
    detail = event["detail"]
    assert (detail["owner"], detail["image_id"], detail["batch_id"], detail["version"]) == (
        OWNER,
        keys.image_id,
        BATCH,
        version,
    )
    assert [v["key"] for v in detail["variants"]] == [v.key for v in record.variants]
    assert "http" not in json.dumps(detail)  # no URLs in events
    # The privacy receipt is recorded and announced: the GPS the photo carried is named, not kept.
    assert record.receipt is not None and record.receipt.orientation_applied == 6
    assert {"gps", "exif"} <= {kind.value for kind in record.receipt.removed}
    assert record.receipt.location is None
    assert detail["receipt"] == record.receipt.to_dict()


def test_duplicate_event_changes_nothing(
    s3: Any, world: World, worker: ResizeWorker, upload: Any, photo: bytes
) -> None:
    keys = upload(s3, photo, image_id=_ids(1)[0])
    event = sqs_event(s3_body(keys.source))
    worker.handle_batch(event)
    assert len(world.events_seen()) == 1
    before = _media_keys(s3), world.record(keys)
    writes: list[str] = []
    original_put = s3.put_object
    s3.put_object = lambda **kw: writes.append(kw["Key"]) or original_put(**kw)

    response = worker.handle_batch(event)

    assert response == {"batchItemFailures": []}
    assert writes == []
    assert (_media_keys(s3), world.record(keys)) == before
    assert world.events_seen() == []  # one write, one event


def test_a_lost_event_is_sent_by_the_retry(
    s3: Any, world: World, worker: ResizeWorker, upload: Any, photo: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record was written, then the publish failed (a crash in between): the retry sends it once."""
    keys = upload(s3, photo, image_id=_ids(1)[0])
    event = sqs_event(s3_body(keys.source))
    real_put_events = world.events.put_events
    monkeypatch.setattr(
        world.events, "put_events", lambda **_: (_ for _ in ()).throw(ConnectionError("down"))
    )
    with pytest.raises(BatchProcessingError):
        worker.handle_batch(event)
    assert world.record(keys).event_pending is True
    monkeypatch.setattr(world.events, "put_events", real_put_events)

    assert worker.handle_batch(event) == {"batchItemFailures": []}

    assert [e["detail-type"] for e in world.events_seen()] == ["Image Ready"]
    assert world.record(keys).event_pending is False


def test_a_form_posted_again_is_discarded_without_a_decode(
    s3: Any, world: World, worker: ResizeWorker, upload: Any, photo: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An image id is processed once: a second POST with the same form (valid for its 10 minutes) is
    neither decoded nor counted; housekeeping removes it and the recorded original is current again."""
    import resize_worker.process as process

    decodes: list[int] = []
    real_resize = process.resize_image
    monkeypatch.setattr(
        process, "resize_image", lambda data, options: decodes.append(1) or real_resize(data, options)
    )
    keys = upload(s3, photo, image_id=_ids(1)[0])
    worker.handle_batch(sqs_event(s3_body(keys.source)))
    first = world.record(keys)
    assert first.status is Status.READY and decodes == [1]

    for n in range(3):  # the client (or a script) re-POSTs other bytes within the form's expiry
        _put(s3, camera_jpeg(f"other{n}.jpg", (1200, 900)).data, image_id=keys.image_id)
        worker.handle_batch(sqs_event(s3_body(keys.source)))
    assert decodes == [1]  # no second decode
    assert world.record(keys) == first  # nothing about the image changed
    assert [e["detail-type"] for e in world.events_seen()] == ["Image Ready"]
    world.run_housekeeping()
    versions = s3.list_object_versions(Bucket=UPLOADS, Prefix=keys.source)["Versions"]
    assert [v["ETag"].strip('"') for v in versions] == [first.source_etag]  # the re-posts are gone
    assert s3.head_object(Bucket=UPLOADS, Key=keys.source)["ETag"].strip('"') == first.source_etag


def test_an_older_version_finishing_late_leaves_nothing(
    s3: Any, world: World, settings: WorkerSettings, upload: Any, photo: bytes
) -> None:
    """Interleaved: version 1 is being resized when version 2 is uploaded and finished. Version 1's
    write must lose, and its variants must go, so the record shows exactly version 2's set."""
    keys = upload(s3, photo, image_id=_ids(1)[0])
    services = world.services()
    late = ResizeWorker(services=services, settings=settings)
    newer = camera_jpeg("newer.jpg", (1200, 900)).data
    original_put = s3.put_object
    triggered: list[bool] = []

    def put_then_race(**kw: Any) -> Any:
        result = original_put(**kw)
        if kw["Bucket"] == MEDIA and not triggered:
            triggered.append(True)  # version 1 has started writing: version 2 arrives and completes
            _put(s3, newer, image_id=keys.image_id)
            ResizeWorker(
                services=replace(services, s3=_Unpatched(s3, original_put)), settings=settings
            ).handle_batch(sqs_event(s3_body(keys.source)))
        return result

    s3.put_object = put_then_race
    late.handle_batch(sqs_event(s3_body(keys.source)))
    s3.put_object = original_put

    record = world.record(keys)
    assert record.source_etag == s3.head_object(Bucket=UPLOADS, Key=keys.source)["ETag"].strip('"')
    assert (record.width, record.height) == (1200, 900)
    assert sorted(_media_keys(s3)) == sorted(v.key for v in record.variants)


class _Unpatched:
    """The same client, with put_object as it was before the test wrapped it."""

    def __init__(self, client: Any, put_object: Any) -> None:
        self._client, self.put_object = client, put_object

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_an_image_never_registered_is_ignored(
    s3: Any, world: World, worker: ResizeWorker, photo: bytes
) -> None:
    keys = _put(s3, photo, image_id=_ids(1)[0])  # no form was ever issued for it
    assert worker.handle_batch(sqs_event(s3_body(keys.source))) == {"batchItemFailures": []}
    assert _media_keys(s3) == {} and world.events_seen() == []


def test_encoded_keys_reach_the_object(
    s3: Any, world: World, worker: ResizeWorker, upload: Any, photo: bytes
) -> None:
    keys = upload(s3, photo, image_id=_ids(1)[0])
    body = s3_body(keys.source.replace("/", "%2F"), encode=False)  # as moto and some emitters send it

    assert worker.handle_batch(sqs_event(body)) == {"batchItemFailures": []}
    assert world.record(keys).status is Status.READY


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


def test_bad_image_is_recorded_and_not_retried(
    s3: Any, world: World, worker: ResizeWorker, upload: Any, photo: bytes
) -> None:
    keys = upload(s3, photo[: len(photo) // 2], image_id=_ids(1)[0])

    response = worker.handle_batch(sqs_event(s3_body(keys.source)))

    assert response == {"batchItemFailures": []}  # acknowledged: retrying the same bytes cannot help
    record = world.record(keys)
    assert (record.status, record.reason, record.variants) == (Status.REJECTED, "truncated", ())
    assert _media_keys(s3) == {}
    (event,) = world.events_seen()
    assert (event["detail-type"], event["detail"]["reason"]) == ("Image Rejected", "truncated")


def test_oversized_original_is_rejected_without_download(
    s3: Any, world: World, settings: WorkerSettings, upload: Any, photo: bytes
) -> None:
    small = ResizeWorker(
        services=world.services(), settings=replace(settings, max_source_bytes=len(photo) - 1)
    )
    keys = upload(s3, photo, image_id=_ids(1)[0])
    gets: list[str] = []
    original_get = s3.get_object
    s3.get_object = lambda **kw: gets.append(kw["Key"]) or original_get(**kw)

    assert small.handle_batch(sqs_event(s3_body(keys.source))) == {"batchItemFailures": []}

    assert keys.source not in gets
    assert world.record(keys).reason == "too_many_bytes"


def test_one_bad_record_in_a_batch_of_ten_fails_alone(
    s3: Any, world: World, worker: ResizeWorker, upload: Any, photo: bytes
) -> None:
    ids = _ids(10)
    bodies = [s3_body(upload(s3, photo, image_id=image_id).source) for image_id in ids[:9]]
    # The tenth names a bucket that does not exist: an infrastructure error, so it must be retried.
    world.register(ImageKeys(owner=OWNER, image_id=ids[9], extension="jpg"))
    bodies.append(s3_body(f"uploads/{OWNER}/{ids[9]}.jpg", bucket="no-such-bucket"))

    response = worker.handle_batch(sqs_event(*bodies))

    assert response == {"batchItemFailures": [{"itemIdentifier": "message-9"}]}
    for image_id in ids[:9]:
        keys = ImageKeys(owner=OWNER, image_id=image_id, extension="jpg")
        assert world.record(keys).status is Status.READY


def test_malformed_message_is_returned_to_the_queue(
    s3: Any, worker: ResizeWorker, upload: Any, photo: bytes
) -> None:
    keys = upload(s3, photo, image_id=_ids(1)[0])
    response = worker.handle_batch(sqs_event("{ this is not json", s3_body(keys.source)))
    assert response == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}


def test_a_batch_that_fails_whole_raises_so_lambda_retries_it(worker: ResizeWorker) -> None:
    with pytest.raises(BatchProcessingError):
        worker.handle_batch(sqs_event("{ this is not json"))


def test_deleted_original_is_ignored(s3: Any, world: World, worker: ResizeWorker) -> None:
    world.register(ImageKeys(owner=OWNER, image_id=_ids(1)[0], extension="jpg"))
    body = s3_body(f"uploads/{OWNER}/{_ids(1)[0]}.jpg")  # event for an object no longer there
    assert worker.handle_batch(sqs_event(body)) == {"batchItemFailures": []}
    assert _media_keys(s3) == {}


def test_original_is_never_modified(s3: Any, worker: ResizeWorker, upload: Any, photo: bytes) -> None:
    keys = upload(s3, photo, image_id=_ids(1)[0])
    before = s3.head_object(Bucket=UPLOADS, Key=keys.source)["ETag"]
    worker.handle_batch(sqs_event(s3_body(keys.source)))
    assert s3.head_object(Bucket=UPLOADS, Key=keys.source)["ETag"] == before
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=UPLOADS)["Contents"]] == [keys.source]


def test_variants_are_upright(s3: Any, world: World, worker: ResizeWorker, upload: Any, photo: bytes) -> None:
    keys = upload(s3, photo, image_id=_ids(1)[0])  # stored 1200x1800 with tag 6
    worker.handle_batch(sqs_event(s3_body(keys.source)))
    import io

    w640 = [v for v in world.record(keys).variants if v.name == "w640"]
    assert len(w640) == 2  # JPEG and AVIF
    for variant in w640:
        data = s3.get_object(Bucket=MEDIA, Key=variant.key)["Body"].read()
        assert Image.open(io.BytesIO(data)).size == (640, 427)


def test_settings_come_from_the_environment() -> None:
    settings = WorkerSettings.from_env(
        {
            "MEDIA_BUCKET": "m",
            "REGISTRY_TABLE": "t",
            "EVENT_BUS_NAME": "b",
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


def test_a_rejection_is_counted_by_its_reason(
    s3: Any,
    worker: ResizeWorker,
    upload: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The dashboard's "rejections by reason": an EMF record of its own, with the reason as a dimension."""
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)  # the local runner sets it
    keys = upload(s3, b"plain text, not an image", image_id=_ids(1)[0])
    capsys.readouterr()
    worker.handle_batch(sqs_event(s3_body(keys.source)))
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (by_reason,) = [r for r in records if "RejectionsByReason" in r]
    (directive,) = by_reason["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "PhotoPipeline"
    assert set(directive["Dimensions"][0]) == {"service", "reason"}
    assert (by_reason["reason"], by_reason["service"], by_reason["RejectionsByReason"]) == (
        "not_an_image",
        "resize",
        [1.0],
    )
