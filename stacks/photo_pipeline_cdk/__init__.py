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
    from photo_pipeline_cdk.config import (
        ENVIRONMENTS,
        Architecture,
        EnvironmentConfig,
        ResizeConfig,
        environment_config,
    )
    from photo_pipeline_cdk.constructs.api import UploadApiFunction, UploadApiService
    from photo_pipeline_cdk.constructs.identity import UserDirectory
    from photo_pipeline_cdk.constructs.image_repository import ApiImageRepository
    from photo_pipeline_cdk.constructs.registry import ImageRegistry
    from photo_pipeline_cdk.constructs.resize import PillowLayer, ResizePipeline
    from photo_pipeline_cdk.constructs.storage import PhotoBuckets
    from photo_pipeline_cdk.constructs.upload_events import UploadEvents
    from photo_pipeline_cdk.constructs.upload_quota import UploadQuotaTable
    from photo_pipeline_cdk.stacks import (
        ApiStack,
        ResizeStack,
        ServiceStack,
        StorageStack,
        build_photo_pipeline,
    )

_EXPORTS = {
    "ENVIRONMENTS": "config",
    "Architecture": "config",
    "EnvironmentConfig": "config",
    "ResizeConfig": "config",
    "environment_config": "config",
    "PhotoBuckets": "constructs.storage",
    "UploadEvents": "constructs.upload_events",
    "UploadQuotaTable": "constructs.upload_quota",
    "ImageRegistry": "constructs.registry",
    "PillowLayer": "constructs.resize",
    "ResizePipeline": "constructs.resize",
    "ApiImageRepository": "constructs.image_repository",
    "UploadApiFunction": "constructs.api",
    "UploadApiService": "constructs.api",
    "UserDirectory": "constructs.identity",
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
