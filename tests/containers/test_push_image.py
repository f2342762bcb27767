"""`make image` with the real AWS CLI against moto (a Docker engine cannot run here: `docker` is a
stand-in that logs its arguments). The profile's region is elsewhere: the storage stack exists only in
the environment's region, so a command that followed the profile would not find it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from photo_pipeline_cdk.config import ENVIRONMENTS

from tests.aws_cli import PROFILE_REGION, moto_account, stack_with_outputs
from tests.conftest import REPO

STAGING = ENVIRONMENTS["staging"]
STACK = f"{STAGING.stack_prefix}-storage"


def _docker_stand_in(bin_dir: Path, log: Path) -> None:
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "docker"
    # Like the real `docker login --password-stdin`, it reads its stdin: otherwise the writer of
    # `aws … | docker login` may die of SIGPIPE under pipefail.
    script.write_text(
        f'#!/bin/sh\necho "docker $*" >> {log}\ncase "$*" in *--password-stdin*) cat > /dev/null ;; esac\n'
    )
    script.chmod(0o755)


def _clone(tmp_path: Path) -> Path:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    (clone / "containers/api/push-image.sh").write_text((REPO / "containers/api/push-image.sh").read_text())
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
    return clone


def _push(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    log = tmp_path / "docker.log"
    _docker_stand_in(tmp_path / "bin", log)
    result = subprocess.run(
        ["bash", "containers/api/push-image.sh", "staging"],
        cwd=_clone(tmp_path),
        env={**env, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, log.read_text().splitlines() if log.exists() else []


def _repository(client: Any, region: str) -> str:
    uri: str = client("ecr", region).create_repository(repositoryName="photo-pipeline-staging-api")[
        "repository"
    ]["repositoryUri"]
    return uri


def test_builds_arm64_and_pushes_a_commit_tag_in_the_environments_region(tmp_path: Path) -> None:
    with moto_account(tmp_path / "bin") as (env, client):
        uri = _repository(client, str(STAGING.region))
        stack_with_outputs(client, str(STAGING.region), STACK, {"ApiRepositoryUri": uri})
        result, docker = _push(tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert docker[0] == f"docker login --username AWS --password-stdin {uri.split('/')[0]}"
    build = docker[1]
    assert build.startswith("docker buildx build --platform linux/arm64 -f containers/api/Dockerfile")
    assert build.endswith("--push .")
    tag = build.split(f"{uri}:")[1].split()[0]
    assert len(tag) == 12
    assert f"-c image_tag={tag} Service" in result.stdout
    assert f"region {STAGING.region}" in result.stdout


def test_a_storage_stack_in_the_profiles_region_is_not_the_environments(tmp_path: Path) -> None:
    with moto_account(tmp_path / "bin") as (env, client):
        uri = _repository(client, PROFILE_REGION)
        stack_with_outputs(client, PROFILE_REGION, STACK, {"ApiRepositoryUri": uri})
        result, docker = _push(tmp_path, env)
    assert result.returncode != 0
    assert STACK in result.stderr
    assert not docker


def test_refuses_when_the_storage_stack_has_no_repository(tmp_path: Path) -> None:
    with moto_account(tmp_path / "bin") as (env, client):
        stack_with_outputs(client, str(STAGING.region), STACK, {"Other": "x"})
        result, docker = _push(tmp_path, env)
    assert result.returncode != 0
    assert "deploy it first" in result.stderr
    assert not docker
