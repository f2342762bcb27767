"""`make reprocess ENV=dev LOCAL=1` over a running local pipeline: after the dev spec changes, every
ready image gets the new variants and loses the old ones, a poison original stays recorded as rejected,
and a second run skips everything."""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from local_runner import reprocess
from local_runner.demo import run_client
from local_runner.inputs import DemoFile, camera_jpeg
from local_runner.pipeline import DEMO_USER, local_pipeline
from photo_contract.registry import Registry, Status
from photo_contract.variants import VariantSpec
from photo_pipeline_cdk import config as config_module

pytestmark = pytest.mark.slow  # servers, uploads and two reprocessing runs


def test_a_spec_change_reaches_every_image_and_a_second_run_skips_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    logging.getLogger("resize").setLevel(logging.WARNING)
    dev = config_module.ENVIRONMENTS["dev"]
    files = [camera_jpeg(f"p{i}.jpg", (1200 + 100 * i, 800)) for i in range(3)]
    poison = DemoFile("poison.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 2000, "image/jpeg", expect_rejected=True)
    with local_pipeline(dev) as pipeline:
        results = run_client(pipeline, [*files, poison], timeout_seconds=60)
        assert [r.status for r in results] == ["ready", "ready", "ready", "rejected"]
        state = tmp_path / "serve.json"
        state.write_text(json.dumps(dataclasses.asdict(pipeline.resources)))
        registry = Registry(pipeline.aws.client("dynamodb"), pipeline.resources.registry_table)
        s3 = pipeline.aws.client("s3")
        old = {r.image_id: registry.get(DEMO_USER, r.image_id) for r in results}

        new_spec = (*dev.resize.variants, VariantSpec(name="w320", width=320))
        changed = replace(dev, resize=replace(dev.resize, variants=new_spec))
        monkeypatch.setitem(config_module.ENVIRONMENTS, "dev", changed)

        assert reprocess.main(["--env", "dev", "--state", str(state)]) == 0
        first = capsys.readouterr().out

        media = {
            o["Key"] for o in s3.list_objects_v2(Bucket=pipeline.resources.media_bucket).get("Contents", [])
        }
        current: set[str] = set()
        for result in results:
            record = registry.get(DEMO_USER, result.image_id)
            assert record is not None and record.version != old[result.image_id].version  # type: ignore[union-attr]
            if result.status == "ready":
                assert record.status is Status.READY and "w320" in {v.name for v in record.variants}
                current |= {v.key for v in record.variants}
            else:
                assert (record.status, record.reason) == (Status.REJECTED, "not_an_image")
        assert media == current  # every superseded variant is gone, nothing half-made is left

        # The API serves the new set.
        api = httpx.Client(base_url=pipeline.api_url, headers={"Authorization": f"Bearer {pipeline.token()}"})
        body: dict[str, Any] = api.get(f"/v1/images/{results[0].image_id}").json()
        assert "w320" in {v["name"] for v in body["variants"]}

        assert reprocess.main(["--env", "dev", "--state", str(state)]) == 0
        second = capsys.readouterr().out
    assert "3 ready" in first and "1 rejected" in first
    assert "4 already_done" in second  # matching images (and the recorded poison) are skipped
    report = [line for line in second.splitlines() if line.startswith("results: s3://")]
    assert report and "reports/reprocess/" in report[0]


def test_without_a_running_pipeline_it_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert reprocess.main(["--state", str(tmp_path / "absent.json")]) == 2
    assert "start `make serve` first" in capsys.readouterr().out


def test_make_reprocess_for_dev_runs_the_local_driver(tmp_path: Path) -> None:
    """Dev reprocesses locally by default: the make target reaches the local driver (which then says
    that no local pipeline runs at this state file)."""
    import shutil
    import subprocess

    from tests.conftest import REPO

    make = shutil.which("make")
    assert make is not None
    result = subprocess.run(
        [make, "--no-print-directory", "reprocess", "ENV=dev", f"ARGS=--state {tmp_path / 'absent.json'}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode != 0
    assert "start `make serve` first" in result.stdout
