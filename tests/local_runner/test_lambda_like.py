"""--lambda-like: the handler runs on the Lambda's Python with only the built x86_64 layer and function."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from local_runner.demo import DemoFile, run_client
from local_runner.emulator import LocalResources
from local_runner.lambda_like import SubprocessLambda, build_lambda_assets
from local_runner.pipeline import local_pipeline
from local_runner.worker import Handler
from photo_pipeline_cdk.assets.bundling import find_python
from photo_pipeline_cdk.config import environment_config

pytestmark = pytest.mark.slow  # builds the layer and runs Python 3.13 subprocesses


def test_the_built_layer_resizes_in_a_lambda_like_subprocess(corpus: Path) -> None:
    config = environment_config("dev")
    python = find_python(config.resize.python_version)
    if python is None:
        pytest.skip(
            f"python{config.resize.python_version} is not installed: the lambda-like mode cannot run here"
        )
    logging.getLogger("resize").setLevel(logging.WARNING)
    layer, task = build_lambda_assets(config)
    assert (layer / "PIL").is_dir() and not (task / "PIL").exists()
    calls: list[int] = []

    def factory(resources: LocalResources) -> Handler:
        subprocess_lambda = SubprocessLambda(
            python=python, layer=layer, task=task, config=config, resources=resources
        )

        def handler(event: dict) -> dict:  # type: ignore[type-arg]
            calls.append(len(event["Records"]))
            return subprocess_lambda(event)

        return handler

    photo = (corpus / "camera" / "canon-eos-1000d_10mp_orient6.jpg").read_bytes()
    files = [
        DemoFile("canon.jpg", photo, "image/jpeg"),
        DemoFile("broken.jpg", photo[: len(photo) * 2 // 5], "image/jpeg", expect_rejected=True),
    ]
    with local_pipeline(config, handler_factory=factory) as pipeline:
        results = run_client(pipeline, files, timeout_seconds=120)

    assert calls, "the subprocess handler was never invoked"
    assert [(r.status, r.body.get("reason")) for r in results] == [("ready", None), ("rejected", "truncated")]
    assert (results[0].body["width"], results[0].body["height"]) == (2592, 3888)  # upright portrait
