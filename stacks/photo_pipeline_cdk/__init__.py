"""photo-pipeline's CDK constructs and stacks. Import name ``photo_pipeline_cdk`` (not ``stacks``), so it
never clashes with a CDK app's own ``stacks`` package.

Names load on first use: reading ``photo_pipeline_cdk.config`` (the local runner does) must not start
the jsii runtime that ``aws_cdk`` brings.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "ENVIRONMENTS": "config",
    "Architecture": "config",
    "EnvironmentConfig": "config",
    "ResizeConfig": "config",
    "environment_config": "config",
    "PhotoBuckets": "storage",
    "UploadEvents": "upload_events",
    "PillowLayer": "resize",
    "ResizePipeline": "resize",
    "ApiImageRepository": "api",
    "UploadApiFunction": "api",
    "UploadApiService": "api",
    "UserDirectory": "api",
    "StorageStack": "stacks",
    "ResizeStack": "stacks",
    "ApiStack": "stacks",
    "ServiceStack": "stacks",
    "build_photo_pipeline": "stacks",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'photo_pipeline_cdk' has no attribute {name!r}")
    return getattr(import_module(f"photo_pipeline_cdk.{_EXPORTS[name]}"), name)
