"""JPEG encoder options per feed variant at equal SSIM: bytes, encode ms and decode ms, side by side.

Candidates against the old baseline (quality = the variant's, ``optimize=False, progressive=False``,
4:2:0): optimised Huffman tables, progressive (with optimised tables), and 4:4:4 chroma at the quality
whose mean luma SSIM matches the baseline's (bisection; luma SSIM cannot see what 4:4:4 buys in colour,
so it is charged only for its bytes). Optimised tables and progressive scans are lossless re-codings:
the decoded pixels are the baseline's, their SSIM is equal by construction (checked). Decode is
Pillow's libjpeg-turbo, the library Chromium and Android decode JPEG with: a browser-class decoder.

Every (photo, variant, candidate) encode and decode is timed in a shuffled order each round; a cell is
the median of its rounds, ratios are against the baseline of the same photo and round set. Then the
cost model prices each option: bytes saved per million views (CloudFront, first tier) against the
extra encode per million uploads (the resize Lambda at dev's 1024 MB arm64). Prints the table and the
settings the core uses (``photo_resize.core.encode_frame``); writes ``bench/results/jpeg_options.json``.

    .venv/bin/python bench/jpeg_options_bench.py [--rounds 5] [--limit N]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from formats_bench import camera_photos, frame_for, luma, matching_quality_with, ssim
from photo_contract.variants import FEED_VARIANTS, Alternate, OutputFormat
from photo_resize import core as resize_core
from PIL import Image

RESULTS = Path(__file__).resolve().parent / "results" / "jpeg_options.json"
DELIVERY_USD_PER_GB = 0.085  # CloudFront, Europe and North America, first tier (prices.toml)
LAMBDA_USD_PER_MS = 1024 / 1024 * 0.0000133334 / 1000  # 1024 MB arm64


@dataclass(frozen=True)
class Option:
    label: str
    optimize: bool = False
    progressive: bool = False
    subsampling: int = 2  # Pillow: 0 = 4:4:4, 2 = 4:2:0
    match_quality: bool = False  # re-found at equal SSIM (pixels change); else the variant's quality


OPTIONS = (
    Option("baseline"),
    Option("optimized", optimize=True),
    Option("progressive", optimize=True, progressive=True),
    Option("4:4:4 optimized", optimize=True, subsampling=0, match_quality=True),
)


def encode(frame: Image.Image, option: Option, quality: int) -> bytes:
    out = io.BytesIO()
    frame.save(
        out,
        "JPEG",
        quality=quality,
        optimize=option.optimize,
        progressive=option.progressive,
        subsampling=option.subsampling,
    )
    return out.getvalue()


def core_encode(frame: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    resize_core.encode_frame(frame, Alternate(OutputFormat.JPEG, quality), out)
    return out.getvalue()


def decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.load()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N photos (0: all)")
    args = parser.parse_args()
    photos, source = camera_photos(args.limit)
    print(f"JPEG options at equal SSIM, {source}; {args.rounds} shuffled rounds, medians", flush=True)

    frames = {spec.name: [frame_for(data, spec) for data in photos.values()] for spec in FEED_VARIANTS}
    qualities: dict[tuple[str, str], int] = {}
    for spec in FEED_VARIANTS:
        pairs = [(frame, luma(frame)) for frame in frames[spec.name]]
        target = statistics.fmean(ssim(r, encode(f, OPTIONS[0], spec.quality)) for f, r in pairs)
        for option in OPTIONS:
            qualities[spec.name, option.label] = (
                matching_quality_with(pairs, lambda f, q, o=option: encode(f, o, q), target)
                if option.match_quality
                else spec.quality
            )
        # Lossless re-codings decode to the baseline's pixels.
        for option in OPTIONS[1:3]:
            same = [
                luma(Image.open(io.BytesIO(encode(f, option, spec.quality)))).tolist()
                == luma(Image.open(io.BytesIO(encode(f, OPTIONS[0], spec.quality)))).tolist()
                for f in frames[spec.name][:2]
            ]
            assert all(same), f"{option.label} changed the pixels of {spec.name}"

    cells = [
        (spec.name, i, option) for spec in FEED_VARIANTS for i in range(len(photos)) for option in OPTIONS
    ]
    encode_s: dict[tuple[str, int, str], list[float]] = {}
    decode_s: dict[tuple[str, int, str], list[float]] = {}
    sizes: dict[tuple[str, int, str], int] = {}
    for _ in range(args.rounds):
        random.shuffle(cells)
        for name, index, option in cells:
            frame, quality = frames[name][index], qualities[name, option.label]
            start = time.perf_counter()
            data = encode(frame, option, quality)
            middle = time.perf_counter()
            decode(data)
            end = time.perf_counter()
            encode_s.setdefault((name, index, option.label), []).append(middle - start)
            decode_s.setdefault((name, index, option.label), []).append(end - middle)
            sizes[name, index, option.label] = len(data)

    rows = _rows(photos, qualities, encode_s, decode_s, sizes)
    chosen = _chosen(frames, rows)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).date().isoformat(),
                "photos": source,
                "command": "bench/jpeg_options_bench.py",
                "rows": rows,
                "core": chosen,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")
    return 0


def _rows(
    photos: dict[str, bytes],
    qualities: dict[tuple[str, str], int],
    encode_s: dict[tuple[str, int, str], list[float]],
    decode_s: dict[tuple[str, int, str], list[float]],
    sizes: dict[tuple[str, int, str], int],
) -> list[dict[str, Any]]:
    n = range(len(photos))
    print(
        f"{'variant':<9} {'option':<16} {'q':>3} {'KiB':>7} {'× base':>7} {'enc ms':>7} {'× base':>7} "
        f"{'dec ms':>7} {'× base':>7} {'USD/M views':>11} {'USD/M up':>9}"
    )
    rows = []
    for spec in FEED_VARIANTS:
        base = spec.name, "baseline"
        for option in OPTIONS:
            key = spec.name, option.label

            def med(times: dict[tuple[str, int, str], list[float]], k: tuple[str, str]) -> list[float]:
                return [statistics.median(times[k[0], i, k[1]]) * 1000 for i in n]

            size = [sizes[spec.name, i, option.label] for i in n]
            base_size = [sizes[spec.name, i, "baseline"] for i in n]
            enc, base_enc = med(encode_s, key), med(encode_s, base)
            dec, base_dec = med(decode_s, key), med(decode_s, base)
            saved_kib = statistics.median(b - s for s, b in zip(size, base_size, strict=True)) / 1024
            row = {
                "variant": spec.name,
                "option": option.label,
                "quality": qualities[key],
                "kib": round(statistics.median(size) / 1024, 2),
                "bytes_vs_base": round(sum(size) / sum(base_size), 3),
                "encode_ms": round(statistics.median(enc), 2),
                "encode_vs_base": round(
                    statistics.median(a / b for a, b in zip(enc, base_enc, strict=True)), 2
                ),
                "decode_ms": round(statistics.median(dec), 2),
                "decode_vs_base": round(
                    statistics.median(a / b for a, b in zip(dec, base_dec, strict=True)), 2
                ),
                # Delivery saved per million views of this variant, and encode added per million uploads.
                "usd_saved_per_million_views": round(saved_kib * 1e6 / 1024 / 1024 * DELIVERY_USD_PER_GB, 3),
                "usd_added_per_million_uploads": round(
                    (statistics.median(enc) - statistics.median(base_enc)) * 1e6 * LAMBDA_USD_PER_MS, 3
                ),
            }
            rows.append(row)
            print(
                f"{row['variant']:<9} {row['option']:<16} {row['quality']:>3} {row['kib']:>7.1f} "
                f"{row['bytes_vs_base']:>7.3f} {row['encode_ms']:>7.2f} {row['encode_vs_base']:>7.2f} "
                f"{row['decode_ms']:>7.2f} {row['decode_vs_base']:>7.2f} "
                f"{row['usd_saved_per_million_views']:>11.3f} {row['usd_added_per_million_uploads']:>9.3f}"
            )
    return rows


def _chosen(frames: dict[str, list[Image.Image]], rows: list[dict[str, Any]]) -> dict[str, str]:
    """Which option the core's own encoder reproduces for each variant (byte-identical output)."""
    chosen = {}
    for spec in FEED_VARIANTS:
        frame = frames[spec.name][0]
        ours = core_encode(frame, spec.quality)
        match = [o.label for o in OPTIONS if not o.match_quality and encode(frame, o, spec.quality) == ours]
        chosen[spec.name] = match[0] if match else "other"
    print("the core encodes: " + ", ".join(f"{name} {label}" for name, label in chosen.items()))
    return chosen


if __name__ == "__main__":
    sys.exit(main())
