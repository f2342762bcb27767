from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_runner.demo import DemoResult, demo_files, run_client
from local_runner.pipeline import LocalPipeline, local_pipeline
from photo_pipeline_cdk.config import environment_config


@pytest.fixture(scope="package")
def pipeline(corpus: Path) -> Iterator[LocalPipeline]:
    """The same servers `make demo` runs: moto on loopback, the API (with its upload page), the worker."""
    logging.getLogger("resize").setLevel(logging.WARNING)
    with local_pipeline(environment_config("dev"), upload_page=True) as running:
        yield running


@pytest.fixture(scope="package")
def demo_run(pipeline: LocalPipeline) -> list[DemoResult]:
    """The demo's client flow: 20 files in one API call, real HTTP uploads, status polling."""
    return run_client(pipeline, demo_files(), timeout_seconds=240)
