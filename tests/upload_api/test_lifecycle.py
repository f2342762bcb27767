"""The image lifecycle on both runtimes: a post's batch in one call, the caller's images newest first
across pages, delete (idempotent, everything gone), account erasure, and other owners seeing nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from local_runner.inputs import camera_jpeg
from local_runner.issuer import LocalIssuer

from tests.upload_api.conftest import MEDIA, OUTPUTS, UPLOADS, Runtime


def _owner() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"  # the runtimes share one emulator: each test its own owner


def _post(api: Runtime, token: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    reply = api.call("POST", "/v1/uploads", token=token, body=json.dumps({"items": items}))
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.body
    return body


def _upload(ticket: dict[str, Any], data: bytes) -> None:
    posted = httpx.post(ticket["upload"]["url"], data=ticket["upload"]["fields"], files={"file": ("p", data)})
    assert posted.status_code in (200, 204), posted.text


def test_a_batch_of_twenty_in_one_call(api: Runtime, issuer: LocalIssuer, worker: Any) -> None:
    token = issuer.token(_owner())
    photo = camera_jpeg("b.jpg", (800, 600)).data
    posted = _post(
        api,
        token,
        [{"content_type": "image/jpeg", "size_bytes": len(photo), "filename": f"{i}.jpg"} for i in range(20)],
    )
    batch = f"/v1/batches/{posted['batch_id']}"
    first = api.call("GET", batch, token=token).body
    assert [i["image_id"] for i in first["images"]] == [t["image_id"] for t in posted["uploads"]]
    assert [i["filename"] for i in first["images"]] == [f"{i}.jpg" for i in range(20)]
    assert {i["status"] for i in first["images"]} == {"pending"}

    for ticket in posted["uploads"][:2]:
        _upload(ticket, photo)
        worker(ticket["upload"]["fields"]["key"])
    statuses = [i["status"] for i in api.call("GET", batch, token=token).body["images"]]
    assert statuses == ["ready", "ready"] + ["pending"] * 18


def test_another_owners_batch_image_and_delete_are_404(api: Runtime, issuer: LocalIssuer) -> None:
    token, mallory = issuer.token(_owner()), issuer.token(_owner())
    posted = _post(api, token, [{"content_type": "image/png", "size_bytes": 10}])
    image_id = posted["uploads"][0]["image_id"]
    for method, path in (
        ("GET", f"/v1/batches/{posted['batch_id']}"),
        ("GET", f"/v1/images/{image_id}"),
        ("DELETE", f"/v1/images/{image_id}"),
    ):
        reply = api.call(method, path, token=mallory)
        assert (reply.status, reply.body["code"]) == (404, "not_found"), (method, path)
    assert api.call("GET", f"/v1/images/{image_id}", token=token).status == 200  # still there


def test_images_are_listed_newest_first_across_pages(api: Runtime, issuer: LocalIssuer) -> None:
    token = issuer.token(_owner())
    created = []
    for n in range(3):
        created += [
            t["image_id"]
            for t in _post(api, token, [{"content_type": "image/png", "size_bytes": 10}] * (n + 1))["uploads"]
        ]
    first = api.call("GET", "/v1/images?limit=4", token=token).body
    assert len(first["images"]) == 4 and first["next_cursor"]
    second = api.call("GET", f"/v1/images?limit=4&cursor={first['next_cursor']}", token=token).body
    assert second["next_cursor"] is None
    listed = [i["image_id"] for i in first["images"] + second["images"]]
    assert listed == list(reversed(created))  # every image once, newest first
    assert first["next_cursor"] != first["images"][-1]["image_id"]  # opaque, not a raw key


def test_a_malformed_cursor_or_limit_is_a_4xx_with_a_code(api: Runtime, issuer: LocalIssuer) -> None:
    token = issuer.token(_owner())
    reply = api.call("GET", "/v1/images?cursor=not-a-cursor", token=token)
    assert (reply.status, reply.body["code"]) == (400, "invalid_cursor")
    reply = api.call("GET", "/v1/images?limit=1000", token=token)
    assert (reply.status, reply.body["code"]) == (422, "invalid_request")


def test_delete_removes_everything_and_is_idempotent(
    api: Runtime, issuer: LocalIssuer, worker: Any, s3: Any
) -> None:
    token = issuer.token(_owner())
    photo = camera_jpeg("d.jpg", (800, 600)).data
    ticket = _post(api, token, [{"content_type": "image/jpeg", "size_bytes": len(photo)}])["uploads"][0]
    _upload(ticket, photo)
    _upload(ticket, photo)  # re-POSTed: two versions of the original
    key = ticket["upload"]["fields"]["key"]
    worker(key)
    image = f"/v1/images/{ticket['image_id']}"
    variant_keys = [
        v["url"].split("?")[0].split(f"/{MEDIA}/", 1)[1]
        for v in api.call("GET", image, token=token).body["variants"]
    ]
    assert len(variant_keys) == OUTPUTS

    assert api.call("DELETE", image, token=token).status == 204

    assert api.call("GET", image, token=token).status == 404
    for variant in variant_keys:
        assert s3.list_objects_v2(Bucket=MEDIA, Prefix=variant).get("KeyCount", 0) == 0
    versions = s3.list_object_versions(Bucket=UPLOADS, Prefix=key)
    assert versions.get("Versions", []) == [] and versions.get("DeleteMarkers", []) == []
    assert ticket["image_id"] not in [
        i["image_id"] for i in api.call("GET", "/v1/images", token=token).body["images"]
    ]
    assert api.call("DELETE", image, token=token).status == 204  # idempotent while the tombstone lasts
    assert api.call("DELETE", f"/v1/images/{'f' * 32}", token=token).status == 404  # never existed


def test_account_erasure_is_a_job_that_finishes_without_the_client(
    api: Runtime, issuer: LocalIssuer, housekeeping: Callable[[], list[str]]
) -> None:
    housekeeping()  # whatever an earlier test left queued
    token = issuer.token(_owner())
    assert api.call("GET", "/v1/me/erasure", token=token).status == 404
    for _ in range(3):
        _post(api, token, [{"content_type": "image/png", "size_bytes": 10}] * 20)
    started = api.call("DELETE", "/v1/me/images", token=token)
    assert started.status == 202 and started.body["state"] == "running"
    assert {k.lower(): v for k, v in started.headers.items()}["location"] == started.body["status_url"]
    again = api.call("DELETE", "/v1/me/images", token=token)  # while it runs: the same job, not another
    assert again.status == 202 and again.body["job_id"] == started.body["job_id"]
    steps = housekeeping()  # the client is gone; the function goes on, a page a message
    assert len(steps) == 3  # 60 images, 25 a page
    job = api.call("GET", started.body["status_url"], token=token)
    assert job.status == 200 and (job.body["state"], job.body["erased"]) == ("done", 60)
    assert api.call("GET", "/v1/images", token=token).body == {"images": [], "next_cursor": None}


def test_a_pending_record_expires_with_the_abandoned_upload_horizon(
    api: Runtime, issuer: LocalIssuer, s3_endpoint: str, settings: Any
) -> None:
    import time

    import boto3
    from photo_contract.registry import Registry

    owner = _owner()
    before = int(time.time())
    image_id = _post(api, issuer.token(owner), [{"content_type": "image/png", "size_bytes": 10}])["uploads"][
        0
    ]["image_id"]
    registry = Registry(
        boto3.client("dynamodb", region_name="us-east-1", endpoint_url=s3_endpoint),
        settings.contract.registry_table,
    )
    record = registry.get(owner, image_id)
    assert record is not None and record.expires_at is not None
    assert (
        before + settings.contract.pending_expiry_seconds
        <= record.expires_at
        <= int(time.time()) + settings.contract.pending_expiry_seconds
    )


@pytest.fixture(scope="module")
def cdn_runtimes(settings: Any) -> Iterator[dict[str, Runtime]]:

    from tests.upload_api.conftest import HttpRuntime, LambdaRuntime

    with_cdn = settings.with_contract(public_media_base_url="https://d111111abcdef8.cloudfront.net")
    http = HttpRuntime(with_cdn)
    yield {"lambda": LambdaRuntime(with_cdn), "http": http}
    http.stop()


@pytest.mark.parametrize("runtime", ["lambda", "http"])
def test_ready_images_carry_cdn_urls_of_their_versioned_keys(
    cdn_runtimes: dict[str, Runtime], issuer: LocalIssuer, worker: Any, runtime: str
) -> None:
    api = cdn_runtimes[runtime]
    owner = _owner()
    token = issuer.token(owner)
    photo = camera_jpeg("c.jpg", (800, 600)).data
    ticket = _post(api, token, [{"content_type": "image/jpeg", "size_bytes": len(photo)}])["uploads"][0]
    _upload(ticket, photo)
    worker(ticket["upload"]["fields"]["key"])
    image = api.call("GET", f"/v1/images/{ticket['image_id']}", token=token).body
    prefix = f"https://d111111abcdef8.cloudfront.net/images/{owner}/{ticket['image_id']}/"
    for variant in image["variants"]:
        assert variant["url"].startswith(prefix) and "?" not in variant["url"]  # stable: cacheable
    assert image["placeholder"] and image["dominant_color"].startswith("#")  # paint this first
    receipt = image["receipt"]  # camera_jpeg writes EXIF with GPS: named as removed, never shown
    assert "gps" in receipt["removed"] and receipt["location"] is None
    assert receipt["provenance"] == {
        "c2pa_manifest": False,
        "claim_generator": None,
        "digital_source_type": None,
        "declares_ai": False,
    }
    assert api.call("GET", f"/v1/images/{ticket['image_id']}", token=token).body == image  # same URLs again
