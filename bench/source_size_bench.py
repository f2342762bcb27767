"""What a phone saves by downscaling to GET /v1/upload-config's useful source before uploading: bytes
per corpus JPEG, full size against the useful size re-encoded at quality 90 (what phone encoders use),
and how close the w1080 variant made from each stays (mean absolute pixel difference, 0-255).

Run: python bench/source_size_bench.py [corpus dir]  (the demo's own inputs without ../shared)."""

from __future__ import annotations

import io
import statistics
import sys
from pathlib import Path

from local_runner.inputs import CORPUS, demo_files
from photo_contract.variants import FEED_VARIANTS, useful_source
from photo_resize import ResizeOptions, resize_image
from PIL import Image, ImageChops, ImageOps, ImageStat


def _w1080(data: bytes) -> Image.Image:
    result = resize_image(data, ResizeOptions(variants=FEED_VARIANTS[:1]))
    return Image.open(io.BytesIO(result.variants[0].data)).convert("RGB")


def main(argv: list[str]) -> int:
    corpus = Path(argv[0]) if argv else CORPUS
    files, source = demo_files(corpus)
    useful = useful_source(FEED_VARIANTS)
    print(f"inputs: {source}; useful source {useful.width}x{useful.height}")
    print(f"{'photo':<40} {'full':>10} {'useful':>10} {'saved':>6} {'w1080 diff':>10}")
    saved, diffs = [], []
    for f in files:
        if f.content_type != "image/jpeg" or f.expect_rejected:
            continue
        picture = ImageOps.exif_transpose(Image.open(io.BytesIO(f.data)))
        scale = useful.scale(*picture.size)
        if scale >= 1:
            continue
        size = (round(picture.width * scale), round(picture.height * scale))
        out = io.BytesIO()
        picture.convert("RGB").resize(size, Image.Resampling.LANCZOS).save(out, "JPEG", quality=90)
        small = out.getvalue()
        full_v, small_v = _w1080(f.data), _w1080(small)
        diff = statistics.fmean(
            ImageStat.Stat(ImageChops.difference(full_v, small_v.resize(full_v.size))).mean
        )
        saved.append(1 - len(small) / len(f.data))
        diffs.append(diff)
        print(f"{f.name[:40]:<40} {len(f.data):>10,} {len(small):>10,} {saved[-1]:>6.0%} {diff:>10.2f}")
    if saved:
        print(
            f"median saved {statistics.median(saved):.0%}, median w1080 difference {statistics.median(diffs):.2f}/255"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
