"""The second step of a two-step image: its alternates (AVIF...), made after its JPEGs made it ready.

The first step recorded the image ``ready`` (or ``held``) at a version with ``alternates: pending`` and
queued an :class:`AlternatesTask`. This step decodes the original again (the JPEGs are not a source:
an AVIF made from one would carry its artefacts), encodes only the alternates, writes them beside the
JPEGs under the same version and appends them to the record with one conditional write: it loses to a
delete, a spec change, a moderator's decision or a duplicate, and removes what it wrote when it does.
Then ``Image Alternates Added``. Failures of AWS propagate (retried, then the step's DLQ); a core error
on bytes the first step already accepted is recorded as the step's failure and not retried.
"""

from __future__ import annotations

import time
from dataclasses import replace

from botocore.exceptions import ClientError
from photo_contract import ImageKeys, VariantRecord
from photo_contract.alternates import AlternatesState, AlternatesTask
from photo_contract.events import alternates_event, publish
from photo_contract.registry import ImageRecord
from photo_contract.registry import Status as ImageStatus
from photo_resize import Encodings, resize_image

from resize_worker.process import (
    ProcessOutcome,
    ProcessStatus,
    Services,
    delete_keys,
    http_status,
    timestamp,
    write_variants,
)
from resize_worker.settings import WorkerSettings

_LIVE = (ImageStatus.READY, ImageStatus.HELD)


class MovedMeanwhile(Exception):  # noqa: N818 - a deferral: the message is retried
    """A moderator cleared (or held) the image while its alternates were made: they were written where
    its variants no longer are. Removed; the retry writes them where the record now says."""


def make_alternates(services: Services, settings: WorkerSettings, task: AlternatesTask) -> ProcessOutcome:
    record = services.registry.get(task.owner, task.image_id)
    what = f"{task.owner}/{task.image_id}"
    if record is None or record.status not in _LIVE or record.version != task.version:
        return ProcessOutcome(ProcessStatus.IGNORED, what, "deleted, rejected or remade since its first step")
    if record.alternates is AlternatesState.MADE:  # written by an earlier try whose event did not go
        _announce(services, record, _alternates_of(record, settings), processing_ms=None)
        return ProcessOutcome(ProcessStatus.ALREADY_DONE, what)
    if record.alternates is not AlternatesState.PENDING:
        return ProcessOutcome(ProcessStatus.ALREADY_DONE, what)
    keys = ImageKeys.for_upload(owner=task.owner, image_id=task.image_id, content_type=record.content_type)
    started = time.perf_counter()
    assert record.source_etag is not None  # a ready record names its source
    try:
        found = services.s3.get_object(Bucket=task.bucket, Key=keys.source, IfMatch=record.source_etag)
    except ClientError as exc:
        if http_status(exc) not in (404, 412):
            raise
        # Gone (a delete removed it) or replaced: the record says which, and whether to retry.
        return _lost(services, settings, task, record, ())
    try:
        result = resize_image(found["Body"].read(), replace(settings.resize, encodings=Encodings.ALTERNATES))
    except Exception as exc:  # a rejection or a core error: deterministic on these bytes, not retried
        detail = f"{type(exc).__name__}: {exc}"
        return ProcessOutcome(ProcessStatus.REJECTED, what, "alternates failed", failure=detail)
    held = record.status is ImageStatus.HELD
    added = tuple(write_variants(services.s3, settings, keys, task.version, result, held=held))
    millis = round((time.perf_counter() - started) * 1000)
    written = services.registry.add_alternates(
        task.owner,
        task.image_id,
        version=task.version,
        status=record.status,
        variants=_in_spec_order((*record.variants, *added), settings),
        now=timestamp(),
    )
    if not written.written:
        return _lost(services, settings, task, record, added)
    live = services.registry.get(task.owner, task.image_id)
    if live is not None:
        _announce(services, live, added, processing_ms=millis)
    return ProcessOutcome(ProcessStatus.READY, what, f"{len(added)} alternates", millis=millis)


def _lost(
    services: Services,
    settings: WorkerSettings,
    task: AlternatesTask,
    before: ImageRecord,
    added: tuple[VariantRecord, ...],
) -> ProcessOutcome:
    """Another write won. A duplicate of this step at the same version wrote these very keys: keep
    them. Anything else (a delete, a new version, a moderator's decision): remove them."""
    live = services.registry.get(task.owner, task.image_id)
    same = live is not None and live.version == task.version and live.status is before.status
    if same and live is not None and live.alternates in (AlternatesState.MADE, AlternatesState.DONE):
        if live.alternates is AlternatesState.MADE:
            # This very write won (botocore retried it after a lost answer) or a duplicate's did, and
            # its event is not out yet: send it.
            _announce(services, live, _alternates_of(live, settings), processing_ms=None)
        return ProcessOutcome(ProcessStatus.ALREADY_DONE, f"{task.owner}/{task.image_id}")
    delete_keys(services.s3, settings.media_bucket, [v.key for v in added])
    if live is not None and live.version == task.version and live.status in _LIVE:
        raise MovedMeanwhile(f"{task.owner}/{task.image_id} became {live.status.value} meanwhile")
    return ProcessOutcome(
        ProcessStatus.SUPERSEDED, f"{task.owner}/{task.image_id}", "deleted or remade meanwhile"
    )


def _in_spec_order(
    variants: tuple[VariantRecord, ...], settings: WorkerSettings
) -> tuple[VariantRecord, ...]:
    """Each variant's encodings together, in the spec's order (as one step lists them): the API's
    list reads the same however the image was made."""
    rank = {
        (spec.name, encoding.format.content_type): (i, j)
        for i, spec in enumerate(settings.resize.variants)
        for j, encoding in enumerate(spec.encodings)
    }
    return tuple(sorted(variants, key=lambda v: rank.get((v.name, v.content_type), (len(rank), 0))))


def _alternates_of(record: ImageRecord, settings: WorkerSettings) -> tuple[VariantRecord, ...]:
    """The record's variants that are not a variant's own encoding."""
    own = {(spec.name, spec.format.content_type) for spec in settings.resize.variants}
    return tuple(v for v in record.variants if (v.name, v.content_type) not in own)


def _announce(
    services: Services, record: ImageRecord, added: tuple[VariantRecord, ...], *, processing_ms: int | None
) -> None:
    assert record.version is not None
    publish(
        services.events,
        alternates_event(record, added, processing_ms=processing_ms, bus_name=services.bus_name),
    )
    services.registry.alternates_announced(record.owner, record.image_id, version=record.version)
