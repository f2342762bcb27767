"""Worker configuration, read from the environment once, at the entry point, and passed down frozen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from photo_contract.variants import FEED_VARIANTS, variants_from_json
from photo_resize import ResizeOptions


@dataclass(frozen=True, kw_only=True)
class WorkerSettings:
    media_bucket: str
    max_source_bytes: int = 25 * 1024 * 1024
    cache_control: str = "public, max-age=31536000, immutable"
    resize: ResizeOptions = field(default_factory=ResizeOptions)

    def __post_init__(self) -> None:
        if not self.media_bucket:
            raise ValueError("media_bucket is required")
        if self.max_source_bytes < 1:
            raise ValueError(f"max_source_bytes must be positive, got {self.max_source_bytes}")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WorkerSettings:
        try:
            media_bucket = env["MEDIA_BUCKET"]
        except KeyError:
            raise ValueError("environment variable MEDIA_BUCKET is required") from None
        variants = variants_from_json(env["VARIANTS"]) if "VARIANTS" in env else FEED_VARIANTS
        resize = ResizeOptions(
            variants=variants,
            max_pixels=int(env.get("MAX_PIXELS", ResizeOptions.max_pixels)),
        )
        return cls(
            media_bucket=media_bucket,
            max_source_bytes=int(env.get("MAX_SOURCE_BYTES", cls.max_source_bytes)),
            resize=resize,
        )
