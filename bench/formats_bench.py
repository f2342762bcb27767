"""Output formats at equal visual quality: encode ms and bytes per feed variant, JPEG vs WebP vs AVIF.

Metric: SSIM on luma (BT.601, Pillow's "L"), scikit-image's ``structural_similarity`` with Wang et al.'s
settings (Gaussian window, sigma 1.5, population covariance), of the decoded output against the exact
frame that was encoded. "Equal quality" means: for each variant geometry, the lowest quality setting of a
format whose mean SSIM over the photos reaches JPEG's at the variant's configured quality (bisection).

Then every (photo, geometry, format) encode is timed with the core's own encoder (``encode_frame``) in a
shuffled order each round; a cell is the median of its rounds. Ratios are against JPEG in the same run.
Writes ``bench/results/formats.json`` (the chosen qualities and the table).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from local_runner.inputs import generated_photos
from photo_contract.variants import FEED_VARIANTS, Alternate, FitMode, OutputFormat, VariantSpec
from photo_resize import core as resize_core
from photo_resize.core import encode_frame
from PIL import Image, ImageOps
from skimage.metrics import structural_similarity

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
RESULTS = Path(__file__).resolve().parent / "results" / "formats.json"


@dataclass(frozen=True)
class Candidate:
    label: str
    format: OutputFormat
    avif_speed: int | None = None  # None: the core's own setting


CANDIDATES = (
    Candidate("jpeg", OutputFormat.JPEG),
    Candidate("webp m4", OutputFormat.WEBP),
    Candidate(f"avif s{resize_core.AVIF_SPEED}", OutputFormat.AVIF),
    # The speeds either side of the choice: Pillow's default, and the next faster one.
    Candidate("avif s6", OutputFormat.AVIF, avif_speed=6),
    Candidate("avif s9", OutputFormat.AVIF, avif_speed=9),
)


def encode(frame: Image.Image, candidate: Candidate, quality: int) -> bytes:
    out = io.BytesIO()
    if candidate.avif_speed is None:
        encode_frame(frame, Alternate(candidate.format, quality), out)
    else:
        frame.save(out, "AVIF", quality=quality, speed=candidate.avif_speed, max_threads=1)
    return out.getvalue()


def luma(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float64)


def ssim(reference: np.ndarray, data: bytes) -> float:
    decoded = luma(Image.open(io.BytesIO(data)))
    return float(
        structural_similarity(
            reference, decoded, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
        )
    )


def frame_for(photo: bytes, spec: VariantSpec) -> Image.Image:
    """The upright sRGB frame of a variant's geometry, made carefully (LANCZOS from the full decode)."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(photo)))
    assert image is not None
    image = image.convert("RGB")
    if spec.mode is FitMode.FIT:
        scale = min(1.0, spec.width / image.width)
        return image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS
        )
    assert spec.height is not None
    return ImageOps.fit(image, (spec.width, spec.height), Image.Resampling.LANCZOS)


def mean_ssim(frames: list[tuple[Image.Image, np.ndarray]], candidate: Candidate, quality: int) -> float:
    return statistics.fmean(ssim(reference, encode(frame, candidate, quality)) for frame, reference in frames)


def matching_quality(
    frames: list[tuple[Image.Image, np.ndarray]], candidate: Candidate, target: float
) -> int:
    """The lowest quality whose mean SSIM reaches the target (100 if none does)."""
    return matching_quality_with(frames, lambda frame, q: encode(frame, candidate, q), target)


def matching_quality_with(
    frames: list[tuple[Image.Image, np.ndarray]], encoder: Callable[[Image.Image, int], bytes], target: float
) -> int:
    """The lowest quality whose mean SSIM, encoded by ``encoder``, reaches the target (bisection)."""
    low, high = 1, 100
    while low < high:
        middle = (low + high) // 2
        if statistics.fmean(ssim(reference, encoder(frame, middle)) for frame, reference in frames) >= target:
            high = middle
        else:
            low = middle + 1
    return low


def camera_photos(limit: int = 0) -> tuple[dict[str, bytes], str]:
    """The corpus's camera JPEGs by name (the first ``limit``; 0: all), or generated ones without it."""
    photos = {p.name: p.read_bytes() for p in sorted((CORPUS / "camera").glob("*.jpg"))}
    source = f"{len(photos)} camera photos of {CORPUS}"
    if not photos:
        photos = {f.name: f.data for f in generated_photos() if f.name.endswith(".jpg")}
        source = f"{len(photos)} generated photos (no ../shared corpus: the numbers mean less)"
    if limit:
        photos = dict(list(photos.items())[:limit])
    return photos, source


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N photos (0: all)")
    args = parser.parse_args()

    photos, source = camera_photos(args.limit)
    print(f"formats at equal SSIM, {source}; {args.rounds} shuffled rounds, medians", flush=True)

    frames = {
        spec.name: [(frame, luma(frame)) for frame in (frame_for(data, spec) for data in photos.values())]
        for spec in FEED_VARIANTS
    }
    qualities: dict[tuple[str, str], int] = {}
    quality_ssim: dict[tuple[str, str], float] = {}
    for spec in FEED_VARIANTS:
        jpeg = CANDIDATES[0]
        qualities[spec.name, jpeg.label] = spec.quality
        target = quality_ssim[spec.name, jpeg.label] = mean_ssim(frames[spec.name], jpeg, spec.quality)
        for candidate in CANDIDATES[1:]:
            q = qualities[spec.name, candidate.label] = matching_quality(frames[spec.name], candidate, target)
            quality_ssim[spec.name, candidate.label] = mean_ssim(frames[spec.name], candidate, q)
        print(f"  matched {spec.name}: JPEG q{spec.quality} SSIM {target:.4f}", flush=True)

    cells = [
        (spec.name, index, candidate)
        for spec in FEED_VARIANTS
        for index in range(len(photos))
        for candidate in CANDIDATES
    ]
    times: dict[tuple[str, int, str], list[float]] = {}
    sizes: dict[tuple[str, int, str], int] = {}
    for _ in range(args.rounds):
        random.shuffle(cells)
        for name, index, candidate in cells:
            frame = frames[name][index][0]
            quality = qualities[name, candidate.label]
            start = time.perf_counter()
            data = encode(frame, candidate, quality)
            times.setdefault((name, index, candidate.label), []).append(time.perf_counter() - start)
            sizes[name, index, candidate.label] = len(data)

    rows = []
    header = f"{'variant':<9} {'format':<8} {'quality':>7} {'SSIM':>7} {'ms':>7} {'× jpeg':>7} {'KiB':>7} {'× jpeg':>7}"
    print(header)
    for spec in FEED_VARIANTS:
        for candidate in CANDIDATES:
            ms = [statistics.median(times[spec.name, i, candidate.label]) * 1000 for i in range(len(photos))]
            jpeg_ms = [statistics.median(times[spec.name, i, "jpeg"]) * 1000 for i in range(len(photos))]
            size = [sizes[spec.name, i, candidate.label] for i in range(len(photos))]
            jpeg_size = [sizes[spec.name, i, "jpeg"] for i in range(len(photos))]
            row = {
                "variant": spec.name,
                "format": candidate.label,
                "quality": qualities[spec.name, candidate.label],
                "ssim": round(quality_ssim[spec.name, candidate.label], 4),
                "encode_ms": round(statistics.median(ms), 2),
                "ms_vs_jpeg": round(statistics.median(a / b for a, b in zip(ms, jpeg_ms, strict=True)), 2),
                "kib": round(statistics.median(size) / 1024, 1),
                "bytes_vs_jpeg": round(sum(size) / sum(jpeg_size), 2),
            }
            rows.append(row)
            print(
                f"{row['variant']:<9} {row['format']:<8} {row['quality']:>7} {row['ssim']:>7.4f} "
                f"{row['encode_ms']:>7.1f} {row['ms_vs_jpeg']:>7.2f} {row['kib']:>7.1f} {row['bytes_vs_jpeg']:>7.2f}"
            )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).date().isoformat(),
                "photos": source,
                "metric": "SSIM on luma, Gaussian sigma 1.5 (scikit-image)",
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
