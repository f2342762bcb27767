"""``GET /v1/batches/{batch_id}``: every image of a post in one call."""

from __future__ import annotations

from fastapi import APIRouter
from photo_contract import is_valid_image_id

from upload_api.context import ApiContext, Owner
from upload_api.errors import ApiError, ErrorBody, ErrorCode
from upload_api.models import BatchResponse


def router(ctx: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["batches"])

    @routes.get(
        "/v1/batches/{batch_id}",
        operation_id="get_batch",
        response_model=BatchResponse,
        responses={404: {"model": ErrorBody}},
    )
    def get_batch(batch_id: str, caller: Owner) -> BatchResponse:
        records = ctx.registry.batch(caller, batch_id) if is_valid_image_id(batch_id) else []
        if not records:
            raise ApiError(404, ErrorCode.NOT_FOUND, f"no batch {batch_id!r} for this caller")
        return BatchResponse(batch_id=batch_id, images=[ctx.response_of(r) for r in records])

    return routes
