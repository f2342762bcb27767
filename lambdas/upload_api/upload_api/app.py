"""The one ASGI app: served by Lambda (through Mangum) and by uvicorn on Fargate. Thin over presign/status.

Every answer that is not a success has the same JSON body, ``{"code", "message"[, "details"]}``, on both
runtimes: the guard's 401/413/503, validation errors, 404/405, a dependency that is down (503) and any
bug (500).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import Depends, FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from photo_contract import is_valid_image_id, new_image_id
from photo_contract.registry import (
    MAX_PAGE,
    CursorError,
    ImageRecord,
    Registry,
    Status,
    decode_cursor,
    encode_cursor,
)
from photo_contract.runtime import CORS_ALLOWED_HEADERS, CORS_ALLOWED_METHODS, CORS_MAX_AGE_SECONDS
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware

from upload_api.auth import TokenVerifier, Unauthorized
from upload_api.cdn_signing import CdnSigner
from upload_api.guard import OWNER_STATE_KEY, RequestGuard, error_response
from upload_api.images import ImageView, Storage, delete_image, erase_page, view
from upload_api.presign import presign_upload
from upload_api.quota import FormQuota, NoQuota
from upload_api.settings import ApiSettings

MAX_ITEMS = 20
# Twenty items with 1 KiB file names are ~25 KiB of JSON; nothing legitimate comes near this.
MAX_BODY_BYTES = 64 * 1024
HEALTH_PATH = "/healthz"
DOC_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
# AWS throttling and server-side faults: worth a retry by the client, unlike a bug of ours.
_RETRYABLE_AWS_CODES = frozenset(
    {
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "ThrottlingException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestTimeout",
    }
)
logger = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}


class UploadItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content_type: str = Field(max_length=100, examples=["image/jpeg"])
    size_bytes: int = Field(strict=True, examples=[2_400_000])
    # Metadata only, echoed back: it never becomes part of a key.
    filename: str | None = Field(default=None, max_length=1024)


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[UploadItem] = Field(min_length=1, max_length=MAX_ITEMS)


class PresignedPost(BaseModel):
    url: str
    fields: dict[str, str]


class UploadTicket(BaseModel):
    image_id: str
    filename: str | None
    upload: PresignedPost
    expires_at: datetime
    status_url: str


class UploadResponse(BaseModel):
    batch_id: str
    uploads: list[UploadTicket]


class Variant(BaseModel):
    name: str
    width: int
    height: int
    content_type: str
    url: str


class ImageResponse(BaseModel):
    image_id: str
    batch_id: str
    status: str = Field(examples=["pending", "ready", "rejected", "deleted"])
    created_at: str
    filename: str | None = None
    width: int | None = None
    height: int | None = None
    variants: list[Variant] = []
    reason: str | None = None
    placeholder: str | None = Field(default=None, description="ThumbHash (base64) of the whole picture.")
    dominant_color: str | None = Field(default=None, examples=["#5c7a8b"])


class BatchResponse(BaseModel):
    batch_id: str
    images: list[ImageResponse]


class ImageListResponse(BaseModel):
    images: list[ImageResponse]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page.")


class ErasureResponse(BaseModel):
    deleted: int = Field(description="Images deleted by this call.")
    remaining: bool = Field(description="True while images are left: call again until false.")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


# Declared for the OpenAPI schema (the bearer security scheme); the verifier reads the header itself.
_BEARER = HTTPBearer(auto_error=False, description="A JWT access token from the environment's issuer.")


def _caller(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None
) -> str:
    """The owner the guard verified before the body was read."""
    owner = getattr(request.state, OWNER_STATE_KEY, None)
    if not isinstance(owner, str):
        raise Unauthorized("missing bearer token")
    return owner


# Module level: FastAPI resolves these annotations by name.
Owner = Annotated[str, Depends(_caller)]


def create_app(
    settings: ApiSettings,
    *,
    s3: Any,
    verifier: TokenVerifier,
    registry: Registry,
    events: Any,
    quota: FormQuota | None = None,
    signer: CdnSigner | None = None,
) -> FastAPI:
    """``app.state.public_paths`` (exact) and ``public_prefixes`` are served without a token (the local
    runner adds its page and its stand-in CDN)."""
    docs = settings.expose_docs
    app = FastAPI(
        title="photo-pipeline upload API",
        version="1",
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        responses={status: {"model": ErrorBody} for status in (401, 413, 415, 422, 429, 500, 503)},
    )
    app.state.public_paths = {HEALTH_PATH, *(DOC_PATHS if docs else ())}
    app.state.public_prefixes = set()  # nothing deployed; the local runner's stand-in CDN adds one
    form_quota = quota or NoQuota()
    storage = Storage(
        s3=s3,
        uploads_bucket=settings.uploads_bucket,
        media_bucket=settings.media_bucket,
        registry=registry,
        events=events,
        bus_name=settings.event_bus_name,
    )

    def response_of(record: ImageRecord) -> ImageResponse:
        shown = view(
            s3,
            record,
            media_bucket=settings.media_bucket,
            url_expiry_seconds=settings.variant_url_expiry_seconds,
            public_base_url=settings.public_media_base_url,
            signer=signer,
        )
        return _image_response(shown)

    # Async on purpose: it runs on the event loop, never waiting for a worker thread behind slow calls.
    @app.get(HEALTH_PATH, include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}  # liveness only: no AWS call

    @app.post("/v1/uploads", response_model=UploadResponse, responses={400: {"model": ErrorBody}})
    def create_uploads(body: UploadRequest, caller: Owner) -> UploadResponse:
        # Validate every item before signing any: a bad batch gets nothing signed.
        for index, item in enumerate(body.items):
            if item.content_type not in settings.rules.content_types:
                raise ApiError(
                    422,
                    "unsupported_content_type",
                    f"items[{index}].content_type {item.content_type!r} is not one of "
                    f"{sorted(settings.rules.content_types)}",
                )
            if not 1 <= item.size_bytes <= settings.rules.max_bytes:
                raise ApiError(
                    422,
                    "size_out_of_range",
                    f"items[{index}].size_bytes must be 1..{settings.rules.max_bytes}, got {item.size_bytes}",
                )
        retry_after = form_quota.take(caller, len(body.items), now=time.time())
        if retry_after is not None:
            raise ApiError(
                429,
                "rate_limited",
                f"at most {settings.forms_per_minute} upload forms a minute per user",
                headers={"Retry-After": str(max(1, round(retry_after)))},
            )
        batch_id = new_image_id()
        issued = datetime.now(UTC)
        signed = [
            presign_upload(
                s3,
                bucket=settings.uploads_bucket,
                owner=caller,
                content_type=item.content_type,
                size_bytes=item.size_bytes,
                rules=settings.rules,
                now=issued,
            )
            for item in body.items
        ]
        now_text = issued.isoformat(timespec="milliseconds")
        # Pending records first, all or none: a status call for any ticket handed out finds its record.
        registry.create_pending(
            [
                ImageRecord(
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
                    expires_at=int(issued.timestamp()) + settings.pending_expiry_seconds,
                )
                for form, item in zip(signed, body.items, strict=True)
            ]
        )
        tickets = [
            UploadTicket(
                image_id=form.image_id,
                filename=item.filename,
                upload=PresignedPost(url=form.url, fields=form.fields),
                expires_at=form.expires_at.astimezone(UTC),
                status_url=f"/v1/images/{form.image_id}",
            )
            for form, item in zip(signed, body.items, strict=True)
        ]
        return UploadResponse(batch_id=batch_id, uploads=tickets)

    @app.get("/v1/batches/{batch_id}", response_model=BatchResponse, responses={404: {"model": ErrorBody}})
    def get_batch(batch_id: str, caller: Owner) -> BatchResponse:
        records = registry.batch(caller, batch_id) if is_valid_image_id(batch_id) else []
        if not records:
            raise ApiError(404, "not_found", f"no batch {batch_id!r} for this caller")
        return BatchResponse(batch_id=batch_id, images=[response_of(r) for r in records])

    @app.get("/v1/images", response_model=ImageListResponse, responses={400: {"model": ErrorBody}})
    def list_images(
        caller: Owner,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> ImageListResponse:
        try:
            after = decode_cursor(cursor) if cursor else None
        except CursorError as exc:
            raise ApiError(400, "invalid_cursor", str(exc)) from exc
        records, last = registry.page(caller, limit=limit, after=after)
        return ImageListResponse(
            images=[response_of(r) for r in records], next_cursor=encode_cursor(last) if last else None
        )

    @app.get("/v1/images/{image_id}", response_model=ImageResponse, responses={404: {"model": ErrorBody}})
    def get_image(image_id: str, caller: Owner) -> ImageResponse:
        record = registry.get(caller, image_id) if is_valid_image_id(image_id) else None
        if record is None or record.status is Status.DELETED:
            raise ApiError(404, "not_found", f"no image {image_id!r} for this caller")
        return response_of(record)

    @app.delete("/v1/images/{image_id}", status_code=204, responses={404: {"model": ErrorBody}})
    def remove_image(image_id: str, caller: Owner) -> Response:
        if not (is_valid_image_id(image_id) and delete_image(storage, caller, image_id)):
            raise ApiError(404, "not_found", f"no image {image_id!r} for this caller")
        return Response(status_code=204)

    @app.delete("/v1/me/images", response_model=ErasureResponse)
    def erase_my_images(caller: Owner) -> ErasureResponse:
        deleted, remaining = erase_page(storage, caller)
        return ErasureResponse(deleted=deleted, remaining=remaining)

    _install_error_handlers(app)
    # Outermost last: CORS headers go on every answer, the guard's 401/413/503 included.
    app.add_middleware(
        RequestGuard,
        verifier=verifier,
        public_paths=app.state.public_paths,
        public_prefixes=app.state.public_prefixes,
        max_body_bytes=MAX_BODY_BYTES,
    )
    if settings.cors_allowed_origins:
        app.add_middleware(
            JsonCorsMiddleware,
            allow_origins=list(settings.cors_allowed_origins),
            allow_methods=list(CORS_ALLOWED_METHODS),
            allow_headers=list(CORS_ALLOWED_HEADERS),
            max_age=CORS_MAX_AGE_SECONDS,
        )
    return app


def _image_response(shown: ImageView) -> ImageResponse:
    return ImageResponse(
        image_id=shown.image_id,
        batch_id=shown.batch_id,
        status=shown.status,
        created_at=shown.created_at,
        filename=shown.filename,
        width=shown.width,
        height=shown.height,
        reason=shown.reason,
        variants=[Variant(**vars(v)) for v in shown.variants],
        placeholder=shown.placeholder,
        dominant_color=shown.dominant_color,
    )


class JsonCorsMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered in the API's error shape (not plain text)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:  # Starlette's plain-text "OK" becomes an empty 204
            allowed = Response(status_code=204)
            allowed.headers.update(
                {k: v for k, v in response.headers.items() if k.startswith(("access-", "vary"))}
            )
            return allowed
        refused = error_response(403, "cors_rejected", bytes(response.body).decode())
        if "vary" in response.headers:
            refused.headers["vary"] = response.headers["vary"]
        return refused


def _is_json(content_type: str | None) -> bool:
    """What FastAPI itself parses as JSON: no Content-Type, application/json or any +json type."""
    if not content_type:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, **exc.headers)

    @app.exception_handler(Unauthorized)
    async def unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        return error_response(401, "unauthorized", exc.detail, **{"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if not _is_json(request.headers.get("content-type")):
            return error_response(
                415, "unsupported_media_type", "send the request body as Content-Type: application/json"
            )
        details = [{"loc": list(e["loc"]), "type": e["type"], "msg": e["msg"]} for e in errors]
        types = {e["type"] for e in errors}
        if "json_invalid" in types:
            return error_response(400, "malformed_json", "the request body is not valid JSON", details)
        if any(tuple(e["loc"]) == ("body", "items") and e["type"] == "too_short" for e in errors):
            return error_response(422, "no_items", "items must name at least one upload", details)
        if any(tuple(e["loc"]) == ("body", "items") and e["type"] == "too_long" for e in errors):
            return error_response(422, "too_many_items", f"at most {MAX_ITEMS} items per request", details)
        return error_response(422, "invalid_request", "the request does not match the schema", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(BotoCoreError)
    @app.exception_handler(ClientError)
    async def aws_error(request: Request, exc: Exception) -> JSONResponse:
        retryable = isinstance(exc, BotoCoreError) or (
            isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in _RETRYABLE_AWS_CODES
        )
        if not retryable:
            return await internal_error(request, exc)
        logger.warning("dependency unavailable: %s %s: %s", request.method, request.url.path, exc)
        return error_response(
            503,
            "dependency_unavailable",
            "a storage service is unavailable; retry shortly",
            **{"Retry-After": "1"},
        )

    # Starlette's ServerErrorMiddleware calls this for any other exception (then re-raises it, logged).
    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error: %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal_error", "something went wrong on our side")
