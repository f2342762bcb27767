"""``DELETE /v1/me/images`` starts the caller's account erasure on the server; ``GET /v1/me/erasure``
follows it."""

from __future__ import annotations

from fastapi import APIRouter, Response
from photo_contract.registry import ErasureJob

from upload_api.context import ApiContext, Owner
from upload_api.errors import ApiError, ErrorBody, ErrorCode
from upload_api.images import start_erasure
from upload_api.models import ErasureResponse

ERASURE_PATH = "/v1/me/erasure"


def router(ctx: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["me"])

    @routes.delete(
        "/v1/me/images",
        operation_id="erase_my_images",
        response_model=ErasureResponse,
        status_code=202,
        responses={
            202: {"headers": {"Location": {"schema": {"type": "string"}, "description": ERASURE_PATH}}}
        },
    )
    def erase_my_images(caller: Owner, response: Response) -> ErasureResponse:
        """Start erasing every image of the caller (or answer the job already running)."""
        if ctx.housekeeping is None:
            raise ApiError(503, ErrorCode.DEPENDENCY_UNAVAILABLE, "account erasure is not configured here")
        response.headers["Location"] = ERASURE_PATH
        return _response(start_erasure(ctx.registry, ctx.housekeeping, caller))

    @routes.get(
        ERASURE_PATH,
        operation_id="get_my_erasure",
        response_model=ErasureResponse,
        responses={404: {"model": ErrorBody}},  # the caller never started an erasure
    )
    def get_my_erasure(caller: Owner) -> ErasureResponse:
        job = ctx.registry.erasure(caller)
        if job is None:
            raise ApiError(404, ErrorCode.NOT_FOUND, "no erasure job for this caller")
        return _response(job)

    return routes


def _response(job: ErasureJob) -> ErasureResponse:
    return ErasureResponse(
        job_id=job.job_id,
        state=job.state.value,
        erased=job.erased,
        started_at=job.started_at,
        updated_at=job.updated_at,
        status_url=ERASURE_PATH,
    )
