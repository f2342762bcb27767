"""Resize every file of ../shared/corpus through the core and write the variants to demo-output/."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from photo_resize import ImageRejected, ResizeOptions, resize_image

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"


def main() -> int:
    out = REPO / "demo-output"
    out.mkdir(exist_ok=True)
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".md")
    if not files:
        print(f"no corpus at {CORPUS}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    for path in files:
        t = time.perf_counter()
        try:
            result = resize_image(path.read_bytes(), ResizeOptions())
        except ImageRejected as rejected:
            print(f"{path.name:50} rejected: {rejected.reason.value}")
            continue
        for variant in result.variants:
            (out / f"{path.stem}.{variant.name}.{variant.format.extension}").write_bytes(variant.data)
        sizes = ", ".join(f"{v.name} {v.width}x{v.height} {len(v.data) // 1024} KiB" for v in result.variants)
        print(
            f"{path.name:50} {result.width}x{result.height} -> {sizes} ({(time.perf_counter() - t) * 1000:.0f} ms)"
        )
    print(f"\n{len(files)} files in {time.perf_counter() - started:.1f} s; variants in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
