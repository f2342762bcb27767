"""Variant keys name what they were made from: they change when the source or the spec changes and
never otherwise; a changed spec re-processes; a superseded set is deleted only after the record points
at the new one."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from local_runner.inputs import camera_jpeg
from photo_contract import ImageKeys
from photo_contract.variants import FEED_VARIANTS, OutputFormat, VariantSpec
from photo_resize import ResizeOptions
from resize_worker.handler import ResizeWorker
from resize_worker.settings import WorkerSettings

from tests.resize_worker.conftest import MEDIA, UPLOADS, World, s3_body, sqs_event

KEYS = ImageKeys(owner="alice", image_id="0" * 31 + "9", extension="jpg")


def _run(world: World, settings: WorkerSettings) -> list[str]:
    ResizeWorker(services=world.services(), settings=settings).handle_batch(sqs_event(s3_body(KEYS.source)))
    return sorted(v.key for v in world.record(KEYS).variants)


def test_keys_change_with_the_source_or_the_spec_and_never_otherwise(
    world: World, settings: WorkerSettings
) -> None:
    world.register(KEYS)
    world.s3.put_object(Bucket=UPLOADS, Key=KEYS.source, Body=camera_jpeg("a.jpg", (900, 600)).data)
    first = _run(world, settings)
    assert _run(world, settings) == first  # the same source and spec: the same keys, nothing redone

    webp = (*FEED_VARIANTS, VariantSpec(name="w320", width=320, format=OutputFormat.WEBP, quality=80))
    respecced = replace(settings, resize=ResizeOptions(variants=webp))
    second = _run(world, respecced)  # a changed spec re-processes the same original
    assert set(second).isdisjoint(first) and any(k.endswith("w320.webp") for k in second)

    world.s3.put_object(Bucket=UPLOADS, Key=KEYS.source, Body=camera_jpeg("b.jpg", (600, 900)).data)
    assert _run(world, respecced) == second  # a second post of the form is discarded: nothing changes
    listing = sorted(o["Key"] for o in world.s3.list_objects_v2(Bucket=MEDIA).get("Contents", []))
    assert listing == second  # every superseded set is gone


def test_the_old_set_is_deleted_only_after_the_record_points_at_the_new_one(
    world: World, settings: WorkerSettings
) -> None:
    world.register(KEYS)
    world.s3.put_object(Bucket=UPLOADS, Key=KEYS.source, Body=camera_jpeg("a.jpg", (900, 600)).data)
    old = _run(world, settings)
    webp = (*FEED_VARIANTS, VariantSpec(name="w320", width=320, format=OutputFormat.WEBP, quality=80))
    settings = replace(settings, resize=ResizeOptions(variants=webp))  # the spec changes: a new set
    seen_at_delete: list[list[str]] = []
    original_delete = world.s3.delete_objects

    def delete_objects(**kw: Any) -> Any:
        # What a reader of the record would be pointed at, at the moment the old objects go.
        seen_at_delete.append(sorted(v.key for v in world.record(KEYS).variants))
        return original_delete(**kw)

    world.s3.delete_objects = delete_objects
    new = _run(world, settings)
    world.s3.delete_objects = original_delete

    assert seen_at_delete == [new]  # one delete, and the record already named the new set
    assert set(new).isdisjoint(old)
