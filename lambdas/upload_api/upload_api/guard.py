"""The request guard, in front of FastAPI: the token is verified before a byte of the body is read,
and the body is capped before the app parses it.

FastAPI reads and parses a body before it resolves any dependency, so an auth dependency alone lets an
unauthenticated client make the server read (and hold) whatever it sends. This pure ASGI middleware
answers 401/503 from the headers alone, then reads at most ``max_body_bytes`` (413 beyond) and hands
the app the body it buffered. Token checks run on their own small thread pool: a stalled key endpoint
cannot take the threads that every other request (and nothing of /healthz, which is async) needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Set
from contextvars import ContextVar
from typing import Any

import anyio
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse

from upload_api.auth import AuthUnavailable, TokenVerifier, Unauthorized

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

AUTH_THREADS = 8
AUTH_RETRY_AFTER_SECONDS = 5
OWNER_STATE_KEY = "owner"
GROUPS_STATE_KEY = "groups"


# The request being answered (``RequestIds``): in every error body and in the logs of its failures.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
REQUEST_ID_HEADER = "x-request-id"


def error_response(status: int, code: str, message: str, details: Any = None, **headers: str) -> JSONResponse:
    """The one error body: ``{"code", "message"[, "details"], "request_id"}``."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    request_id = REQUEST_ID.get()
    if request_id is not None:
        body["request_id"] = request_id
    return JSONResponse(status_code=status, content=body, headers=headers or None)


class RequestIds:
    """Outermost: every request gets an id, the one its logs carry: on Lambda the invocation's
    ``aws_request_id`` (CloudWatch prints it on every line of the invocation), elsewhere a new one. It
    is answered in ``X-Request-Id`` and in every error body."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        context = scope.get("aws.context")
        request_id = str(getattr(context, "aws_request_id", "") or uuid.uuid4().hex)
        token = REQUEST_ID.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self._app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: TokenVerifier,
        public_paths: Set[str],  # read per request: the local runner adds its page after creation
        public_prefixes: Set[str] = frozenset(),  # likewise: paths under these need no token
        max_body_bytes: int,
    ) -> None:
        self._app = app
        self._verifier = verifier
        self._public_paths = public_paths
        self._public_prefixes = public_prefixes
        self._max_body_bytes = max_body_bytes
        self._limiter = anyio.CapacityLimiter(AUTH_THREADS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or self._is_public(scope["path"]):
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            caller = await anyio.to_thread.run_sync(
                self._verifier.caller, headers.get("authorization"), limiter=self._limiter
            )
        except Unauthorized as exc:
            await error_response(401, "unauthorized", exc.detail, **{"WWW-Authenticate": "Bearer"})(
                scope, receive, send
            )
            return
        except AuthUnavailable as exc:
            await error_response(
                503, "auth_unavailable", exc.detail, **{"Retry-After": str(AUTH_RETRY_AFTER_SECONDS)}
            )(scope, receive, send)
            return
        body = await self._read_capped(headers, receive)
        if body is None:
            await error_response(
                413, "body_too_large", f"the request body is limited to {self._max_body_bytes} bytes"
            )(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state[OWNER_STATE_KEY], state[GROUPS_STATE_KEY] = caller.owner, caller.groups
        await self._app(scope, _replay(body, receive), send)

    def _is_public(self, path: str) -> bool:
        return path in self._public_paths or any(path.startswith(p) for p in self._public_prefixes)

    async def _read_capped(self, headers: Headers, receive: Receive) -> bytes | None:
        """The whole body, or None once it is known to exceed the cap (declared or streamed)."""
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self._max_body_bytes):
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away: the app sees an empty body and the disconnect
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
