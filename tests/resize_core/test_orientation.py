"""All eight EXIF orientations come out upright — judged by pixels, not by the tag."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from photo_resize import FitMode, ResizeOptions, VariantSpec, resize_image
from photo_resize.core import _TRANSPOSE, _stored_box
from PIL import Image, ImageChops, ImageStat
from thumbhash import thumb_hash_to_approximate_aspect_ratio

OPTIONS = ResizeOptions(variants=(VariantSpec(name="w300", width=300),))
# A 2:3 portrait cropped to 4:5 and a 3:2 landscape cropped to 5:4: the core downscales only the part
# shown, before turning it upright, so the crop has to be found in the stored (sideways) picture.
CROPPED = ResizeOptions(
    variants=(
        # 250 of 1,200 px: below the 1/4 DCT scale, so the core downscales before it turns the picture.
        VariantSpec(name="w250", width=250, min_aspect=0.8, max_aspect=1.25),
        VariantSpec(name="w120", width=120, min_aspect=0.8, max_aspect=1.25),
    )
)


def _render(path: Path, options: ResizeOptions = OPTIONS, variant: int = 0) -> Image.Image:
    result = resize_image(path.read_bytes(), options)
    return Image.open(io.BytesIO(result.variants[variant].data)).convert("L")


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


@pytest.mark.parametrize("variant", [0, 1])
@pytest.mark.parametrize("shape", ["Landscape", "Portrait"])
@pytest.mark.parametrize("orientation", range(2, 9))
def test_a_cropped_variant_of_every_orientation_shows_what_the_upright_original_shows(
    corpus: Path, shape: str, orientation: int, variant: int
) -> None:
    reference = _render(corpus / "orientation" / f"{shape}_1.jpg", CROPPED, variant)
    got = _render(corpus / "orientation" / f"{shape}_{orientation}.jpg", CROPPED, variant)

    assert got.size == reference.size
    assert reference.size[0] / reference.size[1] == pytest.approx(
        0.8 if shape == "Portrait" else 1.25, rel=0.01
    )
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


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_box_in_the_upright_picture_is_found_in_the_stored_one(orientation: int) -> None:
    stored = Image.effect_noise((60, 40), 80)
    turned = stored.transpose(_TRANSPOSE[orientation]) if orientation in _TRANSPOSE else stored
    box = (3, 5, 17, 31)  # off-centre: a mirror-image mistake shows
    found = tuple(round(v) for v in _stored_box(box, orientation, turned.size))
    cut = stored.crop(found)
    if orientation in _TRANSPOSE:
        cut = cut.transpose(_TRANSPOSE[orientation])
    assert cut.tobytes() == turned.crop(box).tobytes()


@pytest.mark.parametrize("orientation", [6, 8])
def test_a_rotated_photo_with_only_a_cover_variant_keeps_the_whole_picture_for_its_placeholder(
    corpus: Path, orientation: int
) -> None:
    # 100 of 1,200 px is below the 1/8 DCT scale, so the core downscales before it turns the picture;
    # with no fit variant to show a crop, it keeps the whole picture, as it does for the upright file.
    options = ResizeOptions(variants=(VariantSpec(name="t100", width=100, height=100, mode=FitMode.COVER),))
    upright = resize_image((corpus / "orientation" / "Portrait_1.jpg").read_bytes(), options)
    rotated = resize_image((corpus / "orientation" / f"Portrait_{orientation}.jpg").read_bytes(), options)
    aspect = thumb_hash_to_approximate_aspect_ratio(list(base64.b64decode(rotated.placeholder)))
    assert aspect == pytest.approx(1200 / 1800, rel=0.15)  # the 2:3 portrait, not the square crop
    assert aspect == thumb_hash_to_approximate_aspect_ratio(list(base64.b64decode(upright.placeholder)))
