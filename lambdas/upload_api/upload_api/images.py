"""The image lifecycle as the API sees it: views of registry records, delete and account erasure.

Reads are one registry call each. A delete first tombstones the record (so the worker's late write
fails and it removes its own output), then removes every version of the original and every variant,
then marks the tombstone clean and announces it: re-running a delete or an erasure after a crash
finishes what the first run started.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from photo_contract import DERIVED_PREFIX, derived_prefix, source_prefix
from photo_contract.events import image_event, publish
from photo_contract.registry import ImageRecord, Registry, Status

from upload_api.cdn_signing import CdnSigner

ERASE_PAGE = 25  # images per erasure call: bounded work per request


@dataclass(frozen=True)
class VariantView:
    name: str
    width: int
    height: int
    content_type: str
    url: str


@dataclass(frozen=True)
class ImageView:
    image_id: str
    batch_id: str
    status: str  # pending | ready | rejected | deleted
    created_at: str
    filename: str | None
    variants: tuple[VariantView, ...] = ()
    reason: str | None = None
    width: int | None = None
    height: int | None = None
    placeholder: str | None = None
    dominant_color: str | None = None


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


def view(
    s3: Any,
    record: ImageRecord,
    *,
    media_bucket: str,
    url_expiry_seconds: int,
    public_base_url: str | None,
    signer: CdnSigner | None = None,
) -> ImageView:
    query = ""
    if signer is not None and public_base_url and record.version and record.variants:
        # One signature for the whole image: a policy over its version's prefix.
        base = public_base_url.rstrip("/")
        prefix = f"{base}/{derived_prefix(record.owner, record.image_id)}{record.version}/"
        query = "?" + signer.query_for_prefix(prefix, now=datetime.now(UTC))
    variants = tuple(
        VariantView(
            name=v.name,
            width=v.width,
            height=v.height,
            content_type=v.content_type,
            url=_url(s3, media_bucket, v.key, url_expiry_seconds, public_base_url) + query,
        )
        for v in record.variants
    )
    return ImageView(
        image_id=record.image_id,
        batch_id=record.batch_id,
        status=record.status.value,
        created_at=record.created_at,
        filename=record.filename,
        variants=variants if record.status is Status.READY else (),
        reason=record.reason if record.status is Status.REJECTED else None,
        width=record.width,
        height=record.height,
        placeholder=record.placeholder,
        dominant_color=record.dominant_color,
    )


def _url(s3: Any, bucket: str, key: str, expiry: int, public_base_url: str | None) -> str:
    if public_base_url:
        return f"{public_base_url.rstrip('/')}/{key}"
    url: str = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expiry
    )
    return url


def delete_image(storage: Storage, owner: str, image_id: str) -> bool:
    """False if the owner has no such image (never, or another owner's). Idempotent: a tombstone is
    cleaned again (anything a crashed first attempt left behind goes now) and answers True."""
    if not _tombstone(storage, owner, image_id):
        return False
    _finish(storage, owner, [image_id], cdn_prefixes=[derived_prefix(owner, image_id)])
    return True


def erase_page(storage: Storage, owner: str) -> tuple[int, bool]:
    """Delete up to ERASE_PAGE of an owner's images: (how many, whether anything is left). The page's
    paths are one invalidation of the owner's (CloudFront runs at most 15 wildcard paths at a time)."""
    batch, more = storage.registry.to_erase(owner, limit=ERASE_PAGE)
    erased = [r.image_id for r in batch if _tombstone(storage, owner, r.image_id)]
    if erased:
        _finish(storage, owner, erased, cdn_prefixes=[f"{DERIVED_PREFIX}{owner}/"])
    return len(batch), more


def _tombstone(storage: Storage, owner: str, image_id: str) -> bool:
    """Mark the image deleted, remove its objects and send its event (False: no such image)."""
    now = datetime.now(UTC)
    marked = storage.registry.mark_deleted(
        owner, image_id, now=now.isoformat(timespec="milliseconds"), now_epoch=int(now.timestamp())
    )
    record = marked.previous
    if record is None:
        return False
    _remove_objects(storage, owner, image_id)
    if marked.written or record.event_pending:
        deleted = ImageRecord(
            owner=owner,
            image_id=image_id,
            batch_id=record.batch_id,
            status=Status.DELETED,
            content_type=record.content_type,
            declared_bytes=record.declared_bytes,
            created_at=record.created_at,
            updated_at=now.isoformat(timespec="milliseconds"),
            source_etag=record.source_etag,
            version=record.version,
        )
        publish(storage.events, image_event(deleted, bus_name=storage.bus_name))
        storage.registry.event_sent(owner, image_id, status=Status.DELETED, version=None)
    return True


def _finish(storage: Storage, owner: str, image_ids: list[str], *, cdn_prefixes: list[str]) -> None:
    """The CDN paths invalidated, then the tombstones counted as cleaned: anything failing before (the
    event above, or this invalidation) leaves them uncleaned, so a retry or the next erasure call
    finds them and does it then."""
    if storage.cdn is not None:
        storage.cdn.invalidate(cdn_prefixes)
    for image_id in image_ids:
        storage.registry.mark_cleaned(owner, image_id)


def _remove_objects(storage: Storage, owner: str, image_id: str) -> None:
    s3 = storage.s3
    # The uploads bucket is versioned: every version of the original goes (and any delete marker).
    versions = s3.list_object_versions(Bucket=storage.uploads_bucket, Prefix=source_prefix(owner, image_id))
    doomed = [
        {"Key": v["Key"], "VersionId": v["VersionId"]}
        for v in [*versions.get("Versions", []), *versions.get("DeleteMarkers", [])]
    ]
    if doomed:
        s3.delete_objects(Bucket=storage.uploads_bucket, Delete={"Objects": doomed, "Quiet": True})
    listing = s3.list_objects_v2(Bucket=storage.media_bucket, Prefix=derived_prefix(owner, image_id))
    variants = [{"Key": o["Key"]} for o in listing.get("Contents", [])]
    if variants:
        s3.delete_objects(Bucket=storage.media_bucket, Delete={"Objects": variants, "Quiet": True})
