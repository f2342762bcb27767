"""The core's JPEG encoder settings, chosen by bench/jpeg_options_bench.py: optimised Huffman tables
everywhere, progressive scans for post-sized frames, a baseline scan for the thumbnail; the pixels are
those of a plain baseline encode at the same quality (a lossless re-coding)."""

from __future__ import annotations

import io
import json

import pytest
from local_runner.inputs import camera_jpeg
from photo_contract.variants import Alternate, OutputFormat
from photo_resize import ResizeOptions, resize_image
from photo_resize.core import encode_frame
from PIL import Image

from tests.conftest import REPO


@pytest.fixture(scope="module")
def made() -> dict[str, bytes]:
    result = resize_image(camera_jpeg("p.jpg", (3000, 2000)).data, ResizeOptions())
    return {v.name: v.data for v in result.variants if v.format.value == "jpeg"}


@pytest.mark.parametrize(("variant", "progressive"), [("w1080", True), ("w640", True), ("thumb150", False)])
def test_post_sizes_are_progressive_and_the_thumbnail_is_not(
    made: dict[str, bytes], variant: str, progressive: bool
) -> None:
    with Image.open(io.BytesIO(made[variant])) as image:
        assert bool(image.info.get("progressive")) is progressive


def test_every_jpeg_is_smaller_than_a_plain_baseline_encode(made: dict[str, bytes]) -> None:
    for name, data in made.items():
        with Image.open(io.BytesIO(data)) as image:
            frame = image.convert("RGB")
        out = io.BytesIO()
        frame.save(out, "JPEG", quality=85, optimize=False, progressive=False)
        # Re-encoding a decoded JPEG at the same quality is close to the first encode; the chosen
        # settings still come out smaller than the plain ones on the same frame.
        plain = out.getvalue()
        ours = io.BytesIO()
        encode_frame(frame.copy(), Alternate(OutputFormat.JPEG, 85), ours)
        assert len(ours.getvalue()) < len(plain), name
        with Image.open(io.BytesIO(plain)) as a, Image.open(io.BytesIO(ours.getvalue())) as b:
            assert a.convert("RGB").tobytes() == b.convert("RGB").tobytes(), name  # same pixels


def test_the_benchmark_results_name_the_cores_settings() -> None:
    results = json.loads((REPO / "bench" / "results" / "jpeg_options.json").read_text())
    assert results["core"] == {"w1080": "progressive", "w640": "progressive", "thumb150": "optimized"}
