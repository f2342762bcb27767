"""The one ASGI app: served by Lambda (through Mangum) and by uvicorn on Fargate. Thin over presign/status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from photo_contract import is_valid_image_id
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from upload_api.auth import TokenVerifier, Unauthorized
from upload_api.presign import presign_upload
from upload_api.settings import ApiSettings
from upload_api.status import image_status

MAX_ITEMS = 20


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


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
    uploads: list[UploadTicket]


class Variant(BaseModel):
    name: str
    width: int
    height: int
    content_type: str
    url: str


class ImageResponse(BaseModel):
    image_id: str
    status: str = Field(examples=["pending", "ready", "rejected"])
    width: int | None = None
    height: int | None = None
    variants: list[Variant] = []
    reason: str | None = None


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


# Declared for the OpenAPI schema (the bearer security scheme); the verifier reads the header itself.
_BEARER = HTTPBearer(auto_error=False, description="A JWT access token from the environment's issuer.")


def _caller(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None
) -> str:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier.owner(request.headers.get("authorization"))


# Module level: FastAPI resolves these annotations by name.
Owner = Annotated[str, Depends(_caller)]


def create_app(settings: ApiSettings, *, s3: Any, verifier: TokenVerifier) -> FastAPI:
    app = FastAPI(
        title="photo-pipeline upload API",
        version="1",
        responses={401: {"model": ErrorBody}, 415: {"model": ErrorBody}, 422: {"model": ErrorBody}},
    )

    app.state.verifier = verifier

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
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
        tickets = []
        for item in body.items:
            signed = presign_upload(
                s3,
                bucket=settings.uploads_bucket,
                owner=caller,
                content_type=item.content_type,
                rules=settings.rules,
            )
            tickets.append(
                UploadTicket(
                    image_id=signed.image_id,
                    filename=item.filename,
                    upload=PresignedPost(url=signed.url, fields=signed.fields),
                    expires_at=signed.expires_at.astimezone(UTC),
                    status_url=f"/v1/images/{signed.image_id}",
                )
            )
        return UploadResponse(uploads=tickets)

    @app.get("/v1/images/{image_id}", response_model=ImageResponse, responses={404: {"model": ErrorBody}})
    def get_image(image_id: str, caller: Owner) -> ImageResponse:
        found = (
            image_status(
                s3,
                uploads_bucket=settings.uploads_bucket,
                media_bucket=settings.media_bucket,
                owner=caller,
                image_id=image_id,
                url_expiry_seconds=settings.variant_url_expiry_seconds,
                public_base_url=settings.public_media_base_url,
            )
            if is_valid_image_id(image_id)
            else None
        )
        if found is None:
            raise ApiError(404, "not_found", f"no image {image_id!r} for this caller")
        return ImageResponse(
            image_id=found.image_id,
            status=found.status,
            width=found.width,
            height=found.height,
            reason=found.reason,
            variants=[Variant(**vars(v)) for v in found.variants],
        )

    _install_error_handlers(app)
    return app


def _error(status: int, code: str, message: str, details: Any = None, **headers: str) -> JSONResponse:
    body = ErrorBody(code=code, message=message, details=details).model_dump(exclude_none=True)
    return JSONResponse(status_code=status, content=body, headers=headers or None)


def _is_json(content_type: str | None) -> bool:
    """What FastAPI itself parses as JSON: no Content-Type, application/json or any +json type."""
    if not content_type:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(Unauthorized)
    async def unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        return _error(401, "unauthorized", exc.detail, **{"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if not _is_json(request.headers.get("content-type")):
            return _error(
                415, "unsupported_media_type", "send the request body as Content-Type: application/json"
            )
        details = [{"loc": list(e["loc"]), "type": e["type"], "msg": e["msg"]} for e in errors]
        types = {e["type"] for e in errors}
        if "json_invalid" in types:
            return _error(400, "malformed_json", "the request body is not valid JSON", details)
        if any(tuple(e["loc"]) == ("body", "items") and e["type"] == "too_short" for e in errors):
            return _error(422, "no_items", "items must name at least one upload", details)
        if any(tuple(e["loc"]) == ("body", "items") and e["type"] == "too_long" for e in errors):
            return _error(422, "too_many_items", f"at most {MAX_ITEMS} items per request", details)
        return _error(422, "invalid_request", "the request does not match the schema", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))
