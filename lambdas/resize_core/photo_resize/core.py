"""Decode once, make every variant.

The expensive part of resizing a camera photo is decoding 12–22 MP of JPEG. So the decoder is told
(``draft``) the smallest size that still covers the largest variant and scales in the DCT domain by
1/2, 1/4 or 1/8; every variant is then cut from the smallest image already made that is big enough.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from photo_contract.budget import working_set_bytes
from photo_contract.variants import ALTERNATE_MAX_PIXELS, Alternate, FitMode, OutputFormat, VariantSpec
from PIL import Image, ImageCms, ImageFilter, UnidentifiedImageError

from photo_resize.errors import ImageRejected, RejectReason
from photo_resize.metadata import read_receipt
from photo_resize.placeholder import thumb_hash
from photo_resize.spec import Encodings, RenderedVariant, ResizeOptions, ResizeResult

_BASE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
_HEIF_FORMAT = "HEIF"
_SWAPS_AXES = {5, 6, 7, 8}  # EXIF orientations that rotate by 90°
# What ImageOps.exif_transpose does, applied to the draft-decoded image from the tag read up front.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SRGB = ImageCms.createProfile("sRGB")
# Measured (make bench): LANCZOS on the largest variant costs more than the whole DCT-scaled decode
# (core at 2.0x the floor); HAMMING keeps 1.4x and, after DCT scaling has done the big reduction,
# the remaining <2x step shows no visible difference at feed sizes.
_RESAMPLE = Image.Resampling.HAMMING
# Pillow's box-reduces by an integer factor first when the ratio exceeds this: nearly as sharp, much faster.
_REDUCING_GAP = 3.0
# ThumbHash takes at most 100x100 and keeps only the lowest frequencies: 32 px holds them, with a tenth
# of the pixels to sum.
_PLACEHOLDER_SIDE = 32
# Smart crop looks at a copy this small (cost: a reduce and a 3x3 filter over ~7,000 pixels) and moves
# the crop only when the busiest window has this much more edge energy than the centre one.
_SMART_SIDE = 96
_SMART_MARGIN = 1.15
# libavif speed 0-10 (Pillow default 6): see encode_frame.
AVIF_SPEED = 8
# Below this a progressive JPEG is larger than an optimised baseline one (the 150 px thumbnail: 22,500).
JPEG_PROGRESSIVE_MIN_PIXELS = 100_000


@dataclass(frozen=True)
class _Plan:
    """One variant: output size, and the crop box in upright source pixels."""

    spec: VariantSpec
    size: tuple[int, int]
    crop: tuple[float, float, float, float]

    @property
    def scale(self) -> float:
        """Output pixels per upright source pixel (≤ 1: never upscale)."""
        return self.size[0] / (self.crop[2] - self.crop[0])


def resize_image(data: bytes, options: ResizeOptions) -> ResizeResult:
    """Turn an uploaded original into the variants of ``options``, or raise ``ImageRejected``."""
    with _open_allowed(data, options) as image:
        source_format = str(image.format)
        orientation = _orientation(image)
        # Read before anything is decoded: the decode drops what Pillow parsed from the header.
        receipt = read_receipt(data, image, options.receipt, orientation=orientation, colour_profile=None)
        upright = _upright_size(image.size, orientation)
        plans = [_plan(spec, upright) for spec in options.variants]
        _check_output_limits(plans)  # before decoding: the header says enough
        largest = max(plans, key=lambda p: p.scale)
        _draft(image, largest, upright, orientation)
        _check_memory_budget(image, options)  # after the draft: the size the decoder will really make
        # Everything happens inside the block: Pillow frees a closed image's pixels.
        base = _decode(image)
        # Colour is converted per variant, after the downscale: on a 50 MP frame a conversion is a
        # second full-size copy (and most of a second of CPU); on the variants it costs almost nothing.
        colour = _SrgbConversion.of(base)
        receipt = dataclasses.replace(receipt, colour_profile_converted=colour.description)
        # Plans are in upright source pixels; the draft (and the pre-transpose downscale) made the base
        # smaller, and the downscale may keep only the part of the picture some variant shows.
        frame = _upright(base, orientation, upright, largest.scale, _shown(plans, upright))
        variants, smallest = _render_all(frame, plans, options, colour)
        placeholder, average = _placeholder(colour(smallest), options.background_rgb)
    return ResizeResult(
        source_format=source_format,
        width=upright[0],
        height=upright[1],
        variants=variants,
        placeholder=placeholder,
        dominant_color=average,
        receipt=receipt,
    )


@contextmanager
def _open_allowed(data: bytes, options: ResizeOptions) -> Iterator[Image.Image]:
    formats = [*_BASE_FORMATS, _HEIF_FORMAT] if options.allow_heic and _heif_available() else _BASE_FORMATS
    stream = io.BytesIO(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(stream, formats=formats)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected(RejectReason.DECOMPRESSION_BOMB, str(exc)) from exc
        except UnidentifiedImageError as exc:
            raise ImageRejected(_classify_unopenable(stream), "format not in the allowlist") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageRejected(RejectReason.CORRUPT, f"unreadable header: {exc}") from exc
    with image:
        width, height = image.size
        if width * height > options.max_pixels:
            raise ImageRejected(
                RejectReason.TOO_MANY_PIXELS,
                f"{width}x{height} is {width * height} pixels, the cap is {options.max_pixels}",
            )
        yield image


def _classify_unopenable(stream: IO[bytes]) -> RejectReason:
    """An image Pillow knows but we do not take (TIFF, BMP…) is unsupported; anything else is not an image."""
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(stream):
                return RejectReason.UNSUPPORTED_FORMAT
    except Exception:
        return RejectReason.NOT_AN_IMAGE


_heif_registered: bool | None = None


def _heif_available() -> bool:
    """pillow-heif is optional at run time: a layer built without it still serves every other format."""
    global _heif_registered
    if _heif_registered is None:
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _heif_registered = True
        except ImportError:
            _heif_registered = False
    return _heif_registered


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(0x0112, 1)
    except Exception:  # a broken EXIF block must not cost the photo
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in _SWAPS_AXES else size


@dataclass(frozen=True)
class _Frame:
    """An already-made picture: ``scale`` output pixels per upright source pixel, showing ``region``
    (left, top, right, bottom) of the upright source."""

    image: Image.Image
    scale: float
    region: tuple[float, float, float, float]

    def covers(self, crop: tuple[float, float, float, float]) -> bool:
        slack = 0.5  # rounding of a crop box, in source pixels
        left, top, right, bottom = self.region
        return (
            crop[0] >= left - slack
            and crop[1] >= top - slack
            and crop[2] <= right + slack
            and crop[3] <= bottom + slack
        )


def _plan(spec: VariantSpec, upright: tuple[int, int]) -> _Plan:
    width, height = upright
    if spec.mode is FitMode.FIT:
        # The aspect range first: a picture taller or wider than allowed is centre-cropped to it.
        crop_w, crop_h = float(width), float(height)
        if spec.min_aspect is not None and width / height < spec.min_aspect:
            crop_h = width / spec.min_aspect
        elif spec.max_aspect is not None and width / height > spec.max_aspect:
            crop_w = height * spec.max_aspect
        left, top = (width - crop_w) / 2, (height - crop_h) / 2
        box_h = spec.height if spec.height is not None else crop_h
        scale = min(spec.width / crop_w, box_h / crop_h, 1.0)
        size = (max(1, round(crop_w * scale)), max(1, round(crop_h * scale)))
        return _Plan(spec, size, (left, top, left + crop_w, top + crop_h))
    assert spec.height is not None  # VariantSpec guarantees it for COVER and SMART
    target_ratio = spec.width / spec.height
    crop_w = min(float(width), height * target_ratio)
    crop_h = min(float(height), width / target_ratio)
    left, top = (width - crop_w) / 2, (height - crop_h) / 2
    # Never upscale: a source smaller than the box gives a smaller thumbnail of the same shape.
    scale = min(spec.width / crop_w, 1.0)
    size = (max(1, round(crop_w * scale)), max(1, round(crop_h * scale)))
    return _Plan(spec, size, (left, top, left + crop_w, top + crop_h))


def _check_output_limits(plans: list[_Plan]) -> None:
    for plan in plans:
        limit = plan.spec.format.max_side
        if max(plan.size) > limit:
            raise ImageRejected(
                RejectReason.OUTPUT_TOO_LARGE,
                f"variant {plan.spec.name} would be {plan.size[0]}x{plan.size[1]}; "
                f"{plan.spec.format.value} allows at most {limit} px a side",
            )


def _check_memory_budget(image: Image.Image, options: ResizeOptions) -> None:
    if options.memory_budget_bytes is None:
        return
    needed = working_set_bytes(str(image.format), image.mode, image.size)
    if needed > options.memory_budget_bytes:
        raise ImageRejected(
            RejectReason.EXCEEDS_MEMORY_BUDGET,
            f"a {image.size[0]}x{image.size[1]} {image.mode} {image.format} needs about "
            f"{needed // 2**20} MiB to process; the function has {options.memory_budget_bytes // 2**20} MiB",
        )


def _shown(plans: list[_Plan], upright: tuple[int, int]) -> tuple[float, float, float, float]:
    """The part of the upright source to keep when downscaling before the turn: the union of the crops
    if a fit variant shows all of it (as the feed's do); otherwise the whole picture, so a rotated photo
    gives the same frames, and the same placeholder, as an unrotated one."""
    whole = (0.0, 0.0, float(upright[0]), float(upright[1]))
    if any(plan.spec.mode is FitMode.SMART for plan in plans):
        return whole  # a smart crop still has to choose its window
    union = (
        min(plan.crop[0] for plan in plans),
        min(plan.crop[1] for plan in plans),
        max(plan.crop[2] for plan in plans),
        max(plan.crop[3] for plan in plans),
    )
    return union if any(p.spec.mode is FitMode.FIT and p.crop == union for p in plans) else whole


def _upright(
    stored: Image.Image,
    orientation: int,
    upright: tuple[int, int],
    scale: float,
    shown: tuple[float, float, float, float],
) -> _Frame:
    """The decoded frame turned upright. When a downscale comes anyway, it is done first, at the largest
    variant's scale and only over the part some variant shows, so the transpose moves that many pixels
    instead of the decoded frame's (23 ms on a 16 MP EXIF-8 photo; a 4:5 crop of a 2:3 portrait
    leaves out another 17%)."""
    swapped = orientation in _SWAPS_AXES
    shrink = (stored.size[1] if swapped else stored.size[0]) / upright[0]
    whole = (0.0, 0.0, float(upright[0]), float(upright[1]))
    if orientation not in _TRANSPOSE:
        return _Frame(stored, shrink, whole)
    region = whole
    if scale < shrink * (1 - 1e-6):
        region = shown
        width, height = region[2] - region[0], region[3] - region[1]
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        left, top, right, bottom = _stored_box(region, orientation, upright)
        box = (left * shrink, top * shrink, right * shrink, bottom * shrink)
        info = stored.info
        stored = stored.resize(
            (target[1], target[0]) if swapped else target, _RESAMPLE, box=box, reducing_gap=_REDUCING_GAP
        )
        stored.info = info
        shrink = target[0] / width
    turned = stored.transpose(_TRANSPOSE[orientation])
    turned.info = stored.info
    return _Frame(turned, shrink, region)


def _stored_box(
    box: tuple[float, float, float, float], orientation: int, upright: tuple[int, int]
) -> tuple[float, float, float, float]:
    """``box`` (left, top, right, bottom in the upright picture) in the stored picture's pixels: the
    inverse of the orientation's transpose (6 and 8 undo each other; the others undo themselves)."""
    left, top, right, bottom = box
    w, h = upright
    corners = {
        1: (left, top, right, bottom),
        2: (w - right, top, w - left, bottom),
        3: (w - right, h - bottom, w - left, h - top),
        4: (left, h - bottom, right, h - top),
        5: (top, left, bottom, right),
        6: (top, w - right, bottom, w - left),
        7: (h - bottom, w - right, h - top, w - left),
        8: (h - bottom, left, h - top, right),
    }
    return corners[orientation]


def _draft(image: Image.Image, largest: _Plan, upright: tuple[int, int], orientation: int) -> None:
    """Ask a JPEG decoder for the smallest DCT scale that still covers the largest variant."""
    if image.format != "JPEG":
        return
    scale = largest.scale
    need = (max(1, int(upright[0] * scale) + 1), max(1, int(upright[1] * scale) + 1))
    if orientation in _SWAPS_AXES:
        need = (need[1], need[0])
    image.draft(None, need)


def _decode(image: Image.Image) -> Image.Image:
    try:
        image.load()
        if getattr(image, "is_animated", False):
            image.seek(0)  # animated GIF/WebP: the feed shows the first frame
        return _normalise_mode(image)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        text = str(exc).lower()
        truncated = "truncated" in text or "end of file" in text or "premature" in text
        reason = RejectReason.TRUNCATED if truncated else RejectReason.CORRUPT
        raise ImageRejected(reason, str(exc)) from exc
    except Image.DecompressionBombError as exc:
        raise ImageRejected(RejectReason.DECOMPRESSION_BOMB, str(exc)) from exc


def _normalise_mode(image: Image.Image) -> Image.Image:
    """Every input becomes L, RGB or RGBA; the ICC profile rides along for the sRGB step."""
    icc = image.info.get("icc_profile")
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        out = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif mode == "P" or mode == "PA":
        out = image.convert("RGBA" if image.has_transparency_data else "RGB")
    elif mode == "LA" or mode == "La":
        out = image.convert("RGBA")
    elif mode == "1":
        out = image.convert("L")
    elif mode in ("L", "RGB", "RGBA", "CMYK"):
        out = image if mode != "RGBA" or _has_real_alpha(image) else image.convert("RGB")
    else:
        out = image.convert("RGB")
    out.info = {"icc_profile": icc} if icc else {}
    return out


def _has_real_alpha(image: Image.Image) -> bool:
    low = image.getchannel("A").getextrema()[0]
    return isinstance(low, int | float) and low < 255


@dataclass(frozen=True)
class _SrgbConversion:
    """What makes a frame sRGB: its embedded profile (when not sRGB already) and CMYK to RGB."""

    profile: ImageCms.ImageCmsProfile | None

    @classmethod
    def of(cls, image: Image.Image) -> _SrgbConversion:
        icc = image.info.get("icc_profile")
        image.info = {}
        if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
            return cls(None)
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        except (ImageCms.PyCMSError, OSError, ValueError):
            return cls(None)  # a broken profile: the pixels are still the best guess we have
        return cls(None if _is_srgb(source) else source)

    @property
    def description(self) -> str | None:
        """The source profile's name, when the frame is converted from it."""
        if self.profile is None:
            return None
        return (ImageCms.getProfileDescription(self.profile) or "unnamed profile").strip()[:100]

    def __call__(self, image: Image.Image) -> Image.Image:
        target_mode = "RGBA" if image.mode == "RGBA" else ("L" if image.mode == "L" else "RGB")
        if self.profile is not None:
            try:
                converted = ImageCms.profileToProfile(image, self.profile, _SRGB, outputMode=target_mode)
                if converted is not None:
                    image = converted
            except (ImageCms.PyCMSError, OSError, ValueError):
                pass  # as above
        if image.mode == "CMYK":
            image = image.convert("RGB")
        image.info = {}
        return image


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    description = (ImageCms.getProfileDescription(profile) or "").lower()
    return "srgb" in description or "iec61966" in description.replace("-", "").replace(" ", "")


def _render_all(
    base: _Frame, plans: list[_Plan], options: ResizeOptions, colour: _SrgbConversion
) -> tuple[tuple[RenderedVariant, ...], Image.Image]:
    """Largest first, each from the smallest already-made frame that covers it. Also returns the
    smallest frame made (for the placeholder)."""
    # Frames made so far: each with its scale against the upright source and the region of the upright
    # source it shows (a fit variant with an aspect range shows a centre crop). A plan may be made from
    # any frame that covers its crop at enough resolution; smart crop chooses within a whole frame.
    whole = base.region
    frames: list[_Frame] = [base]
    rendered: dict[str, list[RenderedVariant]] = {}
    for plan in sorted(plans, key=lambda p: p.scale, reverse=True):
        sufficient = [
            f
            for f in frames
            if f.scale >= plan.scale * (1 - 1e-6)
            and f.covers(plan.crop)
            and (plan.spec.mode is not FitMode.SMART or f.region == whole)
        ] or frames[:1]
        frame = min(sufficient, key=lambda f: f.scale)
        if options.encodings is Encodings.ALTERNATES and not plan.spec.alternates:
            rendered[plan.spec.name] = []  # nothing of this variant is made in this step
            continue
        if plan.spec.mode is FitMode.SMART:
            plan = _smart_crop(frame.image, frame.scale, plan)
        image = _resize(frame, plan)
        if plan.spec.mode is FitMode.FIT:
            frames.append(_Frame(image, plan.scale, plan.crop))
        # Converted in a call of its own: the converted copy is freed before the next variant is made.
        rendered[plan.spec.name] = _encode_all(colour(image), plan.spec, options)
    smallest = min(frames, key=lambda f: f.scale).image
    return tuple(v for spec in options.variants for v in rendered[spec.name]), smallest


def _placeholder(frame: Image.Image, background: tuple[int, int, int]) -> tuple[str, str]:
    """(ThumbHash, base64; average colour, #rrggbb) from a frame already made small: the whole picture's
    shape and colours in about 25 bytes, for a client to paint before the thumbnail arrives."""
    tiny = frame.copy()
    tiny.thumbnail((_PLACEHOLDER_SIDE, _PLACEHOLDER_SIDE), Image.Resampling.BOX)
    if tiny.mode == "RGBA":
        # Flattened, as the JPEG variants are: the placeholder is always opaque.
        flat = Image.new("RGB", tiny.size, background)
        flat.paste(tiny, mask=tiny.getchannel("A"))
        tiny = flat
    tiny = tiny.convert("RGB")
    red, green, blue = tiny.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))  # type: ignore[misc]
    return base64.b64encode(thumb_hash(tiny)).decode(), f"#{red:02x}{green:02x}{blue:02x}"


def _smart_crop(source: Image.Image, factor: float, plan: _Plan) -> _Plan:
    """Slide the cover crop along its free axis to the window with the most edge energy.

    A cover crop spans the whole frame on one axis, so the choice is one-dimensional: an edge-energy
    profile of a small copy of the frame along the other axis, and the window of the crop's length
    with the largest sum. A window must beat the centre by ``_SMART_MARGIN`` to move the crop, so a
    flat or evenly busy picture keeps its centre crop.
    """
    left, top, right, bottom = plan.crop
    full_w, full_h = source.size[0] / factor, source.size[1] / factor
    horizontal = (right - left) < full_w - 1  # the crop slides left-right
    if not horizontal and (bottom - top) >= full_h - 1:
        return plan  # the crop is the whole frame: nothing to choose
    small = source.convert("L")
    small.thumbnail((_SMART_SIDE, _SMART_SIDE), Image.Resampling.BOX)
    edges = small.filter(ImageFilter.FIND_EDGES)
    width, height = edges.size
    pixels = edges.tobytes()  # one byte per pixel (mode L)
    if horizontal:
        profile = [sum(pixels[x + y * width] for y in range(height)) for x in range(width)]
        window = max(1, round((right - left) / full_w * width))
    else:
        profile = [sum(pixels[y * width : (y + 1) * width]) for y in range(height)]
        window = max(1, round((bottom - top) / full_h * height))
    sums = [sum(profile[:window])]
    for start in range(1, len(profile) - window + 1):
        sums.append(sums[-1] - profile[start - 1] + profile[start + window - 1])
    centre = (len(sums) - 1) // 2
    best = max(range(len(sums)), key=lambda i: sums[i])
    if sums[best] <= sums[centre] * _SMART_MARGIN:
        return plan
    scale = (full_w / width) if horizontal else (full_h / height)
    if horizontal:
        shift = min(max(best * scale, 0.0), full_w - (right - left)) - left
        crop = (left + shift, top, right + shift, bottom)
    else:
        shift = min(max(best * scale, 0.0), full_h - (bottom - top)) - top
        crop = (left, top + shift, right, bottom + shift)
    return _Plan(plan.spec, plan.size, crop)


def _resize(frame: _Frame, plan: _Plan) -> Image.Image:
    source, factor = frame.image, frame.scale
    origin_x, origin_y = frame.region[0], frame.region[1]
    left, top, right, bottom = plan.crop
    left, right = (left - origin_x) * factor, (right - origin_x) * factor
    top, bottom = (top - origin_y) * factor, (bottom - origin_y) * factor
    box = (
        max(left, 0.0),
        max(top, 0.0),
        min(right, float(source.size[0])),
        min(bottom, float(source.size[1])),
    )
    if plan.size == source.size and box == (0.0, 0.0, float(source.size[0]), float(source.size[1])):
        return source
    if abs(box[2] - box[0] - plan.size[0]) < 0.5 and abs(box[3] - box[1] - plan.size[1]) < 0.5:
        # Already at the right scale (a crop of a frame made for this size): cut, do not resample.
        x, y = (
            min(round(box[0]), source.size[0] - plan.size[0]),
            min(round(box[1]), source.size[1] - plan.size[1]),
        )
        return source.crop((x, y, x + plan.size[0], y + plan.size[1]))
    return source.resize(plan.size, _RESAMPLE, box=box, reducing_gap=_REDUCING_GAP)


def _encode_all(image: Image.Image, spec: VariantSpec, options: ResizeOptions) -> list[RenderedVariant]:
    """The variant in its own format, then in each alternate (unless the frame is over the cap), or
    the part of that ``options.encodings`` asks for."""
    return [_encode(image, spec.name, encoding, options) for encoding in _wanted(spec, options, image.size)]


def _wanted(spec: VariantSpec, options: ResizeOptions, size: tuple[int, int]) -> tuple[Alternate, ...]:
    encodings = spec.encodings
    if size[0] * size[1] > ALTERNATE_MAX_PIXELS:
        encodings = encodings[:1]
    if options.encodings is Encodings.PRIMARY:
        return encodings[:1]
    if options.encodings is Encodings.ALTERNATES:
        return encodings[1:]
    return encodings


def _encode(image: Image.Image, name: str, encoding: Alternate, options: ResizeOptions) -> RenderedVariant:
    if encoding.format is OutputFormat.JPEG and image.mode == "RGBA":
        flat = Image.new("RGB", image.size, options.background_rgb)
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    elif encoding.format is not OutputFormat.JPEG and image.mode == "L":
        image = image.convert("RGB")
    image.info = {}  # no EXIF, GPS, XMP, ICC or comment ever leaves the pipeline
    buffer = io.BytesIO()
    encode_frame(image, encoding, buffer)
    return RenderedVariant(
        name=name, width=image.size[0], height=image.size[1], format=encoding.format, data=buffer.getvalue()
    )


def encode_frame(image: Image.Image, encoding: Alternate, out: IO[bytes]) -> None:
    """The one encoder setting per format (the benchmarks' floor and formats table use it too).

    AVIF runs on one thread at speed 8: a Lambda below 1,769 MB has less than one vCPU, so threads buy
    nothing there, and speed 8 against Pillow's default 6 costs about 8% more bytes for a third of the
    time at equal SSIM (``make bench``, formats table).

    JPEG always has optimised Huffman tables (2.5-6% fewer bytes, same pixels, no slower to decode),
    and frames of a post's size are progressive too (6% fewer than baseline; a thumbnail comes out
    larger that way): the bytes are paid on every view, the encode once (bench/jpeg_options_bench.py).
    """
    if encoding.format is OutputFormat.JPEG:
        progressive = image.size[0] * image.size[1] >= JPEG_PROGRESSIVE_MIN_PIXELS
        image.save(out, "JPEG", quality=encoding.quality, optimize=True, progressive=progressive, exif=b"")
    elif encoding.format is OutputFormat.WEBP:
        image.save(out, "WEBP", quality=encoding.quality, method=4, exif=b"", xmp=b"")
    else:
        image.save(out, "AVIF", quality=encoding.quality, speed=AVIF_SPEED, max_threads=1, exif=b"", xmp=b"")
