"""The review calls on both runtimes: a held image is its owner's only (status and 5-minute preview
URLs, never CDN URLs); moderators (the ``cognito:groups`` claim) list, clear and reject, idempotently;
anyone else gets 403; each step's event is on the bus."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest
from local_runner.inputs import held_jpeg
from local_runner.issuer import LocalIssuer
from photo_contract.moderation import DEFAULT_POLICY
from photo_contract.runtime import MODERATOR_LOCAL
from resize_worker.handler import aws_services
from resize_worker.process import ProcessOutcome, ProcessStatus, process_object
from resize_worker.settings import WorkerSettings

from tests.upload_api.conftest import BUS, MEDIA, TABLE, UPLOADS, Runtime


@pytest.fixture(scope="module")
def moderating_worker(s3_endpoint: str) -> Callable[[str], ProcessOutcome]:
    settings = WorkerSettings(
        media_bucket=MEDIA,
        registry_table=TABLE,
        event_bus_name=BUS,
        moderation=DEFAULT_POLICY,
        moderator=MODERATOR_LOCAL,
    )
    services = aws_services(settings, endpoint_url=s3_endpoint)
    return lambda key: process_object(services, settings, bucket=UPLOADS, key=key)


@pytest.fixture(scope="module")
def bus(s3_endpoint: str) -> Iterator[Callable[[str], list[str]]]:
    """``bus(owner)``: the detail types announced for that owner since the last call."""
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=s3_endpoint)
    events = boto3.client("events", region_name="us-east-1", endpoint_url=s3_endpoint)
    url = sqs.create_queue(QueueName=f"moderation-seen-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="moderation-seen", EventBusName=BUS, EventPattern=json.dumps({"source": ["photo-pipeline"]})
    )
    events.put_targets(Rule="moderation-seen", EventBusName=BUS, Targets=[{"Id": "q", "Arn": arn}])
    pending: list[dict[str, Any]] = []

    def seen(owner: str) -> list[str]:
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for m in messages:
                pending.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        mine = [e for e in pending if e["detail"]["owner"] == owner]
        for e in mine:
            pending.remove(e)
        return [e["detail-type"] for e in mine]

    yield seen
    events.remove_targets(Rule="moderation-seen", EventBusName=BUS, Ids=["q"])
    events.delete_rule(Name="moderation-seen", EventBusName=BUS)


def _held_image(
    api: Runtime, issuer: LocalIssuer, worker: Callable[[str], ProcessOutcome]
) -> tuple[str, str, str]:
    owner = f"user-{uuid.uuid4().hex[:12]}"
    token = issuer.token(owner)
    photo = held_jpeg("held.jpg", (1400, 1000)).data
    reply = api.call(
        "POST",
        "/v1/uploads",
        token=token,
        body=json.dumps({"items": [{"content_type": "image/jpeg", "size_bytes": len(photo)}]}),
    )
    assert reply.status == 200, reply.body
    ticket = reply.body["uploads"][0]
    posted = httpx.post(
        ticket["upload"]["url"], data=ticket["upload"]["fields"], files={"file": ("p", photo)}
    )
    assert posted.status_code in (200, 204)
    assert worker(ticket["upload"]["fields"]["key"]).status is ProcessStatus.HELD
    return owner, token, ticket["image_id"]


def test_a_held_image_is_its_owners_only_with_short_lived_previews(
    api: Runtime, issuer: LocalIssuer, moderating_worker: Any, bus: Any
) -> None:
    owner, token, image_id = _held_image(api, issuer, moderating_worker)
    image = api.call("GET", f"/v1/images/{image_id}", token=token).body
    assert image["status"] == "held"
    assert image["variants"]
    for variant in image["variants"]:
        assert "/held/" in variant["url"] and "X-Amz-Expires=300" in variant["url"]
        assert httpx.get(variant["url"]).status_code == 200  # the owner can look
    # Nobody else: not another owner, and not a moderator through the owners' routes.
    stranger = issuer.token(f"user-{uuid.uuid4().hex[:12]}")
    assert api.call("GET", f"/v1/images/{image_id}", token=stranger).status == 404
    assert bus(owner) == ["Image Held"]


def test_moderators_list_clear_and_clear_again(
    api: Runtime, issuer: LocalIssuer, moderating_worker: Any, bus: Any
) -> None:
    owner, token, image_id = _held_image(api, issuer, moderating_worker)
    bus(owner)
    moderator = issuer.token("mod-" + uuid.uuid4().hex[:8], **{"cognito:groups": ["moderators"]})
    queue = api.call("GET", "/v1/moderation/images?limit=100", token=moderator)
    assert queue.status == 200, queue.body
    (mine,) = [i for i in queue.body["images"] if i["image_id"] == image_id]
    assert mine["owner"] == owner and mine["moderation"]["action"] == "hold"
    assert {label["name"] for label in mine["moderation"]["labels"]} == {"Violence", "Graphic Violence"}
    path = f"/v1/moderation/images/{owner}/{image_id}/clear"
    cleared = api.call("POST", path, token=moderator)
    assert cleared.status == 200, cleared.body
    assert cleared.body["status"] == "ready" and cleared.body["moderation"]["decision"] == "cleared"
    again = api.call("POST", path, token=moderator)
    assert (again.status, again.body) == (200, cleared.body)  # idempotent: the same answer
    image = api.call("GET", f"/v1/images/{image_id}", token=token).body
    assert image["status"] == "ready" and all("/images/" in v["url"] for v in image["variants"])
    assert bus(owner) == ["Image Cleared", "Image Ready"]
    listed = api.call("GET", "/v1/moderation/images?limit=100", token=moderator).body["images"]
    assert image_id not in {i["image_id"] for i in listed}
    rejected_after = api.call("POST", f"/v1/moderation/images/{owner}/{image_id}/reject", token=moderator)
    assert (rejected_after.status, rejected_after.body["code"]) == (409, "decision_conflict")


def test_moderators_reject_and_everything_goes(
    api: Runtime, issuer: LocalIssuer, moderating_worker: Any, bus: Any, s3: Any
) -> None:
    owner, token, image_id = _held_image(api, issuer, moderating_worker)
    bus(owner)
    moderator = issuer.token("mod-" + uuid.uuid4().hex[:8], **{"cognito:groups": ["moderators"]})
    path = f"/v1/moderation/images/{owner}/{image_id}/reject"
    first = api.call("POST", path, token=moderator)
    assert first.status == 200 and first.body["status"] == "rejected"
    assert api.call("POST", path, token=moderator).body == first.body
    image = api.call("GET", f"/v1/images/{image_id}", token=token).body
    assert (image["status"], image["reason"], image["variants"]) == ("rejected", "moderation", [])
    for bucket, prefix in (
        (MEDIA, f"held/{owner}/"),
        (MEDIA, f"images/{owner}/"),
        (UPLOADS, f"uploads/{owner}/"),
    ):
        assert s3.list_object_versions(Bucket=bucket, Prefix=prefix).get("Versions", []) == []
    assert bus(owner) == ["Image Rejected"]


def test_review_calls_need_the_moderators_group(
    api: Runtime, issuer: LocalIssuer, moderating_worker: Any
) -> None:
    owner, token, image_id = _held_image(api, issuer, moderating_worker)
    others = issuer.token(f"user-{uuid.uuid4().hex[:12]}", **{"cognito:groups": ["editors"]})
    for caller in (token, others):  # the owner too: nobody clears their own photo
        listed = api.call("GET", "/v1/moderation/images", token=caller)
        assert (listed.status, listed.body["code"]) == (403, "not_a_moderator")
        for action in ("clear", "reject"):
            reply = api.call("POST", f"/v1/moderation/images/{owner}/{image_id}/{action}", token=caller)
            assert (reply.status, reply.body["code"]) == (403, "not_a_moderator")
    assert api.call("GET", f"/v1/images/{image_id}", token=token).body["status"] == "held"
    assert api.call("GET", "/v1/moderation/images").status == 401
