"""The one ASGI app: served by Lambda (through Mangum) and by uvicorn on Fargate. A small factory over
one router per resource (``upload_api.routes``); every error has the body of ``upload_api.errors``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.routing import APIRoute
from photo_contract.deletion import CdnInvalidation, Storage
from photo_contract.housekeeping import HousekeepingQueue
from photo_contract.idempotency import IdempotencyKeys
from photo_contract.registry import Registry
from photo_contract.runtime import CORS_ALLOWED_HEADERS, CORS_ALLOWED_METHODS, CORS_MAX_AGE_SECONDS
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware

from upload_api.auth import TokenVerifier
from upload_api.cdn_signing import CdnSigner
from upload_api.context import ApiContext
from upload_api.errors import ErrorBody, ErrorCode, install_error_handlers
from upload_api.guard import RequestGuard, RequestIds, error_response
from upload_api.models import MAX_ITEMS
from upload_api.quota import FormQuota, NoQuota
from upload_api.routes import batches, images, me, moderation, uploads
from upload_api.settings import ApiSettings

# Twenty items with 1 KiB file names are ~25 KiB of JSON; nothing legitimate comes near this.
MAX_BODY_BYTES = 64 * 1024
HEALTH_PATH = "/healthz"
DOC_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
_HEADER = {"schema": {"type": "string"}}
# Every operation may answer these, in the error shape; the headers a client acts on are declared.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "headers": {"WWW-Authenticate": {**_HEADER, "description": "Bearer"}}},
    405: {"model": ErrorBody, "headers": {"Allow": {**_HEADER, "description": "the methods the path takes"}}},
    413: {"model": ErrorBody},
    415: {"model": ErrorBody},
    422: {"model": ErrorBody},
    429: {"model": ErrorBody, "headers": {"Retry-After": {**_HEADER, "description": "seconds"}}},
    500: {"model": ErrorBody},
    503: {"model": ErrorBody, "headers": {"Retry-After": {**_HEADER, "description": "seconds"}}},
}


def create_app(
    settings: ApiSettings,
    *,
    s3: Any,
    verifier: TokenVerifier,
    registry: Registry,
    idempotency: IdempotencyKeys,
    events: Any,
    quota: FormQuota | None = None,
    signer: CdnSigner | None = None,
    cdn: CdnInvalidation | None = None,
    housekeeping: HousekeepingQueue | None = None,
) -> FastAPI:
    """``app.state.public_paths`` (exact) and ``public_prefixes`` are served without a token (the local
    runner adds its page and its stand-in CDN)."""
    docs = settings.contract.expose_docs
    app = FastAPI(
        title="photo-pipeline upload API",
        version="1",
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        responses=ERROR_RESPONSES,
        servers=[{"url": "/", "description": "this deployment (the API's own URL)"}],
    )
    app.state.public_paths = {HEALTH_PATH, *(DOC_PATHS if docs else ())}
    app.state.public_prefixes = set()  # nothing deployed; the local runner's stand-in CDN adds one
    storage = Storage(
        s3=s3,
        uploads_bucket=settings.contract.uploads_bucket,
        media_bucket=settings.contract.media_bucket,
        registry=registry,
        events=events,
        bus_name=settings.contract.event_bus_name,
        cdn=cdn,
    )
    ctx = ApiContext(
        settings=settings,
        s3=s3,
        registry=registry,
        idempotency=idempotency,
        storage=storage,
        quota=quota or NoQuota(),
        signer=signer,
        housekeeping=housekeeping,
    )

    # Async on purpose: it runs on the event loop, never waiting for a worker thread behind slow calls.
    @app.get(HEALTH_PATH, include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}  # liveness only: no AWS call

    routers = [resource.router(ctx) for resource in (uploads, batches, images, me, moderation)]
    for router in routers:
        app.include_router(router)
    # For a 405's Allow: every method of a path, across the routers that serve it.
    app.state.route_methods = [
        (route.path_regex, route.methods)
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    install_error_handlers(app, max_items=MAX_ITEMS)
    app.openapi = lambda: _contract(app, settings)  # type: ignore[method-assign]
    # Outermost last: CORS headers go on every answer, the guard's 401/413/503 included.
    app.add_middleware(
        RequestGuard,
        verifier=verifier,
        public_paths=app.state.public_paths,
        public_prefixes=app.state.public_prefixes,
        max_body_bytes=MAX_BODY_BYTES,
    )
    if settings.contract.cors_allowed_origins:
        app.add_middleware(
            JsonCorsMiddleware,
            allow_origins=list(settings.contract.cors_allowed_origins),
            allow_methods=list(CORS_ALLOWED_METHODS),
            allow_headers=list(CORS_ALLOWED_HEADERS),
            max_age=CORS_MAX_AGE_SECONDS,
        )
    app.add_middleware(RequestIds)  # outermost: every answer, the guard's and CORS's too, has its id
    return app


def _contract(app: FastAPI, settings: ApiSettings) -> dict[str, Any]:
    """FastAPI's document, with what this deployment accepts written in: the upload content types as
    an enum and the size bounds. Built once."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, routes=app.routes, servers=app.servers, tags=None
        )
        item = schema["components"]["schemas"]["UploadItem"]["properties"]
        item["content_type"]["enum"] = sorted(settings.rules.content_types)
        item["size_bytes"].update(minimum=1, maximum=settings.rules.max_bytes)
        app.openapi_schema = schema
    return app.openapi_schema


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
        refused = error_response(403, ErrorCode.CORS_REJECTED, bytes(response.body).decode())
        if "vary" in response.headers:
            refused.headers["vary"] = response.headers["vary"]
        return refused
