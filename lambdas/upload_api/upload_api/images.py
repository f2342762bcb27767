"""The image lifecycle as the API sees it: views of registry records, delete and account erasure.

Reads are one registry call each. A delete is ``photo_contract.deletion``'s steps (shared with the
erasure job, which the housekeeping function runs a page at a time).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from photo_contract import derived_prefix
from photo_contract.deletion import Storage, finish, tombstone
from photo_contract.housekeeping import HousekeepingQueue, HousekeepingTask, Task
from photo_contract.registry import ERASURE_STALE_SECONDS, ErasureJob, ImageRecord, Registry, Status

from upload_api.cdn_signing import CdnSigner


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
    status: str  # pending | held | ready | rejected | deleted
    created_at: str
    filename: str | None
    variants: tuple[VariantView, ...] = ()
    reason: str | None = None
    width: int | None = None
    height: int | None = None
    placeholder: str | None = None
    dominant_color: str | None = None
    receipt: dict[str, Any] | None = None


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
    if signer is not None and public_base_url and record.version and record.status is Status.READY:
        # One signature for the whole image: a policy over its version's prefix.
        base = public_base_url.rstrip("/")
        prefix = f"{base}/{derived_prefix(record.owner, record.image_id)}{record.version}/"
        query = "?" + signer.query_for_prefix(prefix, now=datetime.now(UTC))
    held = record.status is Status.HELD
    variants = tuple(
        VariantView(
            name=v.name,
            width=v.width,
            height=v.height,
            content_type=v.content_type,
            # Held: never a CDN URL (the CDN may not read held/), a short-lived S3 one for its owner.
            url=_preview(s3, media_bucket, v.key)
            if held
            else _url(s3, media_bucket, v.key, url_expiry_seconds, public_base_url) + query,
        )
        for v in record.variants
    )
    return ImageView(
        image_id=record.image_id,
        batch_id=record.batch_id,
        status=record.status.value,
        created_at=record.created_at,
        filename=record.filename,
        variants=variants if record.status in (Status.READY, Status.HELD) else (),
        reason=record.reason if record.status is Status.REJECTED else None,
        width=record.width,
        height=record.height,
        placeholder=record.placeholder,
        dominant_color=record.dominant_color,
        receipt=record.receipt.to_dict() if record.receipt and record.status is Status.READY else None,
    )


PREVIEW_URL_SECONDS = 300  # a held image's preview: long enough to look, too short to share


def _preview(s3: Any, bucket: str, key: str) -> str:
    url: str = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=PREVIEW_URL_SECONDS
    )
    return url


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
    if not tombstone(storage, owner, image_id):
        return False
    finish(storage, owner, [image_id], cdn_prefixes=[derived_prefix(owner, image_id)])
    return True


def start_erasure(registry: Registry, queue: HousekeepingQueue, owner: str) -> ErasureJob:
    """The owner's running erasure job, started (and its first step queued) unless one is running. It
    goes on without the client: the housekeeping function takes a page a message."""
    now = datetime.now(UTC)
    job, started = registry.start_erasure(
        owner,
        job_id=uuid.uuid4().hex,
        now=now.isoformat(timespec="milliseconds"),
        stale_before=(now - timedelta(seconds=ERASURE_STALE_SECONDS)).isoformat(timespec="milliseconds"),
    )
    if started:
        queue.send(HousekeepingTask(Task.ERASE, owner=owner, job_id=job.job_id))
    return job
