"""Deleting an image, wherever it happens: the API's single delete and the erasure job share these steps.

A delete first tombstones the record (so the worker's late write fails and it removes its own output),
then removes every version of the original and every variant, sends the ``Image Deleted`` event, and
only then invalidates the CDN paths and marks the tombstone clean: re-running a delete or an erasure
step after a crash finishes what the first run started, and the outbox sweeper sends any event a
failure left unsent. Clients are injected; nothing here parses image bytes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from photo_contract.events import image_event, publish
from photo_contract.keys import derived_prefix, held_prefix, source_prefix
from photo_contract.registry import ImageRecord, Registry, Status


@dataclass(frozen=True)
class CdnInvalidation:
    """The distribution in front of the media bucket: a deleted image's paths stop serving there (the
    edge would otherwise keep its immutable variants for a year)."""

    cloudfront: Any
    distribution_id: str

    def invalidate(self, prefixes: list[str]) -> None:
        """One invalidation of every path under each prefix (a wildcard path each)."""
        self.cloudfront.create_invalidation(
            DistributionId=self.distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": len(prefixes), "Items": [f"/{p}*" for p in prefixes]},
                "CallerReference": uuid.uuid4().hex,
            },
        )


@dataclass(frozen=True)
class Storage:
    """What a delete touches: the two buckets, the registry, the bus and the CDN."""

    s3: Any
    uploads_bucket: str
    media_bucket: str
    registry: Registry
    events: Any
    bus_name: str
    cdn: CdnInvalidation | None = None


def tombstone(storage: Storage, owner: str, image_id: str) -> bool:
    """Mark the image deleted, remove its objects and send its event (False: no such image)."""
    now = datetime.now(UTC)
    marked = storage.registry.mark_deleted(
        owner, image_id, now=now.isoformat(timespec="milliseconds"), now_epoch=int(now.timestamp())
    )
    record = marked.previous
    if record is None:
        return False
    remove_original(storage.s3, storage.uploads_bucket, owner, image_id)
    remove_variants(storage.s3, storage.media_bucket, owner, image_id)
    if marked.written or record.event_pending:
        announce_deleted(storage, record, updated_at=now.isoformat(timespec="milliseconds"))
    return True


def announce_deleted(storage: Storage, record: ImageRecord, *, updated_at: str) -> None:
    """The ``Image Deleted`` event (from the record as it was before, or from its tombstone), then the
    outbox flag cleared."""
    deleted = ImageRecord(
        owner=record.owner,
        image_id=record.image_id,
        batch_id=record.batch_id,
        status=Status.DELETED,
        content_type=record.content_type,
        declared_bytes=record.declared_bytes,
        created_at=record.created_at,
        updated_at=updated_at,
        source_etag=record.source_etag,
        version=record.version,
    )
    publish(storage.events, image_event(deleted, bus_name=storage.bus_name))
    storage.registry.event_sent(record.owner, record.image_id, status=Status.DELETED, version=None)


def finish(storage: Storage, owner: str, image_ids: list[str], *, cdn_prefixes: list[str]) -> None:
    """The CDN paths invalidated, then the tombstones counted as cleaned: anything failing before (the
    event, or this invalidation) leaves them uncleaned, so a retry finds them and does it then."""
    if storage.cdn is not None and cdn_prefixes:
        storage.cdn.invalidate(cdn_prefixes)
    for image_id in image_ids:
        storage.registry.mark_cleaned(owner, image_id)


def remove_original(s3: Any, bucket: str, owner: str, image_id: str, *, keep_etag: str | None = None) -> int:
    """Every version of the image's original (and any delete marker), except the one whose ETag is
    ``keep_etag`` if given. The uploads bucket is versioned: a plain delete would only hide it.
    Returns how many versions went."""
    versions = s3.list_object_versions(Bucket=bucket, Prefix=source_prefix(owner, image_id))
    doomed = [
        {"Key": v["Key"], "VersionId": v["VersionId"]}
        for v in [*versions.get("Versions", []), *versions.get("DeleteMarkers", [])]
        if keep_etag is None or v.get("ETag", "").strip('"') != keep_etag
    ]
    if doomed:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
    return len(doomed)


def remove_variants(s3: Any, bucket: str, owner: str, image_id: str) -> None:
    """Every variant of the image, served or held for review."""
    for prefix in (derived_prefix(owner, image_id), held_prefix(owner, image_id)):
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        variants = [{"Key": o["Key"]} for o in listing.get("Contents", [])]
        if variants:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": variants, "Quiet": True})
