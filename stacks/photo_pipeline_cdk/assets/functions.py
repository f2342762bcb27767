"""What every Python function of ours has in common: runtime, architecture, tracing, its own log group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from photo_pipeline_cdk.assets.bundling import PythonAssetSpec, python_asset_code
from photo_pipeline_cdk.assets.sources import DEFAULT_ASSET_CACHE
from photo_pipeline_cdk.config import Architecture

__all__ = [
    "DEFAULT_ASSET_CACHE",
    "LAMBDA_ARCHITECTURES",
    "RUNTIME_PROVIDED",
    "lambda_runtime",
    "python_function",
]

# The Lambda Python runtime provides these; bundling them again would only grow the package.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
_RUNTIMES = {"3.12": lambda_.Runtime.PYTHON_3_12, "3.13": lambda_.Runtime.PYTHON_3_13}
LAMBDA_ARCHITECTURES = {
    Architecture.ARM_64: lambda_.Architecture.ARM_64,
    Architecture.X86_64: lambda_.Architecture.X86_64,
}


def lambda_runtime(python_version: str) -> lambda_.Runtime:
    try:
        return _RUNTIMES[python_version]
    except KeyError:
        raise ValueError(
            f"python_version must be one of {sorted(_RUNTIMES)}, got {python_version!r}"
        ) from None


def python_function(
    scope: Construct,
    *,
    description: str,
    handler: str,
    code: PythonAssetSpec,
    memory_mib: int,
    timeout_seconds: int,
    environment: Mapping[str, str],
    log_retention: logs.RetentionDays,
    asset_cache_dir: Path,
    layers: Sequence[lambda_.ILayerVersion] = (),
    reserved_concurrency: int | None = None,
    recursive_loop: lambda_.RecursiveLoop | None = None,
    snap_start: bool = False,
) -> lambda_.Function:
    """``scope``/Function with its own ``scope``/Logs group, X-Ray tracing, the spec's runtime and
    architecture, and code built by the local bundler (no Docker)."""
    return lambda_.Function(
        scope,
        "Function",
        description=description,
        runtime=lambda_runtime(code.python_version),
        architecture=LAMBDA_ARCHITECTURES[code.architecture],
        handler=handler,
        code=python_asset_code(code, cache_dir=asset_cache_dir),
        layers=list(layers) or None,
        memory_size=memory_mib,
        timeout=Duration.seconds(timeout_seconds),
        reserved_concurrent_executions=reserved_concurrency,
        recursive_loop=recursive_loop,
        tracing=lambda_.Tracing.ACTIVE,
        log_group=logs.LogGroup(scope, "Logs", retention=log_retention),
        environment=dict(environment),
        snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
    )
