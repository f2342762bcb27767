"""All eight EXIF orientations come out upright — judged by pixels, not by the tag."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from photo_resize import ResizeOptions, VariantSpec, resize_image
from PIL import Image, ImageChops, ImageStat

OPTIONS = ResizeOptions(variants=(VariantSpec(name="w300", width=300),))


def _render(path: Path) -> Image.Image:
    result = resize_image(path.read_bytes(), OPTIONS)
    return Image.open(io.BytesIO(result.variants[0].data)).convert("L")


def _difference(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size
    return float(ImageStat.Stat(ImageChops.difference(a, b)).mean[0])


@pytest.mark.parametrize("shape", ["Landscape", "Portrait"])
@pytest.mark.parametrize("orientation", range(2, 9))
def test_orientation_comes_out_like_the_upright_original(corpus: Path, shape: str, orientation: int) -> None:
    reference = _render(corpus / "orientation" / f"{shape}_1.jpg")
    got = _render(corpus / "orientation" / f"{shape}_{orientation}.jpg")

    assert got.size == reference.size
    # Near-identical to the upright picture, and far from its mirror image or its upside-down version:
    # the "N" in these files makes every wrong orientation differ strongly.
    close = _difference(got, reference)
    assert close < 6.0
    for wrong in (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.ROTATE_180):
        assert _difference(got, reference.transpose(wrong)) > 3 * close + 10


def test_invalid_orientation_zero_is_treated_as_upright(corpus: Path) -> None:
    reference = _render(corpus / "orientation" / "Landscape_1.jpg")
    got = _render(corpus / "orientation" / "Landscape_0.jpg")
    assert _difference(got, reference) < 6.0


def test_large_rotated_camera_photo_reports_upright_size(corpus: Path) -> None:
    data = (corpus / "camera" / "leica-t_16mp_orient8.jpg").read_bytes()
    result = resize_image(data, OPTIONS)
    assert (result.width, result.height) == (3264, 4928)  # stored 4928x3264, tag 8
    variant = result.variants[0]
    assert variant.width == 300 and variant.height == round(4928 * 300 / 3264)
