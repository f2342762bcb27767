"""--lambda-like: run the resize handler as Lambda would — another interpreter (the function's Python
version), nothing on sys.path but the built layer (/opt/python) and the function package (/var/task)."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from photo_pipeline_cdk.assets.bundling import PythonAssetSpec, build_python_asset
from photo_pipeline_cdk.assets.sources import DEFAULT_ASSET_CACHE, runtime_sources
from photo_pipeline_cdk.config import Architecture, EnvironmentConfig

from local_runner.emulator import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, LocalResources
from local_runner.pipeline import worker_environment

# Runs inside the subprocess: the bootstrap Lambda's runtime would be.
_BOOTSTRAP = """
import json, sys
task, layer, out = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path[:] = [p for p in sys.path if "site-packages" not in p] + [task, layer]
from resize_worker.handler import lambda_handler

class Context:
    function_name = "resize"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:resize"
    aws_request_id = "local"
    def get_remaining_time_in_millis(self):
        return 30000

response = lambda_handler(json.load(sys.stdin), Context())
with open(out, "w") as f:
    json.dump(response, f)
"""


def _built(spec: PythonAssetSpec, cache_dir: Path) -> Path:
    target = cache_dir / spec.cache_key()
    if not target.is_dir():
        build_python_asset(spec, target)
    return target


def build_lambda_assets(
    config: EnvironmentConfig, cache_dir: Path = DEFAULT_ASSET_CACHE
) -> tuple[Path, Path]:
    """(layer dir, function dir) for x86_64 — the architecture this machine can execute."""
    src = runtime_sources()
    python = config.resize.python_version
    layer = PythonAssetSpec(
        projects=(src.resize_core, src.contract),
        constraints=src.constraints,
        architecture=Architecture.X86_64,
        python_version=python,
        subdir="python",
    )
    # boto3 is part of the real Lambda runtime; here it has to come with the function package.
    function = PythonAssetSpec(
        projects=(src.resize_worker,),
        constraints=src.constraints,
        architecture=Architecture.X86_64,
        python_version=python,
        provided=frozenset({"photo-pipeline-resize-core", "photo-pipeline-contract"}),
    )
    return _built(layer, cache_dir) / "python", _built(function, cache_dir)


def build_api_asset(config: EnvironmentConfig, cache_dir: Path = DEFAULT_ASSET_CACHE) -> Path:
    """The API function's package for x86_64, boto3 included (the real runtime provides it)."""
    src = runtime_sources()
    spec = PythonAssetSpec(
        projects=(src.upload_api, src.contract),
        constraints=src.constraints,
        architecture=Architecture.X86_64,
        python_version=config.resize.python_version,  # one Python version for every function
    )
    return _built(spec, cache_dir)


class SubprocessLambda:
    def __init__(
        self, *, python: Path, layer: Path, task: Path, config: EnvironmentConfig, resources: LocalResources
    ):
        self._command = [str(python), "-I", "-S", "-c", _BOOTSTRAP, str(task), str(layer)]
        self._env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": resources.endpoint,  # boto3's endpoint override: S3, DynamoDB, EventBridge
            **worker_environment(config, resources).to_env(),
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as work:
            out = Path(work) / "response.json"
            result = subprocess.run(
                [*self._command, str(out)],
                input=json.dumps(event),
                env=self._env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(f"the handler failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
            response: dict[str, Any] = json.loads(out.read_text())
            return response
