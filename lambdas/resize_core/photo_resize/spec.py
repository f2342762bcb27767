"""Variants are data: what to produce is configuration, how to produce it is code."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class FitMode(StrEnum):
    FIT = "fit"  # whole image inside the box, aspect kept
    COVER = "cover"  # box filled, centre-cropped


class OutputFormat(StrEnum):
    JPEG = "jpeg"
    WEBP = "webp"

    @property
    def content_type(self) -> str:
        return f"image/{self.value}"

    @property
    def extension(self) -> str:
        return "jpg" if self is OutputFormat.JPEG else "webp"


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
        if self.mode is FitMode.COVER and self.height is None:
            raise ValueError(f"variant {self.name}: cover needs a height")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"variant {self.name}: quality must be 1..100, got {self.quality}")


# The feed's default set: full-width post, grid/preview, square thumbnail.
FEED_VARIANTS: tuple[VariantSpec, ...] = (
    VariantSpec(name="w1080", width=1080),
    VariantSpec(name="w640", width=640),
    VariantSpec(name="thumb150", width=150, height=150, mode=FitMode.COVER),
)


@dataclass(frozen=True, kw_only=True)
class ResizeOptions:
    variants: tuple[VariantSpec, ...] = FEED_VARIANTS
    # Well below Pillow's own bomb limit (~89 MP): a 50 MP camera is the largest a feed has to take.
    max_pixels: int = 50_000_000
    # JPEG has no alpha; transparent pixels are flattened onto this colour.
    background_rgb: tuple[int, int, int] = (255, 255, 255)
    allow_heic: bool = True

    def __post_init__(self) -> None:
        if not self.variants:
            raise ValueError("at least one variant is required")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique, got {names}")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be positive, got {self.max_pixels}")


@dataclass(frozen=True, kw_only=True)
class RenderedVariant:
    name: str
    width: int
    height: int
    format: OutputFormat
    data: bytes = field(repr=False)

    @property
    def content_type(self) -> str:
        return self.format.content_type


@dataclass(frozen=True, kw_only=True)
class ResizeResult:
    source_format: str
    width: int  # upright, after EXIF orientation
    height: int
    variants: tuple[RenderedVariant, ...]
