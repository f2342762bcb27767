"""Resize core vs the floor vs the tutorial way, side by side in one process, on the camera photos.

- floor:    what no resizer can avoid: the DCT-scaled decode the core asks for, plus encoding the three
            outputs (their pixels prepared beforehand, so no resize is timed);
- floor+resample: the floor plus the one resampling no correct resizer can skip: each output's pixels
            area-averaged (BOX, the cheapest filter that does not alias) from that decode, once;
- core:     photo_resize.resize_image (one draft decode, each variant from the smallest intermediate);
- tuned:    the reference tuned-Pillow pipeline, what Pillow's own fast path does (``Image.thumbnail``'s
            choices): a DCT-scaled decode for the largest variant, ``exif_transpose``, then every variant
            from that frame with BICUBIC and ``reducing_gap=2``, the same output geometry and encoder;
- tutorial: full decode, exif_transpose, LANCZOS resize of the full image for every variant.

The variants are the feed's in JPEG only: this measures the resize path; what the AVIF alternates add
(encode ms per variant) is the formats table's (bench/formats_bench.py).

Photo by photo, each round runs the methods in a new random order, and each cell is the median of the
rounds, so a noisy neighbour slows every method alike. Peak RSS is measured in a fresh subprocess per
method on the 22 MP photo.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from photo_resize import FEED_VARIANTS as FEED_WITH_ALTERNATES
from photo_resize import FitMode, ResizeOptions, resize_image
from photo_resize.core import encode_frame
from PIL import Image, ImageOps

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
FEED_VARIANTS = tuple(replace(spec, alternates=()) for spec in FEED_WITH_ALTERNATES)
OPTIONS = ResizeOptions(variants=FEED_VARIANTS)
BIG = "canon-eos-5d-mk3_22mp.jpg"
RESULTS = Path(__file__).resolve().parent / "results" / "resize.json"


def core(data: bytes) -> None:
    resize_image(data, OPTIONS)


def tutorial(data: bytes) -> None:
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    assert image is not None
    image = image.convert("RGB")
    for spec in FEED_VARIANTS:
        if spec.mode is FitMode.COVER:
            assert spec.height is not None
            out = ImageOps.fit(image, (spec.width, spec.height), Image.Resampling.LANCZOS)
        else:
            scale = min(1.0, spec.width / image.width)
            out = image.resize(
                (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS
            )
        out.save(io.BytesIO(), "JPEG", quality=spec.quality)


def make_tuned(data: bytes) -> Callable[[bytes], None]:
    """Pillow used well, variant by variant from one DCT-scaled, upright decode."""
    source = upright_size(data)
    # The core's output sizes, each from the largest centred box of its shape (the core's crops for
    # these variants): only the method differs.
    geometry = []
    for spec, variant in zip(FEED_VARIANTS, resize_image(data, OPTIONS).variants, strict=True):
        aspect = variant.width / variant.height
        crop_w, crop_h = min(source[0], source[1] * aspect), min(source[1], source[0] / aspect)
        left, top = (source[0] - crop_w) / 2, (source[1] - crop_h) / 2
        geometry.append((spec, (variant.width, variant.height), (left, top, left + crop_w, top + crop_h)))
    largest_scale = max(size[0] / (crop[2] - crop[0]) for _, size, crop in geometry)

    def tuned(data: bytes) -> None:
        image = Image.open(io.BytesIO(data))
        image.draft(
            "RGB", (round(image.size[0] * largest_scale) + 1, round(image.size[1] * largest_scale) + 1)
        )
        upright = ImageOps.exif_transpose(image)
        assert upright is not None
        factor = upright.size[0] / source[0]  # decoded pixels per source pixel
        for spec, size, crop in geometry:
            box = (crop[0] * factor, crop[1] * factor, crop[2] * factor, crop[3] * factor)
            out = upright.resize(size, Image.Resampling.BICUBIC, box=box, reducing_gap=2.0)
            encode_frame(out, spec.encodings[0], io.BytesIO())

    return tuned


def swaps_axes(data: bytes) -> bool:
    """Whether the photo's EXIF orientation turns it by 90°."""
    with Image.open(io.BytesIO(data)) as image:
        return image.getexif().get(0x0112, 1) in (5, 6, 7, 8)


def upright_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        size = image.size
    return (size[1], size[0]) if swaps_axes(data) else size


def make_floor(data: bytes) -> Callable[[bytes], None]:
    """Decode at the scale the core picks, then encode outputs whose pixels were made beforehand."""
    result = resize_image(data, OPTIONS)
    outputs = [
        (Image.open(io.BytesIO(v.data)).convert("RGB"), spec)
        for v, spec in zip(result.variants, FEED_VARIANTS, strict=True)
    ]
    for image, _ in outputs:
        image.load()
    w1080 = result.variants[0]
    need = (w1080.height, w1080.width) if swaps_axes(data) else (w1080.width, w1080.height)

    def floor(data: bytes) -> None:
        image = Image.open(io.BytesIO(data))
        image.draft("RGB", (need[0] + 1, need[1] + 1))
        image.load()
        for out, spec in outputs:
            encode_frame(out, spec.encodings[0], io.BytesIO())

    return floor


def make_floor_resampling(data: bytes) -> Callable[[bytes], None]:
    """The floor, with each output made from the DCT-scaled decode by one BOX resize (in the stored
    orientation: turning a small output costs next to nothing) and then encoded."""
    result = resize_image(data, OPTIONS)
    turned = swaps_axes(data)
    sizes = [
        ((v.height, v.width) if turned else (v.width, v.height), spec)
        for v, spec in zip(result.variants, FEED_VARIANTS, strict=True)
    ]
    need = sizes[0][0]

    def floor_resample(data: bytes) -> None:
        image = Image.open(io.BytesIO(data))
        image.draft("RGB", (need[0] + 1, need[1] + 1))
        image = image.convert("RGB")
        for size, spec in sizes:
            encode_frame(image.resize(size, Image.Resampling.BOX), spec.encodings[0], io.BytesIO())

    return floor_resample


def timed(fn: Callable[[bytes], None], data: bytes) -> float:
    start = time.perf_counter()
    fn(data)
    return time.perf_counter() - start


def vm_hwm_mib() -> float:
    """This process's peak resident set so far, from /proc (kB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def peak_rss_mib(method: str, photo: Path) -> tuple[float, float]:
    """(RSS after imports, peak RSS) of a fresh process running ``method`` once on ``photo``."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so a child would report its parent's peak.
    code = (
        f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import resize_bench as b\n"
        "base = b.vm_hwm_mib()\n"
        f"data = open({str(photo)!r}, 'rb').read()\n"
        f"b.{method}(data)\n"
        "print(json.dumps([base, b.vm_hwm_mib()]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    base, peak = json.loads(out)
    return base, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    photos = sorted((CORPUS / "camera").glob("*.jpg"))
    if not photos:
        print(f"no camera photos under {CORPUS}: clone photo-pipeline beside ../shared", file=sys.stderr)
        return 2

    rows = []
    for photo in photos:
        data = photo.read_bytes()
        methods = {
            "floor": make_floor(data),
            "floor_resample": make_floor_resampling(data),
            "core": core,
            "tuned": make_tuned(data),
            "tutorial": tutorial,
        }
        times: dict[str, list[float]] = {name: [] for name in methods}
        for fn in methods.values():
            fn(data)  # warm-up
        for _ in range(args.rounds):
            order = list(methods)
            random.shuffle(order)
            for name in order:
                times[name].append(timed(methods[name], data))
        med = {name: statistics.median(t) for name, t in times.items()}
        rows.append((photo.name, med))

    print(
        f"{'photo':50} {'floor ms':>9} {'core ms':>8} {'tuned ms':>9} {'tutorial ms':>11} "
        f"{'core/floor':>10} {'tuned/core':>10} {'tutorial/core':>13}"
    )
    for name, med in rows:
        print(
            f"{name:50} {med['floor'] * 1000:9.0f} {med['core'] * 1000:8.0f} {med['tuned'] * 1000:9.0f} "
            f"{med['tutorial'] * 1000:11.0f} {med['core'] / med['floor']:10.2f} "
            f"{med['tuned'] / med['core']:10.2f} {med['tutorial'] / med['core']:13.1f}"
        )
    total = {m: sum(med[m] for _, med in rows) for m in ("floor", "core", "tuned", "tutorial")}
    ratios = [med["core"] / med["floor"] for _, med in rows]
    geomean = statistics.geometric_mean(ratios)
    print(
        f"{'ALL 8 (sum of medians)':50} {total['floor'] * 1000:9.0f} {total['core'] * 1000:8.0f} "
        f"{total['tuned'] * 1000:9.0f} {total['tutorial'] * 1000:11.0f} {total['core'] / total['floor']:10.2f} "
        f"{total['tuned'] / total['core']:10.2f} {total['tutorial'] / total['core']:13.1f}"
    )
    print(f"{'geometric mean of core/floor':50} {geomean:49.2f}")
    resampled = [med["core"] / med["floor_resample"] for _, med in rows]
    resampled_geomean = statistics.geometric_mean(resampled)
    print("core against the floor that includes the one resampling (floor+resample):")
    for (name, med), ratio in zip(rows, resampled, strict=True):
        print(f"  {name:48} {med['floor_resample'] * 1000:6.0f} ms  core/floor+resample {ratio:5.2f}")
    print(f"  {'geometric mean':48} {resampled_geomean:34.2f}")
    print()
    print(f"peak RSS on {BIG} (fresh process each):")
    peaks = {}
    for method in ("core", "tutorial"):
        base, peak = peak_rss_mib(method, CORPUS / "camera" / BIG)
        peaks[method] = peak
        print(f"  {method:9} {peak:6.1f} MiB peak ({base:.1f} MiB after imports)")
    core_peak = peaks["core"]
    checks = {
        "every photo core <= 1.6x floor": max(ratios) <= 1.6,
        "geometric mean <= 1.4x": geomean <= 1.4,
        "every photo core <= 1.6x floor+resample": max(resampled) <= 1.6,
        "geometric mean <= 1.4x floor+resample": resampled_geomean <= 1.4,
        "ahead of tuned Pillow on every photo": all(med["tuned"] > med["core"] for _, med in rows),
        "tutorial >= 5x core": total["tutorial"] / total["core"] >= 5,
        "core peak <= 48 MiB": core_peak <= 48,
    }
    print()
    for check, held in checks.items():
        print(f"target {check}: {'met' if held else 'NOT met'}")
    # For the cost model (make cost): the core's milliseconds per photo on this machine.
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).date().isoformat(),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared)",
                "photos": len(rows),
                "core_ms_per_photo": round(total["core"] * 1000 / len(rows), 1),
                "floor_ms_per_photo": round(total["floor"] * 1000 / len(rows), 1),
                "core_peak_rss_mib": round(core_peak, 1),
                "core_over_floor_geomean": round(geomean, 3),
                "core_over_floor_resample_geomean": round(resampled_geomean, 3),
                "per_photo": {name: {m: round(t * 1000, 1) for m, t in med.items()} for name, med in rows},
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
