from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

ENVIRONMENTS = ("dev", "staging", "prod")
# The tag the snapshots are taken with (make diff/snapshots pass the same): the Service stack exists
# only when an image tag is given.
SNAPSHOT_IMAGE_TAG = "snapshot"


def cdk_cli(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real, pinned CDK CLI from node_modules (make test installs it)."""
    cli = REPO / "node_modules" / ".bin" / "cdk"
    if not cli.exists():
        pytest.fail("node_modules/.bin/cdk is missing: run `make test` (it runs npm ci first)")
    env = {**(env or os.environ), "PATH": f"{REPO / 'node_modules' / '.bin'}:{os.environ['PATH']}"}
    return subprocess.run([str(cli), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every environment synthesized by the real CLI, cdk-nag included, with no AWS credentials."""
    out = {}
    for env in ENVIRONMENTS:
        target = tmp_path_factory.mktemp(f"cdk-{env}")
        result = cdk_cli(
            "synth",
            "-c",
            f"env={env}",
            "-c",
            f"image_tag={SNAPSHOT_IMAGE_TAG}",
            "-c",
            "allow_placeholders=true",
            "-q",
            "-o",
            str(target),
        )
        assert result.returncode == 0, f"cdk synth -c env={env} failed:\n{result.stdout}\n{result.stderr}"
        (target / "synth.log").write_text(result.stdout + result.stderr)  # what a user sees (test_synth)
        out[env] = target
    return out


@pytest.fixture(scope="session")
def templates(assemblies: dict[str, Path]) -> dict[str, dict[str, dict[str, Any]]]:
    import json

    return {
        env: {
            p.name.removesuffix(".template.json"): json.loads(p.read_text())
            for p in path.glob("*.template.json")
        }
        for env, path in assemblies.items()
    }
