"""``DELETE /v1/me/images``: erase the caller's account, a page a call."""

from __future__ import annotations

from fastapi import APIRouter

from upload_api.context import ApiContext, Owner
from upload_api.images import erase_page
from upload_api.models import ErasureResponse


def router(ctx: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["me"])

    @routes.delete("/v1/me/images", operation_id="erase_my_images", response_model=ErasureResponse)
    def erase_my_images(caller: Owner) -> ErasureResponse:
        deleted, remaining = erase_page(ctx.storage, caller)
        return ErasureResponse(deleted=deleted, remaining=remaining)

    return routes
