"""photo-pipeline's CDK constructs and stacks. Import name ``photo_pipeline_cdk`` (not ``stacks``), so it
never clashes with a CDK app's own ``stacks`` package."""

from photo_pipeline_cdk.config import (
    ENVIRONMENTS,
    Architecture,
    EnvironmentConfig,
    ResizeConfig,
    environment_config,
)
from photo_pipeline_cdk.resize import PillowLayer, ResizePipeline
from photo_pipeline_cdk.stacks import ResizeStack, StorageStack, build_photo_pipeline
from photo_pipeline_cdk.storage import PhotoBuckets
from photo_pipeline_cdk.upload_events import UploadEvents

__all__ = [
    "ENVIRONMENTS",
    "Architecture",
    "EnvironmentConfig",
    "PhotoBuckets",
    "PillowLayer",
    "ResizeConfig",
    "ResizePipeline",
    "ResizeStack",
    "StorageStack",
    "UploadEvents",
    "build_photo_pipeline",
    "environment_config",
]
