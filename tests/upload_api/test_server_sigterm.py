"""The container entry point as ECS runs it: graceful shutdown on SIGTERM (an in-flight request finishes,
then the process exits 0), and idle connections kept open longer than the ALB keeps them."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
from local_runner.issuer import LocalIssuer
from upload_api.settings import ApiSettings

from tests.upload_api.conftest import SECRET


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_server(settings: ApiSettings, issuer: LocalIssuer) -> tuple[subprocess.Popen[str], int]:
    port = _free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "UPLOADS_BUCKET": settings.contract.uploads_bucket,
        "MEDIA_BUCKET": settings.contract.media_bucket,
        "REGISTRY_TABLE": settings.contract.registry_table,
        "EVENT_BUS_NAME": settings.contract.event_bus_name,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "MAX_UPLOAD_BYTES": str(settings.rules.max_bytes),
        "JWT_ISSUER": issuer.issuer,
        "JWT_AUDIENCE": issuer.audience,
        "JWKS_JSON": issuer.jwks_json,
        "AWS_ENDPOINT_URL": settings.contract.endpoint_url or "",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "upload_api.server"], env=env, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server, port
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            raise AssertionError("server did not come up")
        time.sleep(0.1)


def _stop(server: subprocess.Popen[str]) -> None:
    if server.poll() is None:
        server.kill()
        server.wait()


def test_an_idle_connection_outlives_uvicorns_default_keep_alive(
    settings: ApiSettings, issuer: LocalIssuer
) -> None:
    """uvicorn's default closes idle connections after 5 s while the ALB reuses them for up to 60 s:
    a request sent down a connection the server is closing is a 502. Same connection, 6 s apart."""
    server, port = _start_server(settings, issuer)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/healthz")
        first = conn.getresponse()
        assert first.status == 200 and first.read() == b'{"status":"ok"}'
        sock = conn.sock
        time.sleep(6)
        # On a connection the server had closed, http.client raises RemoteDisconnected here.
        conn.request("GET", "/healthz")
        second = conn.getresponse()
        assert second.status == 200 and second.read() == b'{"status":"ok"}'
        assert conn.sock is sock, "the request went over a new connection"
        conn.close()
    finally:
        _stop(server)


def test_sigterm_lets_the_in_flight_request_finish_then_exits(
    settings: ApiSettings, issuer: LocalIssuer
) -> None:
    server, port = _start_server(settings, issuer)
    try:
        body = json.dumps({"items": [{"content_type": "image/jpeg", "size_bytes": 100}]}).encode()
        head = (
            f"POST /v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {issuer.token('alice')}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=15) as conn:
            conn.sendall(head + body[:10])  # the request is now in flight
            time.sleep(0.3)
            server.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert server.poll() is None, "exited with a request in flight"
            conn.sendall(body[10:])
            response = b""
            while chunk := conn.recv(65536):
                response += chunk
                if (
                    b"\r\n\r\n" in response
                    and b'"uploads"' in response
                    and response.rstrip().endswith(b"}]}")
                ):
                    break
        assert response.startswith(b"HTTP/1.1 200"), response[:200]

        assert server.wait(timeout=25) == 0  # well inside ECS's 30 s stop timeout
    finally:
        _stop(server)
    stderr = server.stderr.read() if server.stderr else ""
    assert "Shutting down" in stderr or "Finished server process" in stderr, stderr[-2000:]
