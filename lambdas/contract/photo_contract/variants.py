"""Variants are data: what to produce is configuration (CDK config, Lambda env), how is the core's job."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from enum import StrEnum


class FitMode(StrEnum):
    FIT = "fit"  # whole image inside the box, aspect kept
    COVER = "cover"  # box filled, centre-cropped
    SMART = "smart"  # box filled, cropped around the busiest region (edge energy), centre when flat


class OutputFormat(StrEnum):
    JPEG = "jpeg"
    WEBP = "webp"
    AVIF = "avif"

    @property
    def content_type(self) -> str:
        return f"image/{self.value}"

    @property
    def extension(self) -> str:
        return "jpg" if self is OutputFormat.JPEG else self.value

    @property
    def max_side(self) -> int:
        """The largest width or height the format can store (libjpeg: 65,500; WebP: 16,383; AV1: 65,536)."""
        return {OutputFormat.JPEG: 65_500, OutputFormat.WEBP: 16_383, OutputFormat.AVIF: 65_536}[self]


# Alternates are made only for frames up to this many pixels. A 1080-wide strip of a 50 MP panorama is
# 46,000 px tall: AVIF would add seconds and about a GiB to the worst legal image (make bench, budget
# table), for a picture no feed shows whole. Such a variant comes in its own format only.
ALTERNATE_MAX_PIXELS = 4_000_000


@dataclass(frozen=True)
class Alternate:
    """The same picture in another format, at the quality that matches the variant's own visually (the
    formats benchmark finds those qualities): a client offers both in a ``<picture>`` or ``srcset``."""

    format: OutputFormat
    quality: int

    def __post_init__(self) -> None:
        if not 1 <= self.quality <= 100:
            raise ValueError(f"alternate {self.format.value}: quality must be 1..100, got {self.quality}")


@dataclass(frozen=True, kw_only=True)
class VariantSpec:
    """One output of the feed. ``height=None`` with FIT means "fit to width"."""

    name: str
    width: int
    height: int | None = None
    mode: FitMode = FitMode.FIT
    format: OutputFormat = OutputFormat.JPEG
    quality: int = 85
    alternates: tuple[Alternate, ...] = ()
    # FIT only: the aspect (width / height) the output may have; a picture outside the range is
    # centre-cropped to its nearest bound first. None: any aspect (plain fit-to-width).
    min_aspect: float | None = None
    max_aspect: float | None = None

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
        if (self.min_aspect is not None or self.max_aspect is not None) and self.mode is not FitMode.FIT:
            raise ValueError(f"variant {self.name}: an aspect range applies to fit variants only")
        low, high = self.min_aspect or 0.0, self.max_aspect or float("inf")
        if not 0 <= low <= high:
            raise ValueError(f"variant {self.name}: need 0 < min_aspect <= max_aspect, got {low}..{high}")
        formats = [self.format, *(a.format for a in self.alternates)]
        if len(set(formats)) != len(formats):
            raise ValueError(
                f"variant {self.name}: each format at most once, got {[f.value for f in formats]}"
            )

    @property
    def encodings(self) -> tuple[Alternate, ...]:
        """Every (format, quality) the variant is written in, its own first."""
        return (Alternate(self.format, self.quality), *self.alternates)


# An Instagram-style feed shows a post between 4:5 (portrait, 1080x1350) and 1.91:1 (landscape): a
# taller or wider picture is centre-cropped to that range rather than shown as a 1080x1631 strip.
FEED_MIN_ASPECT = 4 / 5
FEED_MAX_ASPECT = 1.91

# The feed's default set: full-width post, grid/preview, square thumbnail. The two large sizes also come
# as AVIF at the quality whose SSIM matches JPEG q85 (make bench, formats table): 28% fewer bytes for
# about 0.16 + 0.07 s more encoding, which one CDN view of the pair pays back. The thumbnail stays JPEG
# only: 1.7 KiB saved per view is worth less than the request fee it rides on.
FEED_VARIANTS: tuple[VariantSpec, ...] = (
    VariantSpec(
        name="w1080",
        width=1080,
        alternates=(Alternate(OutputFormat.AVIF, 76),),
        min_aspect=FEED_MIN_ASPECT,
        max_aspect=FEED_MAX_ASPECT,
    ),
    VariantSpec(
        name="w640",
        width=640,
        alternates=(Alternate(OutputFormat.AVIF, 75),),
        min_aspect=FEED_MIN_ASPECT,
        max_aspect=FEED_MAX_ASPECT,
    ),
    VariantSpec(name="thumb150", width=150, height=150, mode=FitMode.COVER),
)


def variants_to_json(variants: tuple[VariantSpec, ...]) -> str:
    return json.dumps([_variant_json(v) for v in variants], separators=(",", ":"))


def _variant_json(v: VariantSpec) -> dict[str, object]:
    item: dict[str, object] = {
        "name": v.name,
        "width": v.width,
        "height": v.height,
        "mode": v.mode.value,
        "format": v.format.value,
        "quality": v.quality,
    }
    # Absent when unset: a spec without them keeps the version (the digest of this JSON) it always had.
    if v.alternates:
        item["alternates"] = [{"format": a.format.value, "quality": a.quality} for a in v.alternates]
    if v.min_aspect is not None:
        item["min_aspect"] = v.min_aspect
    if v.max_aspect is not None:
        item["max_aspect"] = v.max_aspect
    return item


def variants_from_json(text: str) -> tuple[VariantSpec, ...]:
    return tuple(
        VariantSpec(
            name=item["name"],
            width=int(item["width"]),
            height=None if item.get("height") is None else int(item["height"]),
            mode=FitMode(item.get("mode", "fit")),
            format=OutputFormat(item.get("format", "jpeg")),
            quality=int(item.get("quality", 85)),
            alternates=tuple(
                Alternate(OutputFormat(a["format"]), int(a["quality"])) for a in item.get("alternates", [])
            ),
            min_aspect=None if item.get("min_aspect") is None else float(item["min_aspect"]),
            max_aspect=None if item.get("max_aspect") is None else float(item["max_aspect"]),
        )
        for item in json.loads(text)
    )


def variants_version(source_etag: str, variants: tuple[VariantSpec, ...]) -> str:
    """What a set of variants was made from: the source version and the spec. It names their keys, so a
    re-upload or a changed spec makes new (immutable) keys, and nothing else does."""
    digest = hashlib.sha256(f"{source_etag}\n{variants_to_json(variants)}".encode()).hexdigest()
    return digest[:20]


# Headroom for variants not yet in the spec: a source kept at 1.5x today's need still serves a later,
# larger variant (a 1620-pixel post) at full quality.
DEFAULT_SOURCE_MARGIN = 1.5


@dataclass(frozen=True)
class UsefulSource:
    """The smallest source that loses nothing any variant (times the margin) can show: scaled down
    proportionally until it is ``width`` wide or ``height`` tall, whichever binds first, a source
    makes the same variants. A phone may downscale to it before uploading."""

    width: int
    height: int

    def scale(self, source_width: int, source_height: int) -> float:
        """The factor (<= 1) a source of this size can be scaled by with nothing lost."""
        return min(1.0, max(self.width / source_width, self.height / source_height))


def useful_source(variants: tuple[VariantSpec, ...], margin: float = DEFAULT_SOURCE_MARGIN) -> UsefulSource:
    """What each variant reads, from its mode: a fit variant of width W needs W source columns, except
    from a picture wider than its ``max_aspect`` (cropped to it), which needs W / max_aspect rows; a
    boxed fit or a cover/smart crop of W x H needs W columns and H rows (the crop keeps one side whole).
    """
    if margin < 1:
        raise ValueError(f"the source margin must be at least 1, got {margin}")
    width = height = 1
    for v in variants:
        width = max(width, v.width)
        if v.height is not None:
            height = max(height, v.height)
        if v.mode is FitMode.FIT and v.max_aspect is not None:
            height = max(height, math.ceil(v.width / v.max_aspect))
    return UsefulSource(width=math.ceil(width * margin), height=math.ceil(height * margin))
