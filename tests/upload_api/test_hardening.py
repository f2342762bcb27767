"""What the security and reliability review found (issue 8), on both runtimes: the token before the
body, a capped body, a stalled key endpoint, CORS, docs only where configured, one error shape, the
per-owner form quota and access tokens only."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import boto3
import httpx
import pytest
from local_runner.issuer import LocalIssuer
from upload_api.app import MAX_BODY_BYTES
from upload_api.auth import AuthSettings
from upload_api.settings import ApiSettings
from upload_api.wiring import build_app

from tests.upload_api.conftest import ALLOWED_ORIGIN, HttpRuntime, LambdaRuntime, Runtime

ONE_ITEM = json.dumps({"items": [{"content_type": "image/jpeg", "size_bytes": 1000}]})


def _both(settings: ApiSettings) -> Iterator[dict[str, Runtime]]:
    http = HttpRuntime(settings)
    try:
        yield {"lambda": LambdaRuntime(settings), "http": http}
    finally:
        http.stop()


def _assert_error(reply: Any, status: int, code: str) -> None:
    assert reply.status == status, reply.body
    assert reply.body["code"] == code and isinstance(reply.body["message"], str)


# --- tokens -------------------------------------------------------------------------------------


def test_an_id_token_is_refused(api: Runtime, issuer: LocalIssuer) -> None:
    reply = api.call("POST", "/v1/uploads", token=issuer.token("alice", token_use="id"), body=ONE_ITEM)
    _assert_error(reply, 401, "unauthorized")
    assert reply.body["message"] == "invalid token: not an access token"


# --- the token before the body, and a capped body ------------------------------------------------


def test_an_unauthenticated_large_body_is_401(api: Runtime) -> None:
    reply = api.call("POST", "/v1/uploads", body="x" * (1024 * 1024))
    _assert_error(reply, 401, "unauthorized")


def test_the_app_answers_401_without_reading_the_body(settings: ApiSettings) -> None:
    """The ASGI app itself (what Mangum and uvicorn both call): receive() is never awaited."""
    app = build_app(settings)
    received: list[Any] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        received.append(True)
        return {"type": "http.request", "body": b"x" * (1024 * 1024), "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/uploads",
        "raw_path": b"/v1/uploads",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"1048576")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    loop = asyncio.new_event_loop()  # not asyncio.run: it would unset the loop Mangum later looks up
    try:
        loop.run_until_complete(app(scope, receive, send))
    finally:
        loop.close()
    assert sent[0]["status"] == 401
    assert received == []


def test_the_server_answers_401_before_the_body_arrives(runtimes: dict[str, Runtime]) -> None:
    """Over a real socket: headers announce 1 MiB, no body follows. A server that read the body first
    would wait for it; this one answers at once."""
    http = runtimes["http"]
    assert isinstance(http, HttpRuntime)
    with socket.create_connection(("127.0.0.1", http.port), timeout=5) as conn:
        conn.sendall(
            b"POST /v1/uploads HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1048576\r\n\r\n"
        )
        head = conn.recv(4096).decode()
    assert head.startswith("HTTP/1.1 401"), head


def test_an_authenticated_oversized_body_is_413(api: Runtime, issuer: LocalIssuer) -> None:
    body = json.dumps({"items": [{"content_type": "image/jpeg", "size_bytes": 1, "filename": "x" * 70_000}]})
    assert len(body) > MAX_BODY_BYTES
    reply = api.call("POST", "/v1/uploads", token=issuer.token("alice"), body=body)
    _assert_error(reply, 413, "body_too_large")


def test_a_streamed_body_without_length_is_capped_too(
    runtimes: dict[str, Runtime], issuer: LocalIssuer
) -> None:
    http = runtimes["http"]
    assert isinstance(http, HttpRuntime)

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 8192  # 160 KiB in chunked encoding, no Content-Length

    response = httpx.post(
        f"{http.base_url}/v1/uploads",
        headers={"authorization": f"Bearer {issuer.token('alice')}", "content-type": "application/json"},
        content=chunks(),
        timeout=10,
    )
    assert response.status_code == 413 and response.json()["code"] == "body_too_large"


# --- a stalled key endpoint ----------------------------------------------------------------------


class StalledServer:
    """Accepts connections and never answers: a key endpoint that hangs."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.held: list[socket.socket] = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self._socket.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            self.held.append(conn)

    def close(self) -> None:
        self._stop = True
        for conn in self.held:
            conn.close()
        self._socket.close()


JWKS_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def stalled_runtimes(settings: ApiSettings) -> Iterator[tuple[dict[str, Runtime], StalledServer]]:
    stalled = StalledServer()
    auth = AuthSettings(
        issuer=settings.auth.issuer,
        audience=settings.auth.audience,
        jwks_url=f"http://127.0.0.1:{stalled.port}/.well-known/jwks.json",
        jwks_timeout_seconds=JWKS_TIMEOUT,
    )
    try:
        yield from ((runtimes, stalled) for runtimes in _both(replace(settings, auth=auth)))
    finally:
        stalled.close()


def test_a_stalled_key_endpoint_is_503_on_lambda(
    stalled_runtimes: tuple[dict[str, Runtime], StalledServer], issuer: LocalIssuer
) -> None:
    runtimes, _ = stalled_runtimes
    reply = runtimes["lambda"].call("POST", "/v1/uploads", token=issuer.token("alice"), body=ONE_ITEM)
    _assert_error(reply, 503, "auth_unavailable")
    assert reply.headers.get("retry-after")


def test_a_stalled_key_endpoint_is_503_and_healthz_stays_up(
    stalled_runtimes: tuple[dict[str, Runtime], StalledServer], issuer: LocalIssuer
) -> None:
    runtimes, stalled = stalled_runtimes
    http = runtimes["http"]
    assert isinstance(http, HttpRuntime)
    token = issuer.token("alice")
    finished: list[float] = []

    def authenticated_call() -> tuple[int, str]:
        with httpx.Client(base_url=http.base_url, timeout=JWKS_TIMEOUT * 4) as client:
            response = client.post(
                "/v1/uploads",
                headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
                content=ONE_ITEM,
            )
        finished.append(time.monotonic())
        return response.status_code, response.json()["code"]

    held_before = len(stalled.held)
    with ThreadPoolExecutor(max_workers=45) as pool:
        calls = [pool.submit(authenticated_call) for _ in range(45)]
        deadline = time.monotonic() + JWKS_TIMEOUT
        while len(stalled.held) == held_before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(stalled.held) > held_before, "no request reached the key endpoint"
        health = httpx.get(f"{http.base_url}/healthz", timeout=JWKS_TIMEOUT / 2)
        health_done = time.monotonic()
        results = [call.result() for call in calls]
    assert health.status_code == 200
    assert health_done < min(finished), "/healthz waited for the token checks"
    # Every request gets a bounded answer that tells the client to retry, not a 401 that logs it out.
    assert set(results) == {(503, "auth_unavailable")}


# --- CORS ----------------------------------------------------------------------------------------


def test_a_preflight_from_a_configured_origin_is_allowed(api: Runtime) -> None:
    reply = api.call(
        "OPTIONS",
        "/v1/uploads",
        headers={
            "origin": ALLOWED_ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert reply.status == 204
    assert reply.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in reply.headers["access-control-allow-methods"]
    assert "authorization" in reply.headers["access-control-allow-headers"].lower()


def test_a_preflight_from_another_origin_is_refused(api: Runtime) -> None:
    reply = api.call(
        "OPTIONS",
        "/v1/uploads",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    _assert_error(reply, 403, "cors_rejected")
    assert "access-control-allow-origin" not in reply.headers


def test_an_error_to_a_configured_origin_is_readable_by_it(api: Runtime) -> None:
    reply = api.call("POST", "/v1/uploads", body=ONE_ITEM, headers={"origin": ALLOWED_ORIGIN})
    _assert_error(reply, 401, "unauthorized")
    assert reply.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


# --- docs only where the environment says --------------------------------------------------------


@pytest.fixture(scope="module")
def docless_runtimes(settings: ApiSettings) -> Iterator[dict[str, Runtime]]:
    yield from _both(settings.with_contract(expose_docs=False))


@pytest.mark.parametrize("runtime", ["lambda", "http"])
@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_docs_are_not_served_unless_configured(
    docless_runtimes: dict[str, Runtime], issuer: LocalIssuer, runtime: str, path: str
) -> None:
    api = docless_runtimes[runtime]
    _assert_error(api.call("GET", path), 401, "unauthorized")
    _assert_error(api.call("GET", path, token=issuer.token("alice")), 404, "not_found")


# --- one error shape for failures ----------------------------------------------------------------


@pytest.fixture(scope="module")
def broken_storage(settings: ApiSettings) -> Iterator[dict[str, dict[str, Runtime]]]:
    with socket.socket() as probe:  # a port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    unreachable = settings.with_contract(endpoint_url=f"http://127.0.0.1:{closed}")
    missing = settings.with_contract(registry_table="no-such-table")
    down, bug = _both(unreachable), _both(missing)
    yield {"unreachable": next(down), "missing": next(bug)}
    for generator in (down, bug):
        generator.close()


@pytest.mark.parametrize("runtime", ["lambda", "http"])
def test_an_unreachable_store_is_503_with_a_code(
    broken_storage: dict[str, dict[str, Runtime]], issuer: LocalIssuer, runtime: str
) -> None:
    api = broken_storage["unreachable"][runtime]
    reply = api.call("GET", "/v1/images/00000000000000000000000000000001", token=issuer.token("alice"))
    _assert_error(reply, 503, "dependency_unavailable")


@pytest.mark.parametrize("runtime", ["lambda", "http"])
def test_an_unexpected_failure_is_a_json_500(
    broken_storage: dict[str, dict[str, Runtime]], issuer: LocalIssuer, runtime: str
) -> None:
    api = broken_storage["missing"][runtime]
    reply = api.call("GET", "/v1/images/00000000000000000000000000000001", token=issuer.token("alice"))
    _assert_error(reply, 500, "internal_error")
    assert "no-such-table" not in json.dumps(reply.body)  # no internals leak to the client


# --- a per-owner cap on forms --------------------------------------------------------------------

QUOTA_TABLE = "api-upload-quota"
FORMS_PER_MINUTE = 25


@pytest.fixture(scope="module")
def quota_runtimes(settings: ApiSettings, s3_endpoint: str) -> Iterator[dict[str, Runtime]]:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=s3_endpoint)
    dynamodb.create_table(
        TableName=QUOTA_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    yield from _both(settings.with_contract(quota_table=QUOTA_TABLE, forms_per_minute=FORMS_PER_MINUTE))


def _twenty() -> str:
    return json.dumps({"items": [{"content_type": "image/jpeg", "size_bytes": 1000}] * 20})


@pytest.mark.parametrize("runtime", ["lambda", "http"])
def test_forms_per_minute_are_capped_per_owner(
    quota_runtimes: dict[str, Runtime], issuer: LocalIssuer, runtime: str
) -> None:
    api = quota_runtimes[runtime]
    if time.time() % 60 > 50:  # both calls inside one window: the boundary is the limit's own rule
        time.sleep(61 - time.time() % 60)
    owner, other = f"quota-{runtime}-a", f"quota-{runtime}-b"
    assert api.call("POST", "/v1/uploads", token=issuer.token(owner), body=_twenty()).status == 200
    refused = api.call("POST", "/v1/uploads", token=issuer.token(owner), body=_twenty())
    _assert_error(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # Another owner has a budget of their own; the refused batch consumed nothing of the first's.
    assert api.call("POST", "/v1/uploads", token=issuer.token(other), body=_twenty()).status == 200
    five = json.dumps({"items": [{"content_type": "image/jpeg", "size_bytes": 1000}] * 5})
    assert api.call("POST", "/v1/uploads", token=issuer.token(owner), body=five).status == 200


def test_a_post_whose_sizes_add_up_past_the_cap_is_refused_whole(
    settings: ApiSettings, issuer: LocalIssuer
) -> None:
    """Each form binds its item's exact size, so the cap on the sum bounds what one post can make the
    pipeline store and decode (20 x 25 MiB before it)."""
    capped = LambdaRuntime(settings.with_contract(max_batch_bytes=8 * 1024 * 1024))
    token = issuer.token("batch-capped")
    item = {"content_type": "image/jpeg", "size_bytes": 4 * 1024 * 1024}
    refused = capped.call("POST", "/v1/uploads", token=token, body=json.dumps({"items": [item] * 3}))
    assert (refused.status, refused.body["code"]) == (422, "batch_too_large")
    accepted = capped.call("POST", "/v1/uploads", token=token, body=json.dumps({"items": [item] * 2}))
    assert accepted.status == 200 and len(accepted.body["uploads"]) == 2
