"""The fault injector of ``make burst FAULTS=…``: it answers a share of S3, DynamoDB and EventBridge
requests with the errors AWS answers under load, which botocore parses and retries like the real ones,
and leaves every other service alone."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from local_runner.faults import FaultInjector
from moto.server import ThreadedMotoServer

ONE_TRY = Config(retries={"mode": "standard", "max_attempts": 1})


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _session() -> boto3.session.Session:
    return boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")


@pytest.mark.parametrize(
    ("service", "call", "code", "status"),
    [
        ("s3", "list_buckets", "SlowDown", 503),
        ("dynamodb", "list_tables", "ThrottlingException", 400),
        ("events", "list_event_buses", "InternalException", 500),
    ],
)
def test_a_faulted_request_is_the_error_aws_answers(
    endpoint: str, service: str, call: str, code: str, status: int
) -> None:
    faults = FaultInjector(0.5, seed=7)
    client = faults.install(_session()).client(service, endpoint_url=endpoint, config=ONE_TRY)  # type: ignore[call-overload]
    outcomes = []
    for _ in range(40):
        try:
            getattr(client, call)()
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(
                (exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"])
            )
    errors = [o for o in outcomes if o != "ok"]
    assert errors and set(errors) == {(code, status)}  # parsed as AWS's own error, with its status
    assert "ok" in outcomes and faults.injected >= len(errors)


def test_retries_absorb_faults_and_other_services_are_left_alone(endpoint: str) -> None:
    faults = FaultInjector(0.3, seed=1)
    session = faults.install(_session())
    retrying = session.client(  # type: ignore[call-overload]
        "dynamodb", endpoint_url=endpoint, config=Config(retries={"mode": "standard", "max_attempts": 6})
    )
    for _ in range(20):
        retrying.list_tables()  # 0.3^6: the standard retry mode gets through
    assert faults.injected > 0
    before = faults.injected
    sqs = session.client("sqs", endpoint_url=endpoint, config=ONE_TRY)  # type: ignore[call-overload]
    for _ in range(20):
        sqs.list_queues()
    assert faults.injected == before
