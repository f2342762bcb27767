"""``/v1/images``: the caller's images, newest first; one image; deleting one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from photo_contract import is_valid_image_id
from photo_contract.registry import MAX_PAGE, CursorError, Status, decode_cursor, encode_cursor

from upload_api.context import ApiContext, Owner
from upload_api.errors import ApiError, ErrorBody, ErrorCode
from upload_api.images import delete_image
from upload_api.models import ImageListResponse, ImageResponse


def router(ctx: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["images"])

    def not_found(image_id: str) -> ApiError:
        return ApiError(404, ErrorCode.NOT_FOUND, f"no image {image_id!r} for this caller")

    @routes.get(
        "/v1/images",
        operation_id="list_images",
        response_model=ImageListResponse,
        responses={400: {"model": ErrorBody}},
    )
    def list_images(
        caller: Owner,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> ImageListResponse:
        try:
            after = decode_cursor(cursor) if cursor else None
        except CursorError as exc:
            raise ApiError(400, ErrorCode.INVALID_CURSOR, str(exc)) from exc
        records, last = ctx.registry.page(caller, limit=limit, after=after)
        return ImageListResponse(
            images=[ctx.response_of(r) for r in records], next_cursor=encode_cursor(last) if last else None
        )

    @routes.get(
        "/v1/images/{image_id}",
        operation_id="get_image",
        response_model=ImageResponse,
        responses={404: {"model": ErrorBody}},
    )
    def get_image(image_id: str, caller: Owner) -> ImageResponse:
        record = ctx.registry.get(caller, image_id) if is_valid_image_id(image_id) else None
        if record is None or record.status is Status.DELETED:
            raise not_found(image_id)
        return ctx.response_of(record)

    @routes.delete(
        "/v1/images/{image_id}",
        operation_id="delete_image",
        status_code=204,
        responses={404: {"model": ErrorBody}},
    )
    def remove_image(image_id: str, caller: Owner) -> Response:
        if not (is_valid_image_id(image_id) and delete_image(ctx.storage, caller, image_id)):
            raise not_found(image_id)
        return Response(status_code=204)

    return routes
