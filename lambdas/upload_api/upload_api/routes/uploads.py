"""``POST /v1/uploads``: presigned POST forms for a post of 1-20 photos, registered pending; safe to
retry with an ``Idempotency-Key``, and a photo the caller already uploaded is copied, not sent again.
``GET /v1/upload-config``: what a phone should know before it asks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from photo_contract.idempotency import KEY_RETENTION_SECONDS

from upload_api.context import ApiContext, Owner
from upload_api.errors import ErrorBody
from upload_api.models import (
    MAX_ITEMS,
    UploadConfigResponse,
    UploadRequest,
    UploadResponse,
    UsefulSourceModel,
)
from upload_api.posting import REPLAYED_HEADER, Posting

_IDEMPOTENCY_KEY = Header(
    alias="Idempotency-Key",
    pattern=r'^(?:"[ !#-~]{1,255}"|[ !#-~]{1,255})$',  # photo_contract.idempotency.parse_key's rule
    description="Any unique string per post (a UUID), 1-255 printable ASCII characters, quoted or not. "
    "The same key and body again: the same batch and image ids, fresh forms for the photos not yet "
    "uploaded, no quota spent. Another body: 422 idempotency_key_reused. While the first request is "
    f"running: 409 idempotency_key_in_flight. Kept {KEY_RETENTION_SECONDS // 3600} hours.",
)


def router(ctx: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["uploads"])
    settings = ctx.settings
    posting = Posting(ctx)

    @routes.post(
        "/v1/uploads",
        operation_id="create_uploads",
        response_model=UploadResponse,
        responses={
            200: {
                "headers": {
                    REPLAYED_HEADER: {
                        "schema": {"type": "string", "enum": ["true"]},
                        "description": "The answer to an earlier request with this Idempotency-Key.",
                    }
                }
            },
            400: {"model": ErrorBody},
            409: {"model": ErrorBody, "headers": {"Retry-After": {"schema": {"type": "string"}}}},
            410: {"model": ErrorBody},
        },
    )
    def create_uploads(
        body: UploadRequest,
        caller: Owner,
        response: Response,
        idempotency_key: Annotated[str | None, _IDEMPOTENCY_KEY] = None,
    ) -> UploadResponse:
        return posting.post(caller, body, response, idempotency_key)

    @routes.get("/v1/upload-config", operation_id="get_upload_config", response_model=UploadConfigResponse)
    def upload_config(caller: Owner) -> UploadConfigResponse:
        useful = settings.contract.useful_source
        return UploadConfigResponse(
            max_items=MAX_ITEMS,
            max_bytes=settings.rules.max_bytes,
            max_batch_bytes=settings.contract.max_batch_bytes,
            content_types=sorted(settings.rules.content_types),
            useful_source=UsefulSourceModel(width=useful.width, height=useful.height),
            idempotency_key_hours=KEY_RETENTION_SECONDS // 3600,
        )

    return routes
