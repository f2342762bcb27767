"""The events an image's transitions put on the environment's EventBridge bus.

``source`` is always ``photo-pipeline``; ``detail-type`` names the new state. The detail carries what a
backend needs to act (owner, image id, batch id, the source version, variant keys and sizes, a reason),
never a URL: a presigned URL would expire and a CDN URL is the reader's to build.
"""

from __future__ import annotations

import json
from typing import Any

from photo_contract.registry import ImageRecord, Status

EVENT_SOURCE = "photo-pipeline"
DETAIL_TYPES = {
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
        detail["variants"] = [
            {
                "name": v.name,
                "key": v.key,
                "width": v.width,
                "height": v.height,
                "content_type": v.content_type,
                "size_bytes": v.size_bytes,
            }
            for v in record.variants
        ]
    if record.status is Status.REJECTED:
        detail["reason"] = record.reason
    return {
        "Source": EVENT_SOURCE,
        "DetailType": DETAIL_TYPES[record.status],
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
