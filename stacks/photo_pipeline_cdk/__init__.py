"""photo-pipeline's CDK constructs and stacks. Import name ``photo_pipeline_cdk`` (not ``stacks``), so it
never clashes with a CDK app's own ``stacks`` package.

Names load on first use: reading ``photo_pipeline_cdk.config`` (the local runner does) must not start
the jsii runtime that ``aws_cdk`` brings. Type checkers see the real classes through the
``TYPE_CHECKING`` imports below; at run time ``__getattr__`` loads them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from photo_pipeline_cdk.api import UploadApiFunction, UploadApiService
    from photo_pipeline_cdk.config import (
        ENVIRONMENTS,
        Architecture,
        EnvironmentConfig,
        ResizeConfig,
        environment_config,
    )
    from photo_pipeline_cdk.identity import UserDirectory
    from photo_pipeline_cdk.image_repository import ApiImageRepository
    from photo_pipeline_cdk.registry import ImageRegistry
    from photo_pipeline_cdk.resize import PillowLayer, ResizePipeline
    from photo_pipeline_cdk.stacks import (
        ApiStack,
        ResizeStack,
        ServiceStack,
        StorageStack,
        build_photo_pipeline,
    )
    from photo_pipeline_cdk.storage import PhotoBuckets
    from photo_pipeline_cdk.upload_events import UploadEvents
    from photo_pipeline_cdk.upload_quota import UploadQuotaTable

_EXPORTS = {
    "ENVIRONMENTS": "config",
    "Architecture": "config",
    "EnvironmentConfig": "config",
    "ResizeConfig": "config",
    "environment_config": "config",
    "PhotoBuckets": "storage",
    "UploadEvents": "upload_events",
    "UploadQuotaTable": "upload_quota",
    "ImageRegistry": "registry",
    "PillowLayer": "resize",
    "ResizePipeline": "resize",
    "ApiImageRepository": "image_repository",
    "UploadApiFunction": "api",
    "UploadApiService": "api",
    "UserDirectory": "identity",
    "StorageStack": "stacks",
    "ResizeStack": "stacks",
    "ApiStack": "stacks",
    "ServiceStack": "stacks",
    "build_photo_pipeline": "stacks",
}
__all__ = [
    "ENVIRONMENTS",
    "ApiImageRepository",
    "ApiStack",
    "Architecture",
    "EnvironmentConfig",
    "ImageRegistry",
    "PhotoBuckets",
    "PillowLayer",
    "ResizeConfig",
    "ResizePipeline",
    "ResizeStack",
    "ServiceStack",
    "StorageStack",
    "UploadApiFunction",
    "UploadApiService",
    "UploadEvents",
    "UploadQuotaTable",
    "UserDirectory",
    "build_photo_pipeline",
    "environment_config",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'photo_pipeline_cdk' has no attribute {name!r}")
    return getattr(import_module(f"photo_pipeline_cdk.{_EXPORTS[name]}"), name)
