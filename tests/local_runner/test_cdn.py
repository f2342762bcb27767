"""A deleted image's CDN URLs stop serving: the delete (and an erasure) invalidates the image's paths on
the distribution, and the local stand-in, an edge that keeps what it served, honours the invalidation
as CloudFront does. Without the invalidation the edge kept serving the deleted photo."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import httpx
import pytest
from local_runner.demo import run_client
from local_runner.inputs import camera_jpeg
from local_runner.pipeline import LocalPipeline, local_pipeline
from photo_pipeline_cdk.config import ENVIRONMENTS


@pytest.fixture(scope="module")
def pipeline() -> Iterator[LocalPipeline]:
    logging.getLogger("resize").setLevel(logging.WARNING)
    with local_pipeline(ENVIRONMENTS["dev"], worker_processes=1) as running:
        yield running


def _urls(pipeline: LocalPipeline, owner: str, count: int) -> tuple[httpx.Client, list[tuple[str, str]]]:
    files = [camera_jpeg(f"cdn{i}.jpg", (800, 600)) for i in range(count)]
    results = run_client(pipeline, files, timeout_seconds=60, owner=owner)
    assert all(r.status == "ready" for r in results)
    api = httpx.Client(
        base_url=pipeline.api_url, headers={"Authorization": f"Bearer {pipeline.token(owner)}"}, timeout=30
    )
    return api, [(r.image_id, r.body["variants"][0]["url"]) for r in results]


def test_a_deleted_images_urls_stop_serving(pipeline: LocalPipeline) -> None:
    api, [(image_id, url), (_, kept_url)] = _urls(pipeline, "cdn-alice", 2)
    assert httpx.get(url).status_code == 200 and httpx.get(kept_url).status_code == 200  # now at the edge
    assert api.delete(f"/v1/images/{image_id}").status_code == 204
    assert httpx.get(url).status_code == 404
    assert httpx.get(kept_url).status_code == 200  # only the deleted image's paths were invalidated


def test_an_erasure_stops_every_url_of_the_owner(pipeline: LocalPipeline) -> None:
    api, images = _urls(pipeline, "cdn-bob", 3)
    assert all(httpx.get(url).status_code == 200 for _, url in images)
    job = api.delete("/v1/me/images")
    assert job.status_code == 202
    deadline = time.monotonic() + 30
    while api.get(job.json()["status_url"]).json()["state"] != "done":  # the housekeeping function's work
        assert time.monotonic() < deadline, "the erasure job did not finish"
        time.sleep(0.2)
    assert [httpx.get(url).status_code for _, url in images] == [404, 404, 404]
    invalidations = pipeline.aws.client("cloudfront").list_invalidations(
        DistributionId=pipeline.resources.distribution_id
    )["InvalidationList"]
    assert invalidations["Quantity"] >= 1
