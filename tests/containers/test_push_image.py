"""`make image` against stand-in aws and docker binaries (no account, no Docker engine here): what it
would run, in order, in the environment's region and account whatever the profile says."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from photo_pipeline_cdk.config import ENVIRONMENTS

from tests.conftest import REPO

REPO_URI = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/photo-pipeline-staging-api"


STAGING = ENVIRONMENTS["staging"]


def _stand_ins(bin_dir: Path, log: Path, outputs_uri: str, caller_account: str) -> None:
    bin_dir.mkdir()
    for tool, stdout in (("aws", outputs_uri), ("docker", "")):
        script = bin_dir / tool
        # Like the real `docker login --password-stdin`, the stand-in reads its stdin: otherwise the
        # writer of `aws … | docker login` may die of SIGPIPE under pipefail.
        script.write_text(
            f'#!/bin/sh\necho "{tool} $*" >> {log}\n'
            'case "$*" in *--password-stdin*) cat > /dev/null ;; esac\n'
            f'case "$*" in *get-caller-identity*) printf "%s" "{caller_account}"; exit 0 ;; esac\n'
            f'printf "%s" "{stdout}"\n'
        )
        script.chmod(0o755)


def _run(
    tmp_path: Path, outputs_uri: str, caller_account: str = str(STAGING.account)
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    shutil.copy(REPO / "containers/api/push-image.sh", clone / "containers/api/push-image.sh")  # as edited
    subprocess.run(
        ["git", "-C", str(clone), "commit", "-qam", "x", "--allow-empty"],
        check=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        },
    )
    log = tmp_path / "calls.log"
    _stand_ins(tmp_path / "bin", log, outputs_uri, caller_account)
    # A profile pointing elsewhere must not matter.
    env = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "PYTHON": sys.executable,
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_REGION": "us-west-2",
    }
    result = subprocess.run(
        ["bash", "containers/api/push-image.sh", "staging"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
    )
    return result, log.read_text().splitlines() if log.exists() else []


def test_builds_arm64_from_the_repo_root_and_pushes_a_commit_tag(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, REPO_URI)
    assert result.returncode == 0, result.stderr
    region = f"--region {STAGING.region}"
    assert calls[0] == f"aws sts get-caller-identity {region} --query Account --output text"
    assert calls[1].startswith(
        f"aws cloudformation describe-stacks {region} --stack-name photo-pipeline-staging-storage"
    )
    # The two ends of `aws ecr get-login-password | docker login` run at once: either may log first.
    assert sorted(calls[2:4]) == [
        f"aws ecr get-login-password {region}",
        "docker login --username AWS --password-stdin 111111111111.dkr.ecr.eu-west-1.amazonaws.com",
    ]
    assert all(region in c for c in calls if c.startswith("aws "))
    build = calls[4]
    assert build.startswith("docker buildx build --platform linux/arm64 -f containers/api/Dockerfile")
    assert build.endswith("--push .")
    tag = build.split(f"{REPO_URI}:")[1].split()[0]
    assert len(tag) == 12
    assert f"-c image_tag={tag} Service" in result.stdout


def test_refuses_when_the_storage_stack_has_no_repository(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, "None")
    assert result.returncode != 0
    assert "deploy it first" in result.stderr
    assert not [c for c in calls if c.startswith("docker")]
