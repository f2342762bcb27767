"""What the core is asked to do and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from photo_contract.receipt import PrivacyReceipt, ReceiptPolicy
from photo_contract.runtime import DEFAULT_MAX_PIXELS
from photo_contract.variants import FEED_VARIANTS, OutputFormat, VariantSpec


class Encodings(StrEnum):
    """Which of each variant's encodings a call makes: all of them; only its own (the JPEG a feed
    shows at once: the first step of a two-step pipeline); or only its alternates (the second)."""

    ALL = "all"
    PRIMARY = "primary"
    ALTERNATES = "alternates"


@dataclass(frozen=True, kw_only=True)
class ResizeOptions:
    variants: tuple[VariantSpec, ...] = FEED_VARIANTS
    max_pixels: int = DEFAULT_MAX_PIXELS
    # JPEG has no alpha; transparent pixels are flattened onto this colour.
    background_rgb: tuple[int, int, int] = (255, 255, 255)
    allow_heic: bool = True
    # Bytes the decode and the variants may use at their peak (None: no check). The worker derives it
    # from the function's memory; the core compares it with an estimate made from the header.
    memory_budget_bytes: int | None = None
    # What the privacy receipt keeps as data (the variants never carry any metadata).
    receipt: ReceiptPolicy = field(default_factory=ReceiptPolicy)
    encodings: Encodings = Encodings.ALL

    def __post_init__(self) -> None:
        if not self.variants:
            raise ValueError("at least one variant is required")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique, got {names}")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be positive, got {self.max_pixels}")
        if self.memory_budget_bytes is not None and self.memory_budget_bytes < 1:
            raise ValueError(f"memory_budget_bytes must be positive, got {self.memory_budget_bytes}")


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
    placeholder: str = ""  # ThumbHash, base64
    dominant_color: str = ""  # the average colour, #rrggbb
    receipt: PrivacyReceipt = field(default_factory=PrivacyReceipt)  # what was found and removed
