"""Schemathesis, AWS-free: every operation of the OpenAPI document fuzzed against the local API (the
container's app under uvicorn, moto behind it) with every check on, bounded and seeded. Every check
passes: no 5xx, only documented statuses, bodies and headers as declared, schema-valid data accepted,
invalid data refused, a 405 that lists the path's methods."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from local_runner.pipeline import local_pipeline
from photo_contract.moderation import MODERATORS_GROUP
from photo_pipeline_cdk.config import ENVIRONMENTS

pytestmark = pytest.mark.slow  # the servers and a few hundred requests

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_every_check_passes_on_every_operation(tmp_path: Path) -> None:
    logging.getLogger("resize").setLevel(logging.WARNING)
    with local_pipeline(ENVIRONMENTS["dev"], worker_processes=1) as pipeline:
        result = subprocess.run(
            [
                str(SCHEMATHESIS),
                "--config-file",
                str(CONFIG),
                "run",
                f"{pipeline.api_url}/openapi.json",
                "--header",
                f"Authorization: Bearer {pipeline.token('fuzzer', groups=(MODERATORS_GROUP,))}",
                "--seed",
                "20261206",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,  # its crash cache (.schemathesis/) stays out of the work tree
        )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    # every operation of the OpenAPI document (uploads, batch, list, get, delete, erase, erasure, and
    # the moderators' list, clear and reject: the fuzzer's token is in the moderators group)
    assert "Selected: 11/11" in result.stdout and "Tested: 11" in result.stdout
