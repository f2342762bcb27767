"""From one SQS message body to the S3 objects it names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event


@dataclass(frozen=True)
class UploadedObject:
    bucket: str
    key: str  # decoded
    etag: str


def uploaded_objects(body: str) -> list[UploadedObject]:
    """The created objects of an S3 notification; [] for the ``s3:TestEvent`` S3 sends on setup.

    A body that is not an S3 notification raises: it will never succeed, and after maxReceiveCount it
    lands in the DLQ where someone can look at it.
    """
    payload = json.loads(body)
    if payload.get("Event") == "s3:TestEvent":
        return []
    if "Records" not in payload:
        raise ValueError("message body is neither an S3 notification nor an s3:TestEvent")
    event = S3Event(payload)
    return [
        # S3 URL-encodes keys ("+" for space, and some emitters "%2F" for "/").
        UploadedObject(
            record.s3.bucket.name, unquote_plus(record.s3.get_object.key), record.s3.get_object.etag
        )
        for record in event.records
        if record.event_name.startswith("ObjectCreated:")
    ]
