"""A client generated from the OpenAPI document (openapi-python-client) drives a whole post through
the local API, using nothing but the generated code: create the post, upload to its form (S3's, not
the API's), follow it to ready, list, delete, and see it gone."""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from local_runner.inputs import camera_jpeg
from local_runner.pipeline import local_pipeline
from photo_pipeline_cdk.config import ENVIRONMENTS

pytestmark = pytest.mark.slow  # generates a package, runs the servers

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


def _generate(document: dict[str, Any], where: Path) -> None:
    (where / "openapi.json").write_text(json.dumps(document))
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            "openapi.json",
            "--meta",
            "none",
            "--output-path",
            "photo_client",
        ],
        cwd=where,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},  # its ruff hook
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_generated_client_drives_post_ready_list_delete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logging.getLogger("resize").setLevel(logging.WARNING)
    with local_pipeline(ENVIRONMENTS["dev"], worker_processes=1) as pipeline:
        _generate(httpx.get(f"{pipeline.api_url}/openapi.json", timeout=10).json(), tmp_path)
        monkeypatch.syspath_prepend(str(tmp_path))
        client_module = importlib.import_module("photo_client")
        api = importlib.import_module("photo_client.api")
        models = importlib.import_module("photo_client.models")
        for name in (
            "uploads.create_uploads",
            "batches.get_batch",
            "images.list_images",
            "images.get_image",
            "images.delete_image",
        ):
            importlib.import_module(f"photo_client.api.{name}")
        client = client_module.AuthenticatedClient(
            base_url=pipeline.api_url, token=pipeline.token("generated")
        )

        photo = camera_jpeg("generated.jpg", (1200, 900))
        item = models.UploadItem(
            content_type=models.UploadItemContentType.IMAGEJPEG,
            size_bytes=len(photo.data),
            filename=photo.name,
        )
        created = api.uploads.create_uploads.sync(client=client, body=models.UploadRequest(items=[item]))
        assert isinstance(created, models.UploadResponse), created
        (ticket,) = created.uploads
        form = ticket.upload
        posted = httpx.post(
            form.url,
            data=form.fields.additional_properties,
            files={"file": (photo.name, photo.data)},
            timeout=30,
        )
        assert posted.status_code == 204, posted.text

        deadline = time.monotonic() + 60
        while True:
            batch = api.batches.get_batch.sync(created.batch_id, client=client)
            (image,) = batch.images
            if image.status is not models.Status.PENDING or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert image.status is models.Status.READY
        fallbacks = {v.name: v.content_type for v in image.variants if v.fallback}
        assert fallbacks == {"w1080": "image/jpeg", "w640": "image/jpeg", "thumb150": "image/jpeg"}

        listed = api.images.list_images.sync(client=client, limit=5)
        assert [i.image_id for i in listed.images] == [ticket.image_id]
        deleted = api.images.delete_image.sync_detailed(ticket.image_id, client=client)
        assert deleted.status_code == 204
        gone = api.images.get_image.sync_detailed(ticket.image_id, client=client)
        assert gone.status_code == 404 and gone.parsed.code is models.ErrorCode.NOT_FOUND
