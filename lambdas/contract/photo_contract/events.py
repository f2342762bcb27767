"""The events an image's transitions put on the environment's EventBridge bus.

``source`` is always ``photo-pipeline``; ``detail-type`` names the new state. The detail carries what a
backend needs to act (owner, image id, batch id, the source version, variant keys and sizes, a reason),
never a URL: a presigned URL would expire and a CDN URL is the reader's to build.
"""

from __future__ import annotations

import json
from typing import Any

from photo_contract.alternates import AlternatesState
from photo_contract.records import VariantRecord
from photo_contract.registry import ImageRecord, Status

EVENT_SOURCE = "photo-pipeline"
DETAIL_TYPES = {
    Status.HELD: "Image Held",
    Status.READY: "Image Ready",
    Status.REJECTED: "Image Rejected",
    Status.DELETED: "Image Deleted",
}


def image_event(record: ImageRecord, *, bus_name: str) -> dict[str, Any]:
    """One PutEvents entry for the record's current state."""
    detail: dict[str, Any] = {
        "owner": record.owner,
        "image_id": record.image_id,
        "batch_id": record.batch_id,
        "status": record.status.value,
        "version": record.version,  # source + spec: consumers de-duplicate on (image_id, version)
    }
    if record.status is Status.READY:
        detail["width"], detail["height"] = record.width, record.height
        detail["placeholder"], detail["dominant_color"] = record.placeholder, record.dominant_color
        detail["variants"] = [_variant(v) for v in record.variants]
        detail["receipt"] = record.receipt.to_dict() if record.receipt else None
        # What this image cost to make and keeps costing to store (docs/cost.md prices them).
        detail["processing_ms"] = record.processing_ms
        detail["bytes_written"] = sum(v.size_bytes for v in record.variants)
        # A two-step image is ready with its JPEGs; "Image Alternates Added" follows with the rest.
        detail["formats"] = sorted({v.content_type.removeprefix("image/") for v in record.variants})
        detail["alternates_pending"] = record.alternates is AlternatesState.PENDING
    if record.status is Status.REJECTED:
        detail["reason"] = record.reason
    if record.moderation is not None and record.status in (Status.HELD, Status.REJECTED, Status.READY):
        detail["moderation"] = record.moderation.to_dict()
    return _entry(DETAIL_TYPES[record.status], detail, bus_name)


ALTERNATES_DETAIL_TYPE = "Image Alternates Added"


def alternates_event(
    record: ImageRecord, added: tuple[VariantRecord, ...], *, processing_ms: int | None, bus_name: str
) -> dict[str, Any]:
    """A two-step image's second step landed: its alternates (AVIF...) are now among its variants."""
    detail = {
        "owner": record.owner,
        "image_id": record.image_id,
        "batch_id": record.batch_id,
        "status": record.status.value,
        "version": record.version,
        "variants": [_variant(v) for v in added],
        "processing_ms": processing_ms,
        "bytes_written": sum(v.size_bytes for v in added),
    }
    return _entry(ALTERNATES_DETAIL_TYPE, detail, bus_name)


CLEARED_DETAIL_TYPE = "Image Cleared"


def cleared_event(record: ImageRecord, *, bus_name: str) -> dict[str, Any]:
    """A moderator cleared a held image (its ``Image Ready`` follows)."""
    detail = {
        "owner": record.owner,
        "image_id": record.image_id,
        "batch_id": record.batch_id,
        "version": record.version,
        "moderation": record.moderation.to_dict() if record.moderation else None,
    }
    return _entry(CLEARED_DETAIL_TYPE, detail, bus_name)


def _variant(v: VariantRecord) -> dict[str, Any]:
    return {
        "name": v.name,
        "key": v.key,
        "width": v.width,
        "height": v.height,
        "content_type": v.content_type,
        "size_bytes": v.size_bytes,
    }


def _entry(detail_type: str, detail: dict[str, Any], bus_name: str) -> dict[str, Any]:
    return {
        "Source": EVENT_SOURCE,
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
        "EventBusName": bus_name,
    }


class EventNotPublishedError(RuntimeError):
    pass


def publish(events: Any, entry: dict[str, Any]) -> None:
    """PutEvents reports per-entry failures in its answer, not as an exception: raise on them."""
    response = events.put_events(Entries=[entry])
    if response.get("FailedEntryCount", 0):
        failure = response["Entries"][0]
        raise EventNotPublishedError(f"{failure.get('ErrorCode')}: {failure.get('ErrorMessage')}")
