"""Variants are data: what to produce is configuration (CDK config, Lambda env), how is the core's job."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum


class FitMode(StrEnum):
    FIT = "fit"  # whole image inside the box, aspect kept
    COVER = "cover"  # box filled, centre-cropped
    SMART = "smart"  # box filled, cropped around the busiest region (edge energy), centre when flat


class OutputFormat(StrEnum):
    JPEG = "jpeg"
    WEBP = "webp"

    @property
    def content_type(self) -> str:
        return f"image/{self.value}"

    @property
    def extension(self) -> str:
        return "jpg" if self is OutputFormat.JPEG else "webp"

    @property
    def max_side(self) -> int:
        """The largest width or height the format can store (libjpeg: 65,500; WebP: 16,383)."""
        return 65_500 if self is OutputFormat.JPEG else 16_383


@dataclass(frozen=True, kw_only=True)
class VariantSpec:
    """One output of the feed. ``height=None`` with FIT means "fit to width"."""

    name: str
    width: int
    height: int | None = None
    mode: FitMode = FitMode.FIT
    format: OutputFormat = OutputFormat.JPEG
    quality: int = 85

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"variant name must be alphanumeric with - or _, got {self.name!r}")
        if not 1 <= self.width <= 8192:
            raise ValueError(f"variant {self.name}: width must be 1..8192, got {self.width}")
        if self.height is not None and not 1 <= self.height <= 8192:
            raise ValueError(f"variant {self.name}: height must be 1..8192 or None, got {self.height}")
        if self.mode in (FitMode.COVER, FitMode.SMART) and self.height is None:
            raise ValueError(f"variant {self.name}: {self.mode.value} needs a height")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"variant {self.name}: quality must be 1..100, got {self.quality}")


# The feed's default set: full-width post, grid/preview, square thumbnail.
FEED_VARIANTS: tuple[VariantSpec, ...] = (
    VariantSpec(name="w1080", width=1080),
    VariantSpec(name="w640", width=640),
    VariantSpec(name="thumb150", width=150, height=150, mode=FitMode.COVER),
)


def variants_to_json(variants: tuple[VariantSpec, ...]) -> str:
    return json.dumps(
        [
            {
                "name": v.name,
                "width": v.width,
                "height": v.height,
                "mode": v.mode.value,
                "format": v.format.value,
                "quality": v.quality,
            }
            for v in variants
        ],
        separators=(",", ":"),
    )


def variants_from_json(text: str) -> tuple[VariantSpec, ...]:
    return tuple(
        VariantSpec(
            name=item["name"],
            width=int(item["width"]),
            height=None if item.get("height") is None else int(item["height"]),
            mode=FitMode(item.get("mode", "fit")),
            format=OutputFormat(item.get("format", "jpeg")),
            quality=int(item.get("quality", 85)),
        )
        for item in json.loads(text)
    )


def variants_version(source_etag: str, variants: tuple[VariantSpec, ...]) -> str:
    """What a set of variants was made from: the source version and the spec. It names their keys, so a
    re-upload or a changed spec makes new (immutable) keys, and nothing else does."""
    digest = hashlib.sha256(f"{source_etag}\n{variants_to_json(variants)}".encode()).hexdigest()
    return digest[:20]
