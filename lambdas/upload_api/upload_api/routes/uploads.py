"""``POST /v1/uploads``: presigned POST forms for a post of 1-20 photos, registered pending."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter
from photo_contract import new_image_id
from photo_contract.registry import ImageRecord, Status

from upload_api.context import ApiContext, Owner
from upload_api.errors import ApiError, ErrorBody, ErrorCode
from upload_api.models import PresignedPost, UploadItem, UploadRequest, UploadResponse, UploadTicket
from upload_api.presign import PresignedUpload, presign_upload


def router(ctx: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["uploads"])
    settings = ctx.settings

    def check(items: list[UploadItem]) -> None:
        """Every item before any is signed: a bad post gets nothing signed."""
        for index, item in enumerate(items):
            if item.content_type not in settings.rules.content_types:
                raise ApiError(
                    422,
                    ErrorCode.UNSUPPORTED_CONTENT_TYPE,
                    f"items[{index}].content_type {item.content_type!r} is not one of "
                    f"{sorted(settings.rules.content_types)}",
                )
            if not 1 <= item.size_bytes <= settings.rules.max_bytes:
                raise ApiError(
                    422,
                    ErrorCode.SIZE_OUT_OF_RANGE,
                    f"items[{index}].size_bytes must be 1..{settings.rules.max_bytes}, got {item.size_bytes}",
                )
        total, cap = sum(item.size_bytes for item in items), settings.contract.max_batch_bytes
        if total > cap:
            raise ApiError(
                422, ErrorCode.BATCH_TOO_LARGE, f"the items' size_bytes add up to {total}; a post takes {cap}"
            )

    def take_quota(caller: str, forms: int) -> None:
        retry_after = ctx.quota.take(caller, forms, now=time.time())
        if retry_after is not None:
            raise ApiError(
                429,
                ErrorCode.RATE_LIMITED,
                f"at most {settings.contract.forms_per_minute} upload forms a minute per user",
                headers={"Retry-After": str(max(1, round(retry_after)))},
            )

    def pending(
        caller: str, batch_id: str, form: PresignedUpload, item: UploadItem, issued: datetime
    ) -> ImageRecord:
        now_text = issued.isoformat(timespec="milliseconds")
        return ImageRecord(
            owner=caller,
            image_id=form.image_id,
            batch_id=batch_id,
            status=Status.PENDING,
            content_type=item.content_type,
            declared_bytes=item.size_bytes,
            filename=item.filename,
            created_at=now_text,
            updated_at=now_text,
            cleaned=True,
            expires_at=int(issued.timestamp()) + settings.contract.pending_expiry_seconds,
        )

    @routes.post(
        "/v1/uploads",
        operation_id="create_uploads",
        response_model=UploadResponse,
        responses={400: {"model": ErrorBody}},
    )
    def create_uploads(body: UploadRequest, caller: Owner) -> UploadResponse:
        check(body.items)
        take_quota(caller, len(body.items))
        batch_id = new_image_id()
        issued = datetime.now(UTC)
        signed = [
            presign_upload(
                ctx.s3,
                bucket=settings.contract.uploads_bucket,
                owner=caller,
                content_type=item.content_type,
                size_bytes=item.size_bytes,
                rules=settings.rules,
                now=issued,
            )
            for item in body.items
        ]
        pairs = list(zip(signed, body.items, strict=True))
        # Pending records first, all or none: a status call for any ticket handed out finds its record.
        ctx.registry.create_pending([pending(caller, batch_id, form, item, issued) for form, item in pairs])
        tickets = [
            UploadTicket(
                image_id=form.image_id,
                filename=item.filename,
                upload=PresignedPost(url=form.url, fields=form.fields),
                expires_at=form.expires_at.astimezone(UTC),
                status_url=f"/v1/images/{form.image_id}",
            )
            for form, item in pairs
        ]
        return UploadResponse(batch_id=batch_id, uploads=tickets)

    return routes
