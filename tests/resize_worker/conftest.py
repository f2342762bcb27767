from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from moto import mock_aws
from photo_contract import ImageKeys
from photo_contract.deletion import Storage
from photo_contract.events import EVENT_SOURCE
from photo_contract.housekeeping import HousekeepingQueue, HousekeepingTask
from photo_contract.registry import ImageRecord, Registry, Status, table_definition
from resize_worker.handler import ResizeWorker
from resize_worker.housekeeping import Housekeeping, run
from resize_worker.process import Services
from resize_worker.settings import WorkerSettings

from tests.conftest import load_event

UPLOADS = "photo-uploads"
MEDIA = "photo-media"
TABLE = "photo-images"
BUS = "photo-events"
BATCH = "0" * 31 + "b"
REGION = "us-east-1"


@dataclass
class World:
    """moto's S3 (versioned uploads, as deployed), the registry table and the bus, with every event
    the bus carries copied to a queue the tests read."""

    s3: Any
    registry: Registry
    events: Any
    sqs: Any
    seen_url: str
    housekeeping_url: str

    def services(self) -> Services:
        return Services(
            s3=self.s3, registry=self.registry, events=self.events, bus_name=BUS, housekeeping=self.queue()
        )

    def queue(self) -> HousekeepingQueue:
        return HousekeepingQueue(self.sqs, self.housekeeping_url)

    def housekeeping(self) -> Housekeeping:
        return Housekeeping(storage=self.storage(), queue=self.queue())

    def run_housekeeping(self, *, limit: int = 10_000) -> list[str]:
        """What the housekeeping function would do with every task queued (and each task's successors)."""
        done = []
        while len(done) < limit and (
            messages := self.sqs.receive_message(QueueUrl=self.housekeeping_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
        ):
            for message in messages:
                done.append(run(self.housekeeping(), HousekeepingTask.from_body(message["Body"])))
                self.sqs.delete_message(
                    QueueUrl=self.housekeeping_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return done

    def storage(self) -> Storage:
        """What the API's delete and erasure work on, over the same buckets, registry and bus."""
        return Storage(
            s3=self.s3,
            uploads_bucket=UPLOADS,
            media_bucket=MEDIA,
            registry=self.registry,
            events=self.events,
            bus_name=BUS,
        )

    def register(self, keys: ImageKeys, *, batch_id: str = BATCH, content_type: str = "image/jpeg") -> None:
        now = "2026-11-30T00:00:00.000+00:00"
        self.registry.create_pending(
            [
                ImageRecord(
                    owner=keys.owner,
                    image_id=keys.image_id,
                    batch_id=batch_id,
                    status=Status.PENDING,
                    content_type=content_type,
                    declared_bytes=1,
                    created_at=now,
                    updated_at=now,
                )
            ]
        )

    def record(self, keys: ImageKeys) -> ImageRecord:
        found = self.registry.get(keys.owner, keys.image_id)
        assert found is not None
        return found

    def events_seen(self) -> list[dict[str, Any]]:
        seen = []
        while messages := self.sqs.receive_message(QueueUrl=self.seen_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in messages:
                seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.seen_url, ReceiptHandle=message["ReceiptHandle"])
        return seen


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=UPLOADS)
        s3.put_bucket_versioning(Bucket=UPLOADS, VersioningConfiguration={"Status": "Enabled"})
        s3.create_bucket(Bucket=MEDIA)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(**table_definition(TABLE))
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        events.create_event_bus(Name=BUS)
        seen_url = sqs.create_queue(QueueName="seen")["QueueUrl"]
        seen_arn = sqs.get_queue_attributes(QueueUrl=seen_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
        events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "seen", "Arn": seen_arn}])
        housekeeping_url = sqs.create_queue(QueueName="housekeeping")["QueueUrl"]
        yield World(s3, Registry(dynamodb, TABLE), events, sqs, seen_url, housekeeping_url)


@pytest.fixture
def s3(world: World) -> Any:
    return world.s3


@pytest.fixture
def settings() -> WorkerSettings:
    return WorkerSettings(
        media_bucket=MEDIA, registry_table=TABLE, event_bus_name=BUS, max_source_bytes=8 * 1024 * 1024
    )


@pytest.fixture
def worker(world: World, settings: WorkerSettings) -> ResizeWorker:
    return ResizeWorker(services=world.services(), settings=settings)


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
