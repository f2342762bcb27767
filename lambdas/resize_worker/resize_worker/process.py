"""One uploaded original → variants + manifest, or a rejection record. S3 client injected."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from photo_contract import ImageKeys, Manifest, Rejection, VariantRecord
from photo_resize import ImageRejected, RejectReason, resize_image

from resize_worker.settings import WorkerSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class Status(StrEnum):
    IGNORED = "ignored"  # not an original of ours, or gone
    ALREADY_DONE = "already_done"  # a duplicate event: manifest or rejection for this exact object exists
    READY = "ready"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Outcome:
    status: Status
    key: str
    detail: str = ""
    millis: float = 0.0
    failure: str = ""  # set when the core raised unexpectedly (reason processing_failed)


def process_object(s3: S3Client, settings: WorkerSettings, *, bucket: str, key: str) -> Outcome:
    """Idempotent: every output key comes from the source key and the spec, and the manifest goes last,
    so a retry after a crash redoes the work instead of trusting half-written output. Infrastructure
    errors propagate (the message is retried, then dead-lettered); bad images are recorded, not raised."""
    keys = ImageKeys.parse_source(key)
    if keys is None:
        return Outcome(Status.IGNORED, key, "outside the uploads/ layout")
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _status(exc) != 404:
            raise
        # HEAD cannot say whether the key or the bucket is missing; a missing bucket is an outage
        # (head_bucket raises and the message is retried), a missing key was deleted: nothing to do.
        s3.head_bucket(Bucket=bucket)
        return Outcome(Status.IGNORED, key, "object no longer exists")
    etag = head["ETag"].strip('"')
    if _finished_for(s3, settings.media_bucket, keys, etag):
        return Outcome(Status.ALREADY_DONE, key)

    started = time.perf_counter()
    if head["ContentLength"] > settings.max_source_bytes:
        detail = f"{head['ContentLength']} bytes, the cap is {settings.max_source_bytes}"
        _reject(s3, settings, keys, etag, RejectReason.TOO_MANY_BYTES, detail)
        return Outcome(Status.REJECTED, key, RejectReason.TOO_MANY_BYTES.value)
    # IfMatch: if the object changed since HEAD, fail and let the newer event do the work.
    data = s3.get_object(Bucket=bucket, Key=key, IfMatch=head["ETag"])["Body"].read()
    try:
        result = resize_image(data, settings.resize)
    except ImageRejected as rejected:
        _reject(s3, settings, keys, etag, rejected.reason, rejected.detail)
        return Outcome(Status.REJECTED, key, rejected.reason.value)
    except Exception as exc:
        # The core is pure: whatever else it raises on these bytes it will raise again, so a retry
        # only delays the verdict and pushes the message into the DLQ. Recorded, alarmed, acknowledged.
        detail = f"{type(exc).__name__}: {exc}"
        _reject(s3, settings, keys, etag, RejectReason.PROCESSING_FAILED, detail)
        return Outcome(Status.REJECTED, key, RejectReason.PROCESSING_FAILED.value, failure=detail)

    records = []
    for variant in result.variants:
        variant_key = keys.variant(variant.name, variant.format.extension)
        s3.put_object(
            Bucket=settings.media_bucket,
            Key=variant_key,
            Body=variant.data,
            ContentType=variant.content_type,
            CacheControl=settings.cache_control,
        )
        records.append(
            VariantRecord(
                name=variant.name,
                key=variant_key,
                width=variant.width,
                height=variant.height,
                content_type=variant.content_type,
                size_bytes=len(variant.data),
            )
        )
    manifest = Manifest(
        image_id=keys.image_id,
        owner=keys.owner,
        source_key=key,
        source_etag=etag,
        source_format=result.source_format,
        width=result.width,
        height=result.height,
        variants=tuple(records),
        processed_at=_now(),
    )
    _put_record(s3, settings.media_bucket, keys.manifest, manifest.to_json())
    return Outcome(Status.READY, key, millis=(time.perf_counter() - started) * 1000)


def _finished_for(s3: S3Client, media_bucket: str, keys: ImageKeys, etag: str) -> bool:
    for record_key, parse in ((keys.manifest, Manifest.from_json), (keys.rejection, Rejection.from_json)):
        try:
            body = s3.get_object(Bucket=media_bucket, Key=record_key)["Body"].read()
        except ClientError as exc:
            if _status(exc) == 404:
                continue
            raise
        if parse(body).source_etag == etag:
            return True
    return False


def _reject(
    s3: S3Client, settings: WorkerSettings, keys: ImageKeys, etag: str, reason: RejectReason, detail: str
) -> None:
    rejection = Rejection(
        image_id=keys.image_id,
        owner=keys.owner,
        source_key=keys.source,
        source_etag=etag,
        reason=reason.value,
        detail=detail[:500],
        rejected_at=_now(),
    )
    _put_record(s3, settings.media_bucket, keys.rejection, rejection.to_json())


def _put_record(s3: S3Client, bucket: str, key: str, body: bytes) -> None:
    # Records change when an original is replaced: never cached, unlike the immutable variants.
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json", CacheControl="no-cache")


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
