"""One recorded run of every path that calls AWS: the API on both runtimes (upload, batch status, list,
read, delete, erasure), the resize worker and its event source, a poison upload, a form posted twice,
a reprocessing run (the Map's listing and the per-item function), and the housekeeping function (its
queue, the erasure job, both sweeps), on the local pipeline with a principal per role."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from local_runner import reprocess
from local_runner.demo import run_client
from local_runner.emulator import LocalResources, local_session
from local_runner.inputs import DemoFile, camera_jpeg, held_jpeg
from local_runner.pipeline import DEMO_USER, housekeeping_worker, local_pipeline
from mangum import Mangum
from photo_contract.housekeeping import HousekeepingTask, Task
from photo_contract.moderation import DEFAULT_POLICY, MODERATORS_GROUP
from photo_contract.variants import VariantSpec
from photo_pipeline_cdk import config as config_module
from upload_api.wiring import build_app

from tests.conftest import LambdaContext, load_event
from tests.permissions.proof import API_FUNCTION_PRINCIPAL
from tests.permissions.recorder import Call, recording


@dataclass(frozen=True)
class RecordedRun:
    calls: list[Call]
    resources: LocalResources


def _lambda_call(handler: Any, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    event = copy.deepcopy(load_event("apigw_v2_request"))
    event["rawPath"] = path
    event["requestContext"]["http"].update(method=method, path=path)
    event["headers"]["authorization"] = f"Bearer {token}"
    if body is not None:
        event["headers"]["content-type"] = "application/json"
        event["body"] = json.dumps(body)
    response = handler(event, LambdaContext())
    raw = response.get("body") or ""
    return response["statusCode"], json.loads(raw) if raw else None


def _wait_ready(api: httpx.Client, image_id: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if api.get(f"/v1/images/{image_id}").json().get("status") != "pending":
            return
        time.sleep(0.2)
    raise AssertionError(f"{image_id} stayed pending")


def _alternates_made(pipeline: Any, seconds: float = 60) -> None:
    """Until the second step has nothing queued or in flight: what the run deletes next is then never
    racing it (a race would make the step remove its own files, a call the run does not always make)."""
    sqs = pipeline.aws.client("sqs")
    deadline = time.monotonic() + seconds
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    while time.monotonic() < deadline:
        counts = sqs.get_queue_attributes(
            QueueUrl=pipeline.resources.alternates_queue_url, AttributeNames=names
        )
        if all(int(counts["Attributes"][n]) == 0 for n in names):
            return
        time.sleep(0.2)
    raise AssertionError("the alternates queue did not drain")


def _wait_versions(pipeline: Any, key: str, count: int, seconds: float = 30) -> None:
    s3 = pipeline.aws.client("s3")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        versions = s3.list_object_versions(Bucket=pipeline.resources.uploads_bucket, Prefix=key)
        if len(versions.get("Versions", [])) == count:
            return
        time.sleep(0.2)
    raise AssertionError(f"{key} does not have {count} versions")


def _wait_gone(pipeline: Any, key: str, seconds: float = 30) -> None:
    s3 = pipeline.aws.client("s3")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        versions = s3.list_object_versions(Bucket=pipeline.resources.uploads_bucket, Prefix=key)
        if not versions.get("Versions") and not versions.get("DeleteMarkers"):
            return
        time.sleep(0.2)
    raise AssertionError(f"the late original {key} was not removed")


@pytest.fixture(scope="session")
def recorded_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordedRun]:
    logging.getLogger("resize").setLevel(logging.WARNING)
    dev = config_module.ENVIRONMENTS["dev"]
    files = [camera_jpeg(f"p{i}.jpg", (1200 + 100 * i, 800)) for i in range(2)]
    poison = DemoFile("poison.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 2000, "image/jpeg", expect_rejected=True)
    # Moderation on (the local moderator: its rule calls no AWS), so held images, previews and the
    # review calls are recorded too.
    with recording() as log, local_pipeline(dev, worker_processes=1, moderation=DEFAULT_POLICY) as pipeline:
        # The container runtime (uvicorn), the worker behind its event source, the batch reads.
        results = run_client(pipeline, [*files, poison], timeout_seconds=60)
        assert [r.status for r in results] == ["ready", "ready", "rejected"]
        _alternates_made(pipeline)
        token = pipeline.token()
        api = httpx.Client(
            base_url=pipeline.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        # The function runtime (Mangum), with the function's own credentials.
        function = Mangum(
            build_app(pipeline.api_settings, session=local_session(API_FUNCTION_PRINCIPAL)), lifespan="off"
        )
        photo = camera_jpeg("lambda.jpg", (900, 600))
        item = {"content_type": photo.content_type, "size_bytes": len(photo.data), "filename": photo.name}
        status, created = _lambda_call(function, "POST", "/v1/uploads", token, {"items": [item]})
        assert status == 200, created
        (ticket,) = created["uploads"]
        form = ticket["upload"]
        httpx.post(form["url"], data=form["fields"], files={"file": (photo.name, photo.data)}, timeout=30)
        _wait_ready(api, ticket["image_id"])
        _alternates_made(pipeline)
        for method, path in (
            ("GET", f"/v1/batches/{created['batch_id']}"),
            ("GET", "/v1/images"),
            ("GET", f"/v1/images/{ticket['image_id']}"),
            ("DELETE", f"/v1/images/{ticket['image_id']}"),
        ):
            status, body = _lambda_call(function, method, path, token)
            assert status < 300, (method, path, status, body)
        # A late upload: the image is deleted while its form is still valid, then the form is used; the
        # worker asks housekeeping, which removes every version of the late original.
        late = camera_jpeg("late.jpg", (640, 480))
        reply = api.post(
            "/v1/uploads",
            json={
                "items": [
                    {"content_type": late.content_type, "size_bytes": len(late.data), "filename": late.name}
                ]
            },
        )
        (late_ticket,) = reply.json()["uploads"]
        assert api.delete(f"/v1/images/{late_ticket['image_id']}").status_code == 204
        late_form = late_ticket["upload"]
        httpx.post(
            late_form["url"], data=late_form["fields"], files={"file": (late.name, late.data)}, timeout=30
        )
        _wait_gone(pipeline, late_form["fields"]["key"])
        for reply in (api.get("/v1/images"), api.get(f"/v1/images/{results[0].image_id}")):
            assert reply.status_code == 200, reply.text
        # Reprocessing after a spec change: the Map lists, the per-item function re-makes and cleans up.
        state = tmp_path_factory.mktemp("permissions") / "serve.json"
        state.write_text(json.dumps(dataclasses.asdict(pipeline.resources)))
        new_spec = (*dev.resize.variants, VariantSpec(name="w320", width=320))
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(
                config_module.ENVIRONMENTS, "dev", replace(dev, resize=replace(dev.resize, variants=new_spec))
            )
            assert reprocess.main(["--env", "dev", "--state", str(state)]) == 0
        assert api.delete(f"/v1/images/{results[1].image_id}").status_code == 204
        # A form posted twice: the second post is discarded unread, then removed by housekeeping.
        twice = camera_jpeg("twice.jpg", (700, 500))
        item = {"content_type": twice.content_type, "size_bytes": len(twice.data), "filename": twice.name}
        (twice_ticket,) = api.post("/v1/uploads", json={"items": [item]}).json()["uploads"]
        twice_form = twice_ticket["upload"]
        for body in (twice.data, camera_jpeg("other.jpg", (700, 500)).data):
            httpx.post(
                twice_form["url"], data=twice_form["fields"], files={"file": ("t.jpg", body)}, timeout=30
            )
            _wait_ready(api, twice_ticket["image_id"])
        _wait_versions(pipeline, twice_form["fields"]["key"], 1)
        # Moderation: two photos held; a preview fetched; a moderator lists, clears one, rejects one.
        moderator = httpx.Client(
            base_url=pipeline.api_url,
            headers={"Authorization": f"Bearer {pipeline.token('mod', groups=(MODERATORS_GROUP,))}"},
            timeout=30,
        )
        held = run_client(
            pipeline,
            [held_jpeg("held-1.jpg", (900, 600)), held_jpeg("held-2.jpg", (900, 600))],
            timeout_seconds=60,
            until=("held",),
        )
        assert [r.status for r in held] == ["held", "held"]
        _alternates_made(pipeline)
        preview = api.get(f"/v1/images/{held[0].image_id}").json()["variants"][0]["url"]
        assert httpx.get(preview, timeout=30).status_code == 200
        assert moderator.get("/v1/moderation/images").status_code == 200
        for result, action in zip(held, ("clear", "reject"), strict=True):
            reply = moderator.post(f"/v1/moderation/images/{DEMO_USER}/{result.image_id}/{action}")
            assert reply.status_code == 200, reply.text
        # Both schedules of the housekeeping function, as EventBridge invokes it.
        sweeper = housekeeping_worker(pipeline.resources)
        for task in (Task.SWEEP_OUTBOX, Task.SWEEP_ORIGINALS):
            sweeper.handle(json.loads(HousekeepingTask(task).to_body()))
        _alternates_made(pipeline)
        # Erasure: a job the housekeeping function runs to the end, two images a step (so a step sends
        # the next one's task, as a large account's does).
        monkeypatch = pytest.MonkeyPatch()
        monkeypatch.setattr("resize_worker.housekeeping.ERASE_PAGE", 2)
        reply = api.delete("/v1/me/images")
        assert reply.status_code == 202, reply.text
        deadline = time.monotonic() + 60
        while api.get("/v1/me/erasure").json()["state"] != "done":
            assert time.monotonic() < deadline, "the erasure job did not finish"
            time.sleep(0.2)
        monkeypatch.undo()
        _, job = _lambda_call(function, "GET", "/v1/me/erasure", token)
        assert job["state"] == "done"
        yield RecordedRun(list(log.calls), pipeline.resources)


def snapshot_dir(env: str) -> Path:
    return Path(__file__).resolve().parents[1] / "stacks" / "snapshots" / env
