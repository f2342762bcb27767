"""The deploy guide (docs/deploy.md), for each step that can run without an AWS account."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.stacks.conftest import cdk_cli

pytestmark = pytest.mark.slow  # runs the real CDK CLI

NO_CREDENTIALS = {
    **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
}


def test_bootstrap_runs_the_app_and_stops_only_for_want_of_credentials() -> None:
    result = cdk_cli("bootstrap", "-c", "env=dev", env=NO_CREDENTIALS)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Unable to resolve AWS account" in output, output[-3000:]
    assert "photo-pipeline:" not in output  # the app itself synthesized


def test_bootstrap_without_an_environment_says_how() -> None:
    result = cdk_cli("bootstrap", env=NO_CREDENTIALS)
    assert result.returncode != 0
    assert "npx cdk bootstrap -c env=dev" in result.stdout + result.stderr


def test_first_deploy_leaves_the_service_out_until_an_image_exists() -> None:
    first = cdk_cli("ls", "-c", "env=staging", "-c", "allow_placeholders=true")
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.split()[::2] == ["Edge", "Storage", "Resize", "Api", "Operations"]
    assert "Service stack is left out" in first.stderr
    later = cdk_cli("ls", "-c", "env=staging", "-c", "image_tag=abc1234", "-c", "allow_placeholders=true")
    assert later.stdout.split()[::2] == ["Edge", "Storage", "Resize", "Api", "Service", "Operations"]


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs a git work tree to check git status")
def test_make_diff_leaves_the_tree_clean_and_lintable() -> None:
    make = shutil.which("make")
    assert make, "make is needed (it runs everything else)"
    diff = subprocess.run(
        [make, "--no-print-directory", "diff", "ENV=staging"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert diff.returncode == 0, diff.stdout[-3000:] + diff.stderr[-3000:]
    assert (REPO / "cdk.out.staging.masked").is_dir()
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored=no"], cwd=REPO, capture_output=True, text=True
    )
    assert "cdk.out" not in status.stdout
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=REPO, capture_output=True, text=True
    )
    assert ruff.returncode == 0, ruff.stdout[-3000:]
