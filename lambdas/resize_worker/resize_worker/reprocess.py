"""Reprocessing: one original from a listing of the uploads bucket, through the same ``process_object``
as an upload event. The "done" check there compares the recorded version with the source ETag *and*
the current spec, so an image already made with this spec is skipped, any other is re-made (new keys,
the record moves in one conditional write, the superseded set is removed after it), and a poison
original is recorded as rejected under the new version: no retry loop.

The item is what Step Functions' Distributed Map S3 listing reader yields (``Key``, ``Etag``,
``LastModified`` in epoch seconds, ``Size``); the local driver builds the same shape.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from photo_contract import ImageKeys
from photo_contract.registry import Status as ImageStatus
from photo_contract.runtime import RESIZE_SERVICE_NAME
from photo_contract.variants import variants_version

from resize_worker.process import Services, process_object
from resize_worker.settings import WorkerSettings

logger = Logger(service=RESIZE_SERVICE_NAME)

SKIPPED_NEWER = "skipped_newer"  # uploaded at or after --before
WOULD_PROCESS = "would_process"  # dry run: not made with the current spec
ALREADY_DONE = "already_done"


@dataclass(frozen=True)
class ReprocessRequest:
    """What one run was asked for (the execution input; each item carries it)."""

    before: datetime | None = None
    dry_run: bool = False

    @classmethod
    def from_input(cls, data: Mapping[str, Any]) -> ReprocessRequest:
        before = data.get("before")
        return cls(
            before=datetime.fromisoformat(before).astimezone(UTC) if before else None,
            dry_run=bool(data.get("dry_run", False)),
        )

    def to_input(self) -> dict[str, Any]:
        return {"before": self.before.isoformat() if self.before else "", "dry_run": self.dry_run}


def reprocess_item(
    services: Services,
    settings: WorkerSettings,
    *,
    bucket: str,
    item: Mapping[str, Any],
    request: ReprocessRequest,
) -> dict[str, str]:
    """One listed original -> a result row. Infrastructure errors propagate (the Map retries the item,
    then counts it against the tolerated failures); bad images are recorded, not raised."""
    key = str(item["Key"])
    modified = _last_modified(item.get("LastModified"))
    if request.before is not None and modified is not None and modified >= request.before:
        return {"key": key, "status": SKIPPED_NEWER, "detail": f"uploaded {modified.isoformat()}"}
    if request.dry_run:
        return {
            "key": key,
            "status": _dry_run_status(services, settings, bucket=bucket, key=key),
            "detail": "",
        }
    outcome = process_object(services, settings, bucket=bucket, key=key)
    return {"key": key, "status": outcome.status.value, "detail": outcome.detail}


def _dry_run_status(services: Services, settings: WorkerSettings, *, bucket: str, key: str) -> str:
    keys = ImageKeys.parse_source(key)
    record = services.registry.get(keys.owner, keys.image_id) if keys is not None else None
    if record is None or record.status is ImageStatus.DELETED:
        return "ignored"
    etag = services.s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    return (
        ALREADY_DONE if record.version == variants_version(etag, settings.resize.variants) else WOULD_PROCESS
    )


def _last_modified(value: Any) -> datetime | None:
    """The S3 listing reader gives epoch seconds; boto3's listing gives a datetime; tests may give text."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


_services: tuple[Services, WorkerSettings] | None = None


def _default_services() -> tuple[Services, WorkerSettings]:
    global _services
    if _services is None:
        from resize_worker.handler import aws_services  # the same clients, timeouts and retries

        settings = WorkerSettings.from_env(os.environ)
        _services = (aws_services(settings, first_step=False), settings)
    return _services


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    """One item of the Distributed Map: ``{"item": <listing entry>, "bucket": ..., "before": ...,
    "dry_run": ...}`` (the state machine's ItemSelector)."""
    services, settings = _default_services()
    result = reprocess_item(
        services,
        settings,
        bucket=event["bucket"],
        item=event["item"],
        request=ReprocessRequest.from_input(event),
    )
    logger.info("reprocessed", extra=result)
    return result
