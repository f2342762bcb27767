"""Making a post's batch: the checks, the quota, the pending records, a form or a server-side copy per
photo, and the Idempotency-Key protocol around it (``photo_contract.idempotency``). The route in
``upload_api.routes.uploads`` is a thin wrapper."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from botocore.exceptions import ClientError
from fastapi import Response
from photo_contract import ImageKeys, new_image_id
from photo_contract.idempotency import ClaimOutcome, fingerprint, parse_key
from photo_contract.registry import ImageRecord, Status

from upload_api.context import ApiContext
from upload_api.errors import ApiError, ErrorCode
from upload_api.models import PresignedPost, UploadItem, UploadRequest, UploadResponse, UploadTicket
from upload_api.presign import PresignedUpload, presign_upload

REPLAYED_HEADER = "Idempotent-Replayed"  # "true" on an answer repeated for a retried key
# What S3 answers for an object that is not there: 403 too, for a role without bucket-wide ListBucket.
_MISSING = frozenset({"403", "404", "NoSuchKey", "NotFound", "AccessDenied"})


class Posting:
    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx
        self._settings = ctx.settings
        self._bucket = ctx.settings.contract.uploads_bucket

    def post(
        self, caller: str, body: UploadRequest, response: Response, key_header: str | None
    ) -> UploadResponse:
        self.check(body.items)
        if key_header is None:
            return self.create(caller, body.items, new_image_id())
        return self.idempotent(caller, key_header, body, response)

    def check(self, items: list[UploadItem]) -> None:
        """Every item before any is signed: a bad post gets nothing signed."""
        for index, item in enumerate(items):
            if item.content_type not in self._settings.rules.content_types:
                raise ApiError(
                    422,
                    ErrorCode.UNSUPPORTED_CONTENT_TYPE,
                    f"items[{index}].content_type {item.content_type!r} is not one of "
                    f"{sorted(self._settings.rules.content_types)}",
                )
            if not 1 <= item.size_bytes <= self._settings.rules.max_bytes:
                raise ApiError(
                    422,
                    ErrorCode.SIZE_OUT_OF_RANGE,
                    f"items[{index}].size_bytes must be 1..{self._settings.rules.max_bytes}, got {item.size_bytes}",
                )
        total, cap = sum(item.size_bytes for item in items), self._settings.contract.max_batch_bytes
        if total > cap:
            raise ApiError(
                422, ErrorCode.BATCH_TOO_LARGE, f"the items' size_bytes add up to {total}; a post takes {cap}"
            )

    def take_quota(self, caller: str, forms: int) -> None:
        retry_after = self._ctx.quota.take(caller, forms, now=time.time())
        if retry_after is not None:
            raise ApiError(
                429,
                ErrorCode.RATE_LIMITED,
                f"at most {self._settings.contract.forms_per_minute} upload forms a minute per user",
                headers={"Retry-After": str(max(1, round(retry_after)))},
            )

    def pending(
        self, caller: str, batch_id: str, image_id: str, item: UploadItem, issued: datetime
    ) -> ImageRecord:
        now_text = issued.isoformat(timespec="milliseconds")
        return ImageRecord(
            owner=caller,
            image_id=image_id,
            batch_id=batch_id,
            status=Status.PENDING,
            content_type=item.content_type,
            declared_bytes=item.size_bytes,
            filename=item.filename,
            content_md5=item.content_md5,
            created_at=now_text,
            updated_at=now_text,
            cleaned=True,
            expires_at=int(issued.timestamp()) + self._settings.contract.pending_expiry_seconds,
        )

    def form_ticket(self, record: ImageRecord, issued: datetime) -> UploadTicket:
        form = presign_upload(
            self._ctx.s3,
            bucket=self._bucket,
            owner=record.owner,
            content_type=record.content_type,
            size_bytes=record.declared_bytes,
            rules=self._settings.rules,
            now=issued,
            image_id=record.image_id,
            content_md5=record.content_md5,
        )
        return _ticket(record, form)

    def source_key(self, record: ImageRecord) -> str:
        return ImageKeys.for_upload(
            owner=record.owner, image_id=record.image_id, content_type=record.content_type
        ).source

    def copied(self, record: ImageRecord) -> bool:
        """Copy, inside S3, an original of this owner with the bytes this item declares to the item's
        own key (its object event then makes the image as any upload does). False: nothing to copy
        from (none, or every candidate is gone or not yet uploaded); the item gets a form."""
        assert record.content_md5 is not None
        for earlier in self._ctx.registry.same_content(
            record.owner, content_md5=record.content_md5, size_bytes=record.declared_bytes
        ):
            if earlier.image_id == record.image_id:
                continue
            try:
                self._ctx.s3.copy_object(
                    Bucket=self._bucket,
                    Key=self.source_key(record),
                    CopySource={"Bucket": self._bucket, "Key": self.source_key(earlier)},
                    MetadataDirective="COPY",
                )
            except ClientError as error:
                if _code(error) in _MISSING:  # a pending one not uploaded (yet), or deleted meanwhile
                    continue
                raise
            return True
        return False

    def arrived(self, record: ImageRecord) -> bool:
        """The item's original is in the bucket (uploaded, or copied, already)."""
        if record.status is not Status.PENDING:
            return True
        try:
            self._ctx.s3.head_object(Bucket=self._bucket, Key=self.source_key(record))
        except ClientError as error:
            if _code(error) in _MISSING:  # 403 too: without bucket-wide ListBucket, S3 hides a 404
                return False
            raise
        return True

    def create(self, caller: str, items: list[UploadItem], batch_id: str) -> UploadResponse:
        self.take_quota(caller, len(items))
        issued = datetime.now(UTC)
        records = [self.pending(caller, batch_id, new_image_id(), item, issued) for item in items]
        # Pending records first, all or none: a status call for any ticket handed out finds its record,
        # and the worker finds one for a copy's event.
        self._ctx.registry.create_pending(records)
        tickets = [
            _ticket(r) if r.content_md5 is not None and self.copied(r) else self.form_ticket(r, issued)
            for r in records
        ]
        return UploadResponse(batch_id=batch_id, uploads=tickets)

    def replay(self, caller: str, batch_id: str) -> UploadResponse:
        """The batch a key made, as new: fresh forms for the photos that have not arrived."""
        records = self._ctx.registry.batch(caller, batch_id)
        if not records:
            raise ApiError(
                410,
                ErrorCode.IDEMPOTENT_BATCH_GONE,
                "the batch this key made has expired unused; send the post again with a new key",
            )
        issued = datetime.now(UTC)
        tickets = [_ticket(r) if self.arrived(r) else self.form_ticket(r, issued) for r in records]
        return UploadResponse(batch_id=batch_id, uploads=tickets)

    def idempotent(
        self, caller: str, key_header: str, body: UploadRequest, response: Response
    ) -> UploadResponse:
        try:
            key = parse_key(key_header)
        except ValueError as error:
            raise ApiError(400, ErrorCode.INVALID_IDEMPOTENCY_KEY, str(error)) from None
        claim = self._ctx.idempotency.claim(
            caller,
            key,
            body_fingerprint=fingerprint(body.model_dump(mode="json")),
            batch_id=new_image_id(),
            now=time.time(),
        )
        if claim.outcome is ClaimOutcome.MISMATCH:
            raise ApiError(
                422, ErrorCode.IDEMPOTENCY_KEY_REUSED, "this Idempotency-Key was used with another body"
            )
        if claim.outcome is ClaimOutcome.IN_FLIGHT:
            raise ApiError(
                409,
                ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT,
                "a request with this Idempotency-Key is still running; retry shortly",
                headers={"Retry-After": "1"},
            )
        assert claim.batch_id is not None
        if claim.outcome is ClaimOutcome.REPLAY:
            response.headers[REPLAYED_HEADER] = "true"
            return self.replay(caller, claim.batch_id)
        try:
            # Only a dead request's batch can already exist: a fresh claim's id is new.
            if claim.resumed and self._ctx.registry.batch(caller, claim.batch_id):
                response.headers[REPLAYED_HEADER] = "true"
                answer = self.replay(caller, claim.batch_id)
            else:
                answer = self.create(caller, body.items, claim.batch_id)
        except BaseException:
            # Landed and then failed (a copy, say): retries answer that batch. Not landed: the key is free.
            if self._ctx.registry.batch(caller, claim.batch_id):
                self._ctx.idempotency.complete(caller, key, batch_id=claim.batch_id)
            else:
                self._ctx.idempotency.release(caller, key, batch_id=claim.batch_id)
            raise
        self._ctx.idempotency.complete(caller, key, batch_id=claim.batch_id)
        return answer


def _ticket(record: ImageRecord, form: PresignedUpload | None = None) -> UploadTicket:
    """An item's ticket: with its form, or (``form=None``) saying there is nothing to send."""
    return UploadTicket(
        image_id=record.image_id,
        filename=record.filename,
        needs_upload=form is not None,
        upload=PresignedPost(url=form.url, fields=form.fields) if form else None,
        expires_at=form.expires_at.astimezone(UTC) if form else None,
        status_url=f"/v1/images/{record.image_id}",
    )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
