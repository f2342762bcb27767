"""Every answer that is not a success has one JSON body, ``{"code", "message"[, "details"]}``, on both
runtimes, and its ``code`` is one of ``ErrorCode`` (an enum in the OpenAPI document)."""

from __future__ import annotations

import logging
from enum import StrEnum
from re import Pattern
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from upload_api.auth import Unauthorized
from upload_api.guard import REQUEST_ID, error_response

logger = logging.getLogger(__name__)


class ErrorCode(StrEnum):
    UNAUTHORIZED = "unauthorized"  # 401: no, or no valid, bearer token
    AUTH_UNAVAILABLE = "auth_unavailable"  # 503: the issuer's keys could not be fetched
    BODY_TOO_LARGE = "body_too_large"  # 413
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # 415: a body that is not JSON
    MALFORMED_JSON = "malformed_json"  # 400: not JSON, or not UTF-8
    NO_ITEMS = "no_items"  # 422
    TOO_MANY_ITEMS = "too_many_items"  # 422
    INVALID_REQUEST = "invalid_request"  # 422: any other mismatch with the schema
    UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"  # 422
    SIZE_OUT_OF_RANGE = "size_out_of_range"  # 422
    BATCH_TOO_LARGE = "batch_too_large"  # 422: the items' sizes together exceed the post's cap
    RATE_LIMITED = "rate_limited"  # 429, with Retry-After
    INVALID_CURSOR = "invalid_cursor"  # 400
    NOT_FOUND = "not_found"  # 404
    METHOD_NOT_ALLOWED = "method_not_allowed"  # 405, with Allow
    HTTP_ERROR = "http_error"  # any other HTTP-level refusal
    CORS_REJECTED = "cors_rejected"  # 403: a preflight from an origin not allowed
    NOT_A_MODERATOR = "not_a_moderator"  # 403: a review call from outside the moderators group
    DECISION_CONFLICT = "decision_conflict"  # 409: the image is not held (any more), or was decided otherwise
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"  # 400: not 1..255 printable ASCII characters
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"  # 422: the key was used with another body
    IDEMPOTENCY_KEY_IN_FLIGHT = "idempotency_key_in_flight"  # 409: a request with the key is running
    IDEMPOTENT_BATCH_GONE = "idempotent_batch_gone"  # 410: the key's batch expired unused (make a new key)
    DEPENDENCY_UNAVAILABLE = "dependency_unavailable"  # 503, with Retry-After
    INTERNAL_ERROR = "internal_error"  # 500


class ErrorBody(BaseModel):
    code: ErrorCode
    message: str
    details: Any = None
    request_id: str | None = Field(
        default=None, description="The request's id, as in its logs and its X-Request-Id header."
    )


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}


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
# Validation errors with a code of their own: (location, pydantic error type) -> (code, message).
_ITEMS_ERRORS = {
    "too_short": (ErrorCode.NO_ITEMS, "items must name at least one upload"),
    "too_long": (ErrorCode.TOO_MANY_ITEMS, "at most {max_items} items per request"),
}


def _is_json(content_type: str | None) -> bool:
    """What FastAPI itself parses as JSON: no Content-Type, application/json or any +json type."""
    if not content_type:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def validation_error(request: Request, exc: RequestValidationError, *, max_items: int) -> JSONResponse:
    errors = exc.errors()
    if not _is_json(request.headers.get("content-type")):
        return error_response(
            415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, "send the request body as Content-Type: application/json"
        )
    details = [{"loc": list(e["loc"]), "type": e["type"], "msg": e["msg"]} for e in errors]
    if any(e["type"] == "json_invalid" for e in errors):
        return error_response(400, ErrorCode.MALFORMED_JSON, "the request body is not valid JSON", details)
    for error in errors:
        if tuple(error["loc"]) == ("body", "items") and error["type"] in _ITEMS_ERRORS:
            code, message = _ITEMS_ERRORS[error["type"]]
            return error_response(422, code, message.format(max_items=max_items), details)
    return error_response(422, ErrorCode.INVALID_REQUEST, "the request does not match the schema", details)


def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Starlette's own refusals in our shape, their headers kept. A 400 from Starlette is a body it
    could not decode (not UTF-8): malformed JSON, as the API documents. A 405's Allow names every
    method of the path (Starlette's names only the first route that matched it)."""
    code = {
        400: ErrorCode.MALFORMED_JSON,
        404: ErrorCode.NOT_FOUND,
        405: ErrorCode.METHOD_NOT_ALLOWED,
    }.get(exc.status_code, ErrorCode.HTTP_ERROR)
    message = "the request body is not valid JSON" if code is ErrorCode.MALFORMED_JSON else str(exc.detail)
    headers = dict(exc.headers or {})
    if code is ErrorCode.METHOD_NOT_ALLOWED:
        headers["Allow"] = ", ".join(_methods_of(request))
    return error_response(exc.status_code, code, message, **headers)


def _methods_of(request: Request) -> list[str]:
    """Every method the API serves on the request's path (``app.state.route_methods``, set by the app
    factory from its routers)."""
    table: list[tuple[Pattern[str], set[str]]] = getattr(request.app.state, "route_methods", [])
    path = request.url.path
    return sorted({m for pattern, methods in table if pattern.match(path) for m in methods})


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, BotoCoreError):
        return True
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in _RETRYABLE_AWS_CODES


def install_error_handlers(app: FastAPI, *, max_items: int) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, **exc.headers)

    @app.exception_handler(Unauthorized)
    async def unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        return error_response(401, ErrorCode.UNAUTHORIZED, exc.detail, **{"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(request, exc, max_items=max_items)

    @app.exception_handler(StarletteHTTPException)
    async def starlette_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_error(request, exc)

    @app.exception_handler(BotoCoreError)
    @app.exception_handler(ClientError)
    async def aws_error(request: Request, exc: Exception) -> JSONResponse:
        if not _retryable(exc):
            return await internal_error(request, exc)
        logger.warning(
            "dependency unavailable: %s %s (request %s): %s",
            request.method,
            request.url.path,
            REQUEST_ID.get(),
            exc,
        )
        return error_response(
            503,
            ErrorCode.DEPENDENCY_UNAVAILABLE,
            "a storage service is unavailable; retry shortly",
            **{"Retry-After": "1"},
        )

    # Starlette's ServerErrorMiddleware calls this for any other exception (then re-raises it, logged).
    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception(
            "unhandled error: %s %s (request %s)",
            request.method,
            request.url.path,
            REQUEST_ID.get(),
            exc_info=exc,
        )
        return error_response(500, ErrorCode.INTERNAL_ERROR, "something went wrong on our side")
