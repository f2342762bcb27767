"""Reprocessing one listed original: a changed spec re-makes it, a matching one is skipped, --before and
--dry-run hold, a poison original is recorded (not raised), and an infrastructure error propagates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from local_runner.inputs import camera_jpeg
from photo_contract import ImageKeys
from photo_contract.registry import Status
from photo_contract.variants import FEED_VARIANTS, VariantSpec
from photo_resize import ResizeOptions
from resize_worker.reprocess import ReprocessRequest, reprocess_item
from resize_worker.settings import WorkerSettings

from tests.resize_worker.conftest import MEDIA, UPLOADS, World

KEYS = ImageKeys(owner="alice", image_id="0" * 31 + "5", extension="jpg")
NEW_SPEC = (*FEED_VARIANTS, VariantSpec(name="w320", width=320))


def _item(world: World, keys: ImageKeys = KEYS) -> dict[str, Any]:
    head = world.s3.head_object(Bucket=UPLOADS, Key=keys.source)
    # The Distributed Map's S3 listing reader: LastModified in epoch seconds.
    return {
        "Key": keys.source,
        "Etag": head["ETag"],
        "LastModified": head["LastModified"].timestamp(),
        "Size": 1,
    }


def _media(world: World) -> set[str]:
    return {o["Key"] for o in world.s3.list_objects_v2(Bucket=MEDIA).get("Contents", [])}


@pytest.fixture
def made(world: World, settings: WorkerSettings) -> World:
    """One image made with the current spec."""
    world.register(KEYS)
    world.s3.put_object(Bucket=UPLOADS, Key=KEYS.source, Body=camera_jpeg("a.jpg", (900, 600)).data)
    row = reprocess_item(
        world.services(), settings, bucket=UPLOADS, item=_item(world), request=ReprocessRequest()
    )
    assert row["status"] == "ready"
    return world


def test_a_matching_image_is_skipped_and_a_new_spec_remakes_it(made: World, settings: WorkerSettings) -> None:
    before = _media(made), made.record(KEYS)
    row = reprocess_item(
        made.services(), settings, bucket=UPLOADS, item=_item(made), request=ReprocessRequest()
    )
    assert row["status"] == "already_done" and (_media(made), made.record(KEYS)) == before

    respecced = replace(settings, resize=ResizeOptions(variants=NEW_SPEC))
    row = reprocess_item(
        made.services(), respecced, bucket=UPLOADS, item=_item(made), request=ReprocessRequest()
    )

    assert row["status"] == "ready"
    record = made.record(KEYS)
    assert record.version != before[1].version and "w320" in {v.name for v in record.variants}
    assert _media(made) == {v.key for v in record.variants}  # the old set was removed after the move


def test_dry_run_reports_without_writing(made: World, settings: WorkerSettings) -> None:
    respecced = replace(settings, resize=ResizeOptions(variants=NEW_SPEC))
    before = _media(made), made.record(KEYS)
    dry = ReprocessRequest(dry_run=True)
    assert reprocess_item(made.services(), settings, bucket=UPLOADS, item=_item(made), request=dry)[
        "status"
    ] == ("already_done")
    assert reprocess_item(made.services(), respecced, bucket=UPLOADS, item=_item(made), request=dry)[
        "status"
    ] == ("would_process")
    assert (_media(made), made.record(KEYS)) == before


def test_before_skips_newer_originals(made: World, settings: WorkerSettings) -> None:
    respecced = replace(settings, resize=ResizeOptions(variants=NEW_SPEC))
    item = _item(made)
    uploaded = datetime.fromtimestamp(item["LastModified"], UTC)
    older_cut = ReprocessRequest(before=uploaded - timedelta(hours=1))
    row = reprocess_item(made.services(), respecced, bucket=UPLOADS, item=item, request=older_cut)
    assert row["status"] == "skipped_newer"
    newer_cut = ReprocessRequest.from_input({"before": (uploaded + timedelta(hours=1)).isoformat()})
    row = reprocess_item(made.services(), respecced, bucket=UPLOADS, item=item, request=newer_cut)
    assert row["status"] == "ready"


def test_a_poison_original_is_recorded_not_raised(world: World, settings: WorkerSettings) -> None:
    world.register(KEYS)
    world.s3.put_object(Bucket=UPLOADS, Key=KEYS.source, Body=b"\xff\xd8\xff\xe0 not really a jpeg")
    row = reprocess_item(
        world.services(), settings, bucket=UPLOADS, item=_item(world), request=ReprocessRequest()
    )
    assert row["status"] == "rejected"
    assert world.record(KEYS).status is Status.REJECTED
    again = reprocess_item(
        world.services(), settings, bucket=UPLOADS, item=_item(world), request=ReprocessRequest()
    )
    assert again["status"] == "already_done"  # the verdict is recorded for this spec: no loop


def test_an_infrastructure_error_propagates(made: World, settings: WorkerSettings) -> None:
    respecced = replace(settings, resize=ResizeOptions(variants=NEW_SPEC))
    services = made.services()

    def down(**_: Any) -> Any:
        raise ConnectionError("S3 unreachable")

    services.s3.put_object = down  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        reprocess_item(services, respecced, bucket=UPLOADS, item=_item(made), request=ReprocessRequest())


def _transition(world: World, storage_class: str) -> None:
    """What the OriginalsTransition lifecycle rule does to an original: its storage class changes, its
    bytes and ETag do not (moto runs no lifecycle rules, so the test makes the change itself)."""
    world.s3.copy_object(
        Bucket=UPLOADS,
        Key=KEYS.source,
        CopySource={"Bucket": UPLOADS, "Key": KEYS.source},
        StorageClass=storage_class,
        MetadataDirective="COPY",
    )


@pytest.mark.parametrize("storage_class", ["GLACIER_IR", "STANDARD_IA", "INTELLIGENT_TIERING"])
def test_an_original_moved_by_the_lifecycle_rule_still_reprocesses(
    made: World, settings: WorkerSettings, storage_class: str
) -> None:
    etag = made.s3.head_object(Bucket=UPLOADS, Key=KEYS.source)["ETag"]
    _transition(made, storage_class)
    head = made.s3.head_object(Bucket=UPLOADS, Key=KEYS.source)
    assert (head["StorageClass"], head["ETag"]) == (storage_class, etag)

    respecced = replace(settings, resize=ResizeOptions(variants=NEW_SPEC))
    row = reprocess_item(
        made.services(), respecced, bucket=UPLOADS, item=_item(made), request=ReprocessRequest()
    )

    assert row["status"] == "ready"
    assert "w320" in {v.name for v in made.record(KEYS).variants}


def test_an_original_in_glacier_flexible_retrieval_cannot_be_read_so_config_refuses_it(
    made: World, settings: WorkerSettings
) -> None:
    """Why the lifecycle rule offers only instant-read classes: an archived original needs a restore
    (hours) before any GetObject, so a reprocess would fail on it."""
    from botocore.exceptions import ClientError
    from photo_pipeline_cdk.config import OriginalsStorageClass

    _transition(made, "GLACIER")
    respecced = replace(settings, resize=ResizeOptions(variants=NEW_SPEC))
    with pytest.raises(ClientError, match="InvalidObjectState"):
        reprocess_item(
            made.services(), respecced, bucket=UPLOADS, item=_item(made), request=ReprocessRequest()
        )
    assert "GLACIER" not in {c.value for c in OriginalsStorageClass}
