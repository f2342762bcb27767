"""A moderator's decision on a held image: clear it (its variants move to where the CDN serves them) or
reject it (its variants and every version of its original go, as a delete removes them). Both are
idempotent: the same decision again answers the image as it is; the other decision, or a decision on an
image that is no longer held at that version, is a conflict. Clients are injected (``Storage``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum

from photo_contract.deletion import Storage, remove_original, remove_variants
from photo_contract.events import cleared_event, image_event, publish
from photo_contract.keys import ImageKeys
from photo_contract.moderation import Decision, ModerationRecord
from photo_contract.registry import Decided, ImageRecord, Status


class Review(StrEnum):
    DONE = "done"  # decided now
    ALREADY = "already"  # the same decision was taken before: nothing changed
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"  # not held (any more), or held at another version, or decided otherwise


def decide(
    storage: Storage, owner: str, image_id: str, decision: Decision, *, moderator: str
) -> tuple[Review, ImageRecord | None]:
    record = storage.registry.get(owner, image_id)
    if record is None or record.status is Status.DELETED:
        return Review.NOT_FOUND, None
    if _decided(record, decision):
        return Review.ALREADY, record
    if record.status is not Status.HELD or record.version is None or record.moderation is None:
        return Review.CONFLICT, record
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    taken = replace(record.moderation, decision=decision, decided_by=moderator, decided_at=now)
    if decision is Decision.CLEARED:
        return _clear(storage, record, taken, now)
    return _reject(storage, record, taken, now)


def _decided(record: ImageRecord, decision: Decision) -> bool:
    status = Status.READY if decision is Decision.CLEARED else Status.REJECTED
    return (
        record.status is status and record.moderation is not None and record.moderation.decision is decision
    )


def _clear(
    storage: Storage, record: ImageRecord, taken: ModerationRecord, now: str
) -> tuple[Review, ImageRecord | None]:
    assert record.version is not None
    served = tuple(replace(v, key=ImageKeys.released(v.key)) for v in record.variants)
    for held, out in zip(
        record.variants, served, strict=True
    ):  # copied first: never a ready record without files
        storage.s3.copy_object(
            Bucket=storage.media_bucket,
            Key=out.key,
            CopySource={"Bucket": storage.media_bucket, "Key": held.key},
            MetadataDirective="COPY",
        )
    written, now_record = storage.registry.decide(
        record.owner,
        record.image_id,
        version=record.version,
        outcome=Decided(moderation=taken, variants=served),
        now=now,
    )
    if not written:
        if now_record is None or not _decided(now_record, Decision.CLEARED):
            _delete(storage, [v.key for v in served])  # a delete or another decision won: our copies go
            return Review.CONFLICT, now_record
        return Review.ALREADY, now_record
    _delete(storage, [v.key for v in record.variants])
    assert now_record is not None
    publish(storage.events, cleared_event(now_record, bus_name=storage.bus_name))
    _announce(storage, now_record)
    return Review.DONE, now_record


def _reject(
    storage: Storage, record: ImageRecord, taken: ModerationRecord, now: str
) -> tuple[Review, ImageRecord | None]:
    assert record.version is not None
    written, now_record = storage.registry.decide(
        record.owner, record.image_id, version=record.version, outcome=Decided(moderation=taken), now=now
    )
    if not written:
        if now_record is not None and _decided(now_record, Decision.REJECTED):
            return Review.ALREADY, now_record
        return Review.CONFLICT, now_record
    # As a delete does: every version of the original, every variant (held or not).
    remove_original(storage.s3, storage.uploads_bucket, record.owner, record.image_id)
    remove_variants(storage.s3, storage.media_bucket, record.owner, record.image_id)
    assert now_record is not None
    _announce(storage, now_record)
    return Review.DONE, now_record


def _announce(storage: Storage, record: ImageRecord) -> None:
    publish(storage.events, image_event(record, bus_name=storage.bus_name))
    storage.registry.event_sent(record.owner, record.image_id, status=record.status, version=record.version)


def _delete(storage: Storage, keys: list[str]) -> None:
    if keys:
        storage.s3.delete_objects(
            Bucket=storage.media_bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
        )
