"""What smart crop costs: the core with the feed's square thumbnail centre-cropped against the same with
it smart-cropped, side by side on the same photos, random order each round, medians."""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

from local_runner.inputs import demo_files
from photo_contract.variants import FEED_VARIANTS, FitMode, VariantSpec
from photo_resize import ResizeOptions, resize_image

ROUNDS = 7
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def main() -> None:
    files, source = demo_files(CORPUS)
    photos = [f for f in files if not f.expect_rejected and f.content_type == "image/jpeg"][:8]
    smart = tuple(
        VariantSpec(name=v.name, width=v.width, height=v.height, mode=FitMode.SMART)
        if v.mode is FitMode.COVER
        else v
        for v in FEED_VARIANTS
    )
    modes = {"centre": ResizeOptions(variants=FEED_VARIANTS), "smart": ResizeOptions(variants=smart)}
    samples: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(ROUNDS):
        order = list(modes)
        random.shuffle(order)
        for name in order:
            started = time.perf_counter()
            for photo in photos:
                resize_image(photo.data, modes[name])
            samples[name].append((time.perf_counter() - started) * 1000 / len(photos))
    centre, chosen = statistics.median(samples["centre"]), statistics.median(samples["smart"])
    print(
        f"smart crop on {len(photos)} JPEGs ({source}): centre {centre:.1f} ms, smart {chosen:.1f} ms per photo"
    )
    print(f"  smart/centre = {chosen / centre:.3f} (+{chosen - centre:.1f} ms), medians of {ROUNDS} rounds")


if __name__ == "__main__":
    main()
