"""One uploaded original -> its variants and a registry transition, then the event. Clients injected.

The registry (``photo_contract.registry``) is the one record of an image's state; S3 holds bytes only.
Each source version's variants go under a prefix of their own, then one conditional write points the
record at them: a duplicate event finds its version recorded and does nothing, a second source for the
same image (its form posted again) is discarded unread, and anything finishing after a delete loses
the write and removes what it wrote. Superseded variants are removed after the record has moved.

The worker never deletes an original: it decodes untrusted bytes, so its role may not. Originals it
will not use (no record, a tombstone, a second post, a rejection) are sent to the housekeeping queue.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from photo_contract import ImageKeys, VariantRecord
from photo_contract.alternates import AlternatesQueue, AlternatesState, AlternatesTask
from photo_contract.events import image_event, publish
from photo_contract.housekeeping import HousekeepingQueue
from photo_contract.moderation import ModerationAction, ModerationRecord
from photo_contract.registry import Completion, ImageRecord, Registry
from photo_contract.registry import Status as ImageStatus
from photo_contract.variants import OutputFormat, variants_version
from photo_resize import Encodings, ImageRejected, RejectReason, ResizeOptions, ResizeResult, resize_image

from resize_worker.moderation import Moderator
from resize_worker.settings import WorkerSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import HeadObjectOutputTypeDef


class ProcessStatus(StrEnum):
    IGNORED = "ignored"  # not an original of ours, never registered, deleted, gone, or a second post
    ALREADY_DONE = "already_done"  # a duplicate event: this exact version is recorded
    SUPERSEDED = "superseded"  # another write or a delete got there first: our output was removed
    READY = "ready"
    HELD = "held"  # made, and held for a moderator: its variants wait under held/
    REJECTED = "rejected"


@dataclass(frozen=True)
class ProcessOutcome:
    status: ProcessStatus
    key: str
    detail: str = ""
    millis: float = 0.0
    failure: str = ""  # set when the core raised unexpectedly (reason processing_failed)
    moderation_millis: float | None = None  # the moderator's call, when one was made


@dataclass(frozen=True)
class Services:
    """The worker's clients: S3, the registry, EventBridge with the bus to publish on, and the
    housekeeping queue (None: nothing settles the originals the worker will not use), the moderator
    (None: nothing is moderated; the reprocess function has none, and keeps each image's verdict) and
    the alternates queue (None: one step makes every encoding; the reprocess function has none)."""

    s3: S3Client
    registry: Registry
    events: Any
    bus_name: str
    housekeeping: HousekeepingQueue | None = None
    moderator: Moderator | None = None
    # Set: two steps. This worker makes each variant's own encoding and queues the alternates there.
    alternates: AlternatesQueue | None = None

    def settle(self, keys: ImageKeys) -> None:
        if self.housekeeping is not None:
            self.housekeeping.settle(keys.owner, keys.image_id)


def process_object(services: Services, settings: WorkerSettings, *, bucket: str, key: str) -> ProcessOutcome:
    """Infrastructure errors propagate (the message is retried, then dead-lettered); bad images are
    recorded as rejections, not raised."""
    found = _registered(services, key)
    if isinstance(found, ProcessOutcome):
        return found
    keys, record = found
    head = _head(services.s3, bucket, key)
    if head is None:
        return ProcessOutcome(ProcessStatus.IGNORED, key, "object no longer exists")
    source = _Source(
        etag=head["ETag"].strip('"'),
        version=variants_version(head["ETag"].strip('"'), settings.resize.variants),
        modified=head["LastModified"].astimezone(UTC).isoformat(),
        bucket=bucket,
    )
    if record.version == source.version:  # this source, made with this spec: done
        _finish_recorded(services, keys, record, source)
        return ProcessOutcome(ProcessStatus.ALREADY_DONE, key)
    if record.source_etag is not None and record.source_etag != source.etag:
        # An image id is processed once: its form posted again (within its expiry) costs no decode.
        services.settle(keys)
        return ProcessOutcome(ProcessStatus.IGNORED, key, "already processed: a second post is discarded")
    started = time.perf_counter()
    data = _read(services, settings, bucket, keys, record, source, head)
    if isinstance(data, ProcessOutcome):
        return data
    return _make(services, settings, keys, record, source, data, started)


def _finish_recorded(services: Services, keys: ImageKeys, record: ImageRecord, source: _Source) -> None:
    """What a crash may have left undone after the write: its event, the second step's task (both
    idempotent downstream)."""
    if record.event_pending:
        _announce(services, record)
    if record.alternates is AlternatesState.PENDING and services.alternates is not None:
        _queue_alternates(services.alternates, keys, source)


def _make(
    services: Services,
    settings: WorkerSettings,
    keys: ImageKeys,
    record: ImageRecord,
    source: _Source,
    data: bytes,
    started: float,
) -> ProcessOutcome:
    """Variants, moderation, the write; with two steps, only each variant's own encoding here."""
    two_step = services.alternates is not None and any(spec.alternates for spec in settings.resize.variants)
    options = replace(settings.resize, encodings=Encodings.PRIMARY) if two_step else settings.resize
    result = _resize(services, settings, keys, source, data, options)
    if isinstance(result, ProcessOutcome):
        return result
    moderation, moderation_millis = _moderate(services, settings, record, result)
    pending = moderation is not None and moderation.decision is None
    if pending and moderation is not None and moderation.action is ModerationAction.REJECT:
        return _reject(services, settings, keys, source, MODERATION_REASON, _named(moderation), moderation)
    held = pending and moderation is not None and moderation.action is ModerationAction.HOLD
    variants = write_variants(services.s3, settings, keys, source.version, result, held=held)
    outcome = _record_ready(
        services,
        settings,
        keys,
        source,
        result,
        variants,
        moderation,
        held=held,
        processing_ms=round((time.perf_counter() - started) * 1000),
        alternates=AlternatesState.PENDING if two_step else None,
    )
    if outcome is not None:
        return outcome
    if two_step and services.alternates is not None:
        _queue_alternates(services.alternates, keys, source)
    return ProcessOutcome(
        ProcessStatus.HELD if held else ProcessStatus.READY,
        keys.source,
        millis=(time.perf_counter() - started) * 1000,
        moderation_millis=moderation_millis,
    )


MODERATION_REASON = "moderation"


def _moderate(
    services: Services, settings: WorkerSettings, record: ImageRecord, result: ResizeResult
) -> tuple[ModerationRecord | None, float | None]:
    """The image's verdict: the one recorded already (a reprocess or a retry never asks again, and a
    moderator's decision stands), else the moderator's on the largest JPEG just made. A failing call
    raises: the message is retried and the image stays pending."""
    if record.moderation is not None:
        return record.moderation, None
    if services.moderator is None or not settings.moderation.enabled:
        return None, None
    jpeg = max(
        (v for v in result.variants if v.format is OutputFormat.JPEG), key=lambda v: v.width * v.height
    )
    started = time.perf_counter()
    labels, model = services.moderator.labels(jpeg.data, min_confidence=settings.moderation.min_confidence)
    millis = (time.perf_counter() - started) * 1000
    action, matched = settings.moderation.verdict(labels)
    return ModerationRecord(action=action, labels=matched, model=model), millis


def _named(moderation: ModerationRecord) -> str:
    return ", ".join(f"{label.name} {label.confidence:.0f}%" for label in moderation.labels)


@dataclass(frozen=True)
class _Source:
    """The original's version as HEAD saw it."""

    etag: str
    version: str  # variants_version(etag, spec)
    modified: str
    bucket: str


def _registered(services: Services, key: str) -> tuple[ImageKeys, ImageRecord] | ProcessOutcome:
    """The original's keys and live record, or why there is nothing to do."""
    keys = ImageKeys.parse_source(key)
    if keys is None:
        return ProcessOutcome(ProcessStatus.IGNORED, key, "outside the uploads/ layout")
    record = services.registry.get(keys.owner, keys.image_id)
    if record is not None and record.status is ImageStatus.DELETED:
        services.settle(keys)  # a late original (its form was still valid): housekeeping removes it
        return ProcessOutcome(ProcessStatus.IGNORED, key, "the image was deleted: its original is settled")
    if record is None:
        services.settle(keys)
        return ProcessOutcome(ProcessStatus.IGNORED, key, "no registry record: the original is settled")
    return keys, record


def _head(s3: S3Client, bucket: str, key: str) -> HeadObjectOutputTypeDef | None:
    """HEAD of the original, or None once it is gone."""
    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if http_status(exc) != 404:
            raise
        # HEAD cannot say whether the key or the bucket is missing; a missing bucket is an outage
        # (head_bucket raises and the message is retried), a missing key was deleted: nothing to do.
        s3.head_bucket(Bucket=bucket)
        return None


def _queue_alternates(queue: AlternatesQueue, keys: ImageKeys, source: _Source) -> None:
    queue.send(
        AlternatesTask(owner=keys.owner, image_id=keys.image_id, version=source.version, bucket=source.bucket)
    )


def _resize(
    services: Services,
    settings: WorkerSettings,
    keys: ImageKeys,
    source: _Source,
    data: bytes,
    options: ResizeOptions,
) -> ResizeResult | ProcessOutcome:
    try:
        return resize_image(data, options)
    except ImageRejected as rejected:
        return _reject(services, settings, keys, source, rejected.reason, rejected.detail)
    except Exception as exc:
        # The core is pure: whatever else it raises on these bytes it will raise again, so a retry
        # only delays the verdict and pushes the message into the DLQ. Recorded, alarmed, acknowledged.
        detail = f"{type(exc).__name__}: {exc}"
        outcome = _reject(services, settings, keys, source, RejectReason.PROCESSING_FAILED, detail)
        return ProcessOutcome(outcome.status, keys.source, outcome.detail, failure=detail)


def write_variants(
    s3: S3Client, settings: WorkerSettings, keys: ImageKeys, version: str, result: ResizeResult, *, held: bool
) -> list[VariantRecord]:
    """Under the served prefix, or (held) under the one the CDN may not read."""
    place = keys.held_variant if held else keys.variant
    variants = []
    for variant in result.variants:
        variant_key = place(variant.name, variant.format.extension, version=version)
        s3.put_object(
            Bucket=settings.media_bucket,
            Key=variant_key,
            Body=variant.data,
            ContentType=variant.content_type,
            CacheControl=settings.cache_control,
        )
        variants.append(
            VariantRecord(
                name=variant.name,
                key=variant_key,
                width=variant.width,
                height=variant.height,
                content_type=variant.content_type,
                size_bytes=len(variant.data),
            )
        )
    return variants


def _record_ready(
    services: Services,
    settings: WorkerSettings,
    keys: ImageKeys,
    source: _Source,
    result: ResizeResult,
    variants: list[VariantRecord],
    moderation: ModerationRecord | None,
    *,
    held: bool,
    processing_ms: int,
    alternates: AlternatesState | None,
) -> ProcessOutcome | None:
    """The ready (or held) record, or (None written) why another write won."""
    done = Completion(
        status=ImageStatus.HELD if held else ImageStatus.READY,
        source_etag=source.etag,
        version=source.version,
        source_modified=source.modified,
        source_format=result.source_format,
        width=result.width,
        height=result.height,
        variants=tuple(variants),
        placeholder=result.placeholder or None,
        dominant_color=result.dominant_color or None,
        receipt=result.receipt,
        moderation=moderation,
        processing_ms=processing_ms,
        alternates=alternates,
    )
    if not _commit(services, settings.media_bucket, keys, done):
        live = services.registry.get(keys.owner, keys.image_id)
        if live is not None and live.version == source.version and live.status is done.status:
            # This very write won: botocore retried it after a lost answer, or a duplicate delivery
            # wrote the same version. What a committed write owes follows: its event here, its
            # second step's task from the caller.
            if live.event_pending:
                _announce(services, live)
            return None
        return ProcessOutcome(ProcessStatus.SUPERSEDED, keys.source, _LOST_RACE)
    return None


_LOST_RACE = "another source, a delete or a duplicate of this event was recorded first"


def _reject(
    services: Services,
    settings: WorkerSettings,
    keys: ImageKeys,
    source: _Source,
    reason: str,
    detail: str,
    moderation: ModerationRecord | None = None,
) -> ProcessOutcome:
    done = Completion(
        status=ImageStatus.REJECTED,
        source_etag=source.etag,
        version=source.version,
        source_modified=source.modified,
        reason=str(reason),
        detail=detail[:500],
        moderation=moderation,
    )
    if not _commit(services, settings.media_bucket, keys, done):
        return ProcessOutcome(ProcessStatus.SUPERSEDED, keys.source, _LOST_RACE)
    services.settle(keys)  # a rejected original expires by lifecycle, once housekeeping tagged it
    return ProcessOutcome(ProcessStatus.REJECTED, keys.source, str(reason))


def _commit(services: Services, media_bucket: str, keys: ImageKeys, done: Completion) -> bool:
    """The conditional write, then the cleanup it allows, then the event."""
    written = services.registry.complete(keys.owner, keys.image_id, done, now=timestamp())
    if not written.written:
        _discard(services, media_bucket, keys, done.version, done.variants)
        return False
    previous = written.previous
    if previous is not None and previous.variants:
        # The record has moved: the superseded set can go.
        delete_keys(services.s3, media_bucket, [v.key for v in previous.variants])
    if previous is not None and previous.status is ImageStatus.REJECTED and done.status is ImageStatus.READY:
        services.settle(keys)  # made ready by a reprocess: its original must lose the expiry tag
    record = services.registry.get(keys.owner, keys.image_id)
    if record is not None and record.version == done.version:
        _announce(services, record)
    return True


def _discard(
    services: Services, media_bucket: str, keys: ImageKeys, version: str, variants: Sequence[VariantRecord]
) -> None:
    """Remove the output of a write that lost, unless the live record names this very version: then a
    duplicate delivery of the same event committed first, and these keys (a version names its keys)
    are the record's own set. A tombstone keeps the version it deleted, and every late write loses to
    it: its keys go."""
    record = services.registry.get(keys.owner, keys.image_id)
    if record is not None and record.version == version and record.status is not ImageStatus.DELETED:
        return
    delete_keys(services.s3, media_bucket, [v.key for v in variants])


def _announce(services: Services, record: ImageRecord) -> None:
    publish(services.events, image_event(record, bus_name=services.bus_name))
    services.registry.event_sent(record.owner, record.image_id, status=record.status, version=record.version)


def delete_keys(s3: S3Client, bucket: str, keys: list[str]) -> None:
    if keys:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})


def _read(
    services: Services,
    settings: WorkerSettings,
    bucket: str,
    keys: ImageKeys,
    record: ImageRecord,
    source: _Source,
    head: HeadObjectOutputTypeDef,
) -> bytes | ProcessOutcome:
    """The original's bytes, or the rejection of one too large or not the bytes its upload declared."""
    if head["ContentLength"] > settings.max_source_bytes:
        detail = f"{head['ContentLength']} bytes, the cap is {settings.max_source_bytes}"
        return _reject(services, settings, keys, source, RejectReason.TOO_MANY_BYTES, detail)
    # The version HEAD saw, and no other: a re-upload meanwhile gets its own event.
    pinned = {"VersionId": head["VersionId"]} if head.get("VersionId") else {"IfMatch": head["ETag"]}
    data = services.s3.get_object(Bucket=bucket, Key=keys.source, **pinned)["Body"].read()  # type: ignore[arg-type]
    if record.content_md5 is not None and _md5(data) != record.content_md5:
        # S3 checks a POST's Content-MD5; this catches what it cannot: a store or copy that changed bytes.
        detail = f"the stored object's MD5 is {_md5(data)}; the upload declared {record.content_md5}"
        return _reject(services, settings, keys, source, RejectReason.CHECKSUM_MISMATCH, detail)
    return data


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
