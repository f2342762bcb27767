"""Housekeeping: everything that removes originals or catches up on lost work, by a principal that
never parses image bytes (its function has no Pillow and no ``s3:GetObject``). Clients injected.

- settle: one image's original against its record. No record, or a tombstone: every version goes.
  Recorded: every version but the recorded one goes (a form posted again is discarded unread), and a
  rejected image's original is tagged so the bucket's lifecycle rule expires it.
- erase: one page of an owner's erasure job (one read of the job, one of the page, however far the
  job has come), then the next page's message. A duplicate message or a retried step redoes at most
  the page the job is at; the job's conditional advance lets one of two racing steps continue.
- sweep-originals: a page of the uploads bucket, settling what the registry does not keep, then the
  next page's message (a backstop: the worker sends a settle task for each original it will not use).
- sweep-outbox: every record whose event is still unsent a while after its write (the writer
  crashed, or PutEvents failed): the event is sent and the flag cleared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from photo_contract import DERIVED_PREFIX, UPLOADS_PREFIX, ImageKeys
from photo_contract.deletion import (
    Storage,
    announce_deleted,
    finish,
    remove_original,
    remove_variants,
    tombstone,
)
from photo_contract.events import image_event, publish
from photo_contract.housekeeping import HousekeepingQueue, HousekeepingTask, Task
from photo_contract.keys import source_prefix
from photo_contract.registry import (
    DELETED_RETENTION_SECONDS,
    OUTBOX_SHARDS,
    ImageRecord,
    Status,
)
from photo_contract.runtime import DISCARD_TAG

ERASE_PAGE = 25  # images per erasure step: a step's work is bounded whatever the account's size
SWEEP_PAGE = 1000  # originals per sweep step (one S3 listing page)
OUTBOX_GRACE = timedelta(minutes=5)  # a younger flag belongs to a writer still at work
OUTBOX_PAGES = 10  # per shard per sweep; what is left waits for the next sweep


@dataclass(frozen=True)
class Housekeeping:
    storage: Storage
    queue: HousekeepingQueue


def run(services: Housekeeping, task: HousekeepingTask, *, now: datetime | None = None) -> str:
    """Do one task; returns what was done (for the log). Infrastructure errors propagate (retried)."""
    now = now or datetime.now(UTC)
    if task.task is Task.SETTLE:
        assert task.owner and task.image_id  # checked by HousekeepingTask
        return settle(services.storage, task.owner, task.image_id)
    if task.task is Task.ERASE:
        assert task.owner and task.job_id
        return erase_step(services, task.owner, task.job_id, now=now)
    if task.task is Task.SWEEP_ORIGINALS:
        return sweep_originals(services, after=task.after)
    return f"sent {sweep_outbox(services.storage, now=now)} unsent events"


def settle(storage: Storage, owner: str, image_id: str, *, listed_etag: str | None = None) -> str:
    """Remove what the record does not keep of this image's original. ``listed_etag`` (the current
    version's ETag from a listing) lets the sweep skip the version listing when all is in order."""
    record = storage.registry.get(owner, image_id)
    if record is None or record.status is Status.DELETED:
        removed = remove_original(storage.s3, storage.uploads_bucket, owner, image_id)
        if record is not None:
            remove_variants(storage.s3, storage.media_bucket, owner, image_id)
        return f"removed {removed} versions of an original {'deleted' if record else 'without a record'}"
    if record.source_etag is None:
        return "pending: its upload event is still on the way"
    if listed_etag == record.source_etag and record.status is not Status.REJECTED:
        return "in order"
    removed = remove_original(
        storage.s3, storage.uploads_bucket, owner, image_id, keep_etag=record.source_etag
    )
    _mark_for_expiry(storage, owner, image_id, record.source_etag, expire=record.status is Status.REJECTED)
    return f"removed {removed} versions the record does not keep"


def _mark_for_expiry(storage: Storage, owner: str, image_id: str, etag: str, *, expire: bool) -> None:
    """A rejected image's original gets the tag the lifecycle rule expires; any other loses it (a
    reprocess can make a rejected image ready: its original must not expire then)."""
    s3 = storage.s3
    versions = s3.list_object_versions(Bucket=storage.uploads_bucket, Prefix=source_prefix(owner, image_id))
    key, value = DISCARD_TAG
    for version in versions.get("Versions", []):
        if version.get("ETag", "").strip('"') != etag:
            continue
        where = {"Bucket": storage.uploads_bucket, "Key": version["Key"], "VersionId": version["VersionId"]}
        if expire:
            s3.put_object_tagging(**where, Tagging={"TagSet": [{"Key": key, "Value": value}]})
        elif any(t["Key"] == key for t in s3.get_object_tagging(**where).get("TagSet", [])):
            s3.delete_object_tagging(**where)


def _holds_anything(record: ImageRecord) -> bool:
    return record.status is not Status.DELETED or not record.cleaned or record.event_pending


def erase_step(services: Housekeeping, owner: str, job_id: str, *, now: datetime) -> str:
    registry = services.storage.registry
    job = registry.erasure(owner)
    if job is None or job.job_id != job_id or job.state.value != "running":
        return "no such running job: a stale message"
    records, more_after = registry.owner_images_after(owner, after=job.after, limit=ERASE_PAGE)
    storage = services.storage
    erased = [r.image_id for r in records if _holds_anything(r) and tombstone(storage, owner, r.image_id)]
    finish(storage, owner, erased, cdn_prefixes=[])
    done = more_after is None
    if done and storage.cdn is not None and job.erased + len(erased) > 0:
        # One invalidation of the owner's prefix when the last page is gone, not one a page: CloudFront
        # runs at most 15 wildcard invalidations at once, and a large account has thousands of pages.
        # The job is done only after it.
        storage.cdn.invalidate([f"{DERIVED_PREFIX}{owner}/"])
    advanced = registry.advance_erasure(
        job,
        after=records[-1].image_id if records else job.after,
        erased=len(erased),
        done=done,
        now=now.isoformat(timespec="milliseconds"),
        expires_at=int(now.timestamp()) + DELETED_RETENTION_SECONDS,
    )
    if not advanced:
        return "another step advanced the job first"
    if not done:
        services.queue.send(HousekeepingTask(Task.ERASE, owner=owner, job_id=job_id))
    return f"erased {len(erased)} of {len(records)} ({'done' if done else 'continuing'})"


def sweep_originals(services: Housekeeping, *, after: str | None) -> str:
    storage = services.storage
    listing = storage.s3.list_objects_v2(
        Bucket=storage.uploads_bucket, Prefix=UPLOADS_PREFIX, StartAfter=after or "", MaxKeys=SWEEP_PAGE
    )
    contents: list[dict[str, Any]] = listing.get("Contents", [])
    settled = 0
    for obj in contents:
        keys = ImageKeys.parse_source(obj["Key"])
        if keys is None:
            continue
        outcome = settle(storage, keys.owner, keys.image_id, listed_etag=obj["ETag"].strip('"'))
        settled += outcome != "in order"
    if listing.get("IsTruncated") and contents:
        services.queue.send(HousekeepingTask(Task.SWEEP_ORIGINALS, after=contents[-1]["Key"]))
    return f"swept {len(contents)} originals, settled {settled}"


def sweep_outbox(storage: Storage, *, now: datetime) -> int:
    cutoff = (now - OUTBOX_GRACE).isoformat(timespec="milliseconds")
    sent = 0
    for shard in OUTBOX_SHARDS:
        for _ in range(OUTBOX_PAGES):
            unsent = storage.registry.unsent(shard, before=cutoff)
            for record in unsent:
                _send(storage, record)
            sent += len(unsent)
            if not unsent:
                break
    return sent


def _send(storage: Storage, record: ImageRecord) -> None:
    if record.status is Status.DELETED:
        announce_deleted(storage, record, updated_at=record.updated_at)
    else:
        publish(storage.events, image_event(record, bus_name=storage.bus_name))
        storage.registry.event_sent(
            record.owner, record.image_id, status=record.status, version=record.version
        )
