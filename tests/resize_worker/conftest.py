from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from moto import mock_aws
from resize_worker.handler import ResizeWorker
from resize_worker.settings import WorkerSettings

from tests.conftest import load_event

UPLOADS = "photo-uploads"
MEDIA = "photo-media"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=UPLOADS)
        client.create_bucket(Bucket=MEDIA)
        yield client


@pytest.fixture
def settings() -> WorkerSettings:
    return WorkerSettings(media_bucket=MEDIA, max_source_bytes=8 * 1024 * 1024)


@pytest.fixture
def worker(s3: Any, settings: WorkerSettings) -> ResizeWorker:
    return ResizeWorker(s3=s3, settings=settings)


def s3_body(key: str, *, bucket: str = UPLOADS, encode: bool = True, etag: str = "") -> str:
    """An S3 notification body as S3 sends it: the key URL-encoded."""
    event = copy.deepcopy(load_event("s3_object_created"))
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["object"]["key"] = quote_plus(key) if encode else key
    record["s3"]["object"]["eTag"] = etag
    return json.dumps(event)


def sqs_event(*bodies: str) -> dict[str, Any]:
    template = load_event("sqs_batch")["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record["messageId"] = f"message-{index}"
        record["body"] = body
        records.append(record)
    return {"Records": records}
