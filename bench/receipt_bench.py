"""What reading the privacy receipt and provenance costs per photo, beside the open it rides on.

For every corpus file (and a JPEG carrying a C2PA manifest and an XMP digital source type): ``open``
is Pillow opening the header, as the core does anyway; ``open+receipt`` adds
``photo_resize.metadata.read_receipt``. Each round runs both in a random order; cells are medians.
The difference is what the receipt adds to the worker's time (target: a few ms per photo).
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pillow_heif
from local_runner import marked as made
from photo_contract.receipt import ReceiptPolicy
from photo_resize.metadata import read_receipt
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
POLICY = ReceiptPolicy()


def _open(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.getexif()


def _open_and_read(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        read_receipt(data, image, POLICY, orientation=1, colour_profile=None)


def _ms(fn: Callable[[bytes], None], data: bytes) -> float:
    start = time.perf_counter()
    fn(data)
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    pillow_heif.register_heif_opener()
    files = {p.name: p.read_bytes() for p in sorted(CORPUS.glob("*/*")) if p.suffix.lower() != ".md"}
    store = made.manifest_store(source_type="trainedAlgorithmicMedia")
    files["made: jpeg + C2PA (APP11)"] = made.jpeg_with_manifest(store)
    files["made: jpeg + XMP source type"] = made.jpeg_with_xmp("trainedAlgorithmicMedia")
    methods = {"open": _open, "open+receipt": _open_and_read}
    print(f"{'file':48} {'open ms':>8} {'+receipt ms':>11} {'receipt ms':>10}")
    added = []
    for name, data in files.items():
        times: dict[str, list[float]] = {m: [] for m in methods}
        for _ in range(args.rounds):
            for method in random.sample(list(methods), len(methods)):
                times[method].append(_ms(methods[method], data))
        base, full = statistics.median(times["open"]), statistics.median(times["open+receipt"])
        added.append(full - base)
        print(f"{name[:48]:48} {base:8.2f} {full:11.2f} {full - base:10.2f}")
    print(
        f"receipt: median {statistics.median(added):.2f} ms, max {max(added):.2f} ms over {len(added)} files"
    )
    held = max(added) <= 3.0
    print(f"target receipt <= 3 ms on every file: {'met' if held else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
