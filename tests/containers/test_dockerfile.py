"""The API image definition: hadolint-clean, non-root, exec-form, health-checked, tight build context."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

DOCKERFILE = REPO / "containers" / "api" / "Dockerfile"


def test_hadolint_is_clean() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run([str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_runs_as_non_root_with_exec_form_command_and_healthcheck() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.\d+\.\d+-slim-\w+@sha256:[0-9a-f]{64}$", text, re.M), (
        "slim base, pinned by patch version and by digest"
    )
    assert re.search(r"^USER 10001$", text, re.M)
    assert re.search(r'^CMD \["python", "-m", "upload_api.server"\]$', text, re.M)
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert "STOPSIGNAL SIGTERM" in text


def test_shared_packages_are_installed_from_their_source_not_copied_in() -> None:
    text = DOCKERFILE.read_text()
    copies = re.findall(r"^COPY (\S+)", text, re.M)
    assert copies == ["containers/api/requirements.txt", "lambdas/contract", "lambdas/upload_api"]
    assert not list((REPO / "containers" / "api").glob("*.py"))


def test_third_party_packages_install_by_hash_and_nothing_else_is_resolved() -> None:
    text = DOCKERFILE.read_text()
    installs = re.findall(r"pip install ([^&]+)", text)
    assert len(installs) == 2
    assert "--require-hashes --no-deps -r /tmp/build/requirements.txt" in installs[0]
    assert "--no-deps" in installs[1]  # our packages: their dependencies are all in the hashed file
    assert "pip check" in text  # and the hashed file satisfies every requirement they declare
    requirements = (REPO / "containers" / "api" / "requirements.txt").read_text()
    pins = re.findall(r"^([a-z0-9-]+)==\S+ \\$", requirements, re.M)
    assert {"fastapi", "uvicorn", "boto3", "pyjwt"} <= set(pins)
    assert "pillow" not in pins  # the API never imports the resize core
    blocks = requirements.split("==")[1:]
    assert all("--hash=sha256:" in block for block in blocks)


def test_build_context_ignores_everything_it_does_not_copy() -> None:
    lines = [
        line
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"
    assert "**/__pycache__" in lines
    assert "!lambdas/resize_core/**" not in lines  # the API image has no use for the resize core
