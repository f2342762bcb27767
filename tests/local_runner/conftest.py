from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from local_runner.demo import DemoResult, demo_files, run_client
from local_runner.pipeline import LocalPipeline, local_pipeline
from photo_contract.variants import FEED_VARIANTS
from photo_pipeline_cdk.config import environment_config


@pytest.fixture(scope="package")
def pipeline() -> Iterator[LocalPipeline]:
    """The same servers `make demo` runs: moto on loopback, the API (with its upload page), the worker."""
    logging.getLogger("resize").setLevel(logging.WARNING)
    # A 2 s visibility timeout: the poison-message test sees the DLQ after 5 receives in seconds.
    with local_pipeline(environment_config("dev"), upload_page=True, visibility_timeout_seconds=2) as running:
        yield running


@pytest.fixture(scope="package")
def demo_run(pipeline: LocalPipeline) -> list[DemoResult]:
    """The demo's client flow: 20 files in one API call, real HTTP uploads, status polling until every
    format of each ready image is listed (the second step's AVIF too). The corpus when ../shared is
    there, the demo's own generated set when it is not."""
    files, _ = demo_files()
    encodings = sum(len(spec.encodings) for spec in FEED_VARIANTS)
    return run_client(pipeline, files, timeout_seconds=240, all_formats=encodings)
