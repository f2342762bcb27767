from __future__ import annotations

import base64
import copy
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import boto3
import httpx
import pytest
import uvicorn
from local_runner.issuer import LocalIssuer
from mangum import Mangum
from moto.server import ThreadedMotoServer
from photo_contract.registry import table_definition
from photo_contract.runtime import ApiEnvironment
from photo_contract.variants import FEED_VARIANTS
from resize_worker.handler import aws_services
from resize_worker.process import ProcessOutcome, process_object
from resize_worker.settings import WorkerSettings
from upload_api.settings import ApiSettings
from upload_api.wiring import build_app

from tests.conftest import LambdaContext, load_event

UPLOADS = "api-uploads"
MEDIA = "api-media"
TABLE = "api-images"
BUS = "api-events"
SECRET = "test-secret-key-not-real"
MAX_BYTES = 5 * 1024 * 1024
ALLOWED_ORIGIN = "https://app.example"
OUTPUTS = sum(len(spec.encodings) for spec in FEED_VARIANTS)  # objects (variant x format) per image


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Runtime(Protocol):
    name: str

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Reply: ...


@pytest.fixture(scope="session")
def aws_env() -> Iterator[None]:
    saved = {
        k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ.update(
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY=SECRET, AWS_DEFAULT_REGION="us-east-1"
    )
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def s3_endpoint(aws_env: None) -> Iterator[str]:
    """moto server on loopback: real HTTP for presigned POSTs and for the app's own S3 calls."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)
    s3.create_bucket(Bucket=UPLOADS)
    s3.put_bucket_versioning(Bucket=UPLOADS, VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket=MEDIA)
    boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint).create_table(
        **table_definition(TABLE)
    )
    boto3.client("events", region_name="us-east-1", endpoint_url=endpoint).create_event_bus(Name=BUS)
    yield endpoint
    server.stop()


@pytest.fixture(scope="session")
def s3(s3_endpoint: str) -> Any:
    return boto3.client("s3", region_name="us-east-1", endpoint_url=s3_endpoint)


@pytest.fixture(scope="session")
def worker(s3_endpoint: str) -> Callable[[str], ProcessOutcome]:
    """The resize worker's own code on the same emulator: ``worker(key)`` processes one original."""
    settings = WorkerSettings(media_bucket=MEDIA, registry_table=TABLE, event_bus_name=BUS)
    services = aws_services(settings, endpoint_url=s3_endpoint)

    def process(key: str) -> ProcessOutcome:
        return process_object(services, settings, bucket=UPLOADS, key=key)

    return process


@pytest.fixture(scope="session")
def issuer() -> LocalIssuer:
    return LocalIssuer()


@pytest.fixture(scope="session")
def housekeeping_url(s3_endpoint: str) -> str:
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=s3_endpoint)
    url: str = sqs.create_queue(QueueName="housekeeping")["QueueUrl"]
    return url


@pytest.fixture(scope="session")
def housekeeping(s3_endpoint: str, housekeeping_url: str) -> Callable[[], list[str]]:
    """The housekeeping function's own code on the same emulator: ``housekeeping()`` runs every task
    queued (and the tasks they queue) and says what each did."""
    from photo_contract.housekeeping import HousekeepingTask
    from photo_contract.runtime import HousekeepingEnvironment
    from resize_worker.housekeeping import run
    from resize_worker.housekeeping_handler import housekeeping_services

    env = HousekeepingEnvironment(
        uploads_bucket=UPLOADS,
        media_bucket=MEDIA,
        registry_table=TABLE,
        event_bus_name=BUS,
        queue_url=housekeeping_url,
        endpoint_url=s3_endpoint,
    )
    services = housekeeping_services(env, session=boto3.session.Session(region_name="us-east-1"))
    sqs = services.queue.sqs

    def drain() -> list[str]:
        done = []
        while messages := sqs.receive_message(QueueUrl=housekeeping_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in messages:
                done.append(run(services, HousekeepingTask.from_body(message["Body"])))
                sqs.delete_message(QueueUrl=housekeeping_url, ReceiptHandle=message["ReceiptHandle"])
        return done

    return drain


@pytest.fixture(scope="session")
def settings(s3_endpoint: str, issuer: LocalIssuer, housekeeping_url: str) -> ApiSettings:
    return ApiSettings.from_contract(
        ApiEnvironment(
            uploads_bucket=UPLOADS,
            media_bucket=MEDIA,
            registry_table=TABLE,
            event_bus_name=BUS,
            region="us-east-1",
            jwt_issuer=issuer.issuer,
            jwt_audience=issuer.audience,
            jwks_json=issuer.jwks_json,
            max_upload_bytes=MAX_BYTES,
            upload_expiry_seconds=600,
            endpoint_url=s3_endpoint,
            expose_docs=True,
            cors_allowed_origins=(ALLOWED_ORIGIN,),
            housekeeping_queue_url=housekeeping_url,
        )
    )


class LambdaRuntime:
    """The Lambda entry point, fed API Gateway HTTP API (v2) events."""

    name = "lambda"

    def __init__(self, settings: ApiSettings) -> None:
        self._handler = Mangum(build_app(settings), lifespan="off")

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        event = copy.deepcopy(load_event("apigw_v2_request"))
        path, _, query = path.partition("?")
        event["rawPath"] = path
        event["rawQueryString"] = query
        event["requestContext"]["http"].update(method=method, path=path)
        event["headers"].update({k.lower(): v for k, v in (headers or {}).items()})
        if token is not None:
            event["headers"]["authorization"] = f"Bearer {token}"
        if body is not None:
            event["headers"]["content-type"] = content_type
            event["body"] = body
        response = self._handler(event, LambdaContext())
        raw = response.get("body", "")
        if response.get("isBase64Encoded"):
            raw = base64.b64decode(raw).decode()
        return Reply(response["statusCode"], json.loads(raw) if raw else None, response.get("headers", {}))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class HttpRuntime:
    """The container entry point's server: uvicorn on 127.0.0.1, called over real HTTP."""

    name = "http"

    def __init__(self, settings: ApiSettings) -> None:
        self.port = _free_port()
        port = self.port
        config = uvicorn.Config(build_app(settings), host="127.0.0.1", port=port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        self.base_url = f"http://127.0.0.1:{port}"
        self._client = httpx.Client(base_url=self.base_url, timeout=10)

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        if body is not None:
            sent["content-type"] = content_type
        response = self._client.request(method, path, headers=sent, content=body)
        return Reply(
            response.status_code, response.json() if response.content else None, dict(response.headers)
        )

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@pytest.fixture(scope="session")
def runtimes(settings: ApiSettings) -> Iterator[dict[str, Runtime]]:
    http = HttpRuntime(settings)
    yield {"lambda": LambdaRuntime(settings), "http": http}
    http.stop()


@pytest.fixture(params=["lambda", "http"])
def api(request: pytest.FixtureRequest, runtimes: dict[str, Runtime]) -> Runtime:
    return runtimes[request.param]
