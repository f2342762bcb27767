"""Smart crop keeps an off-centre subject that a centre crop cuts away, and leaves a flat picture alone."""

from __future__ import annotations

import io

import pytest
from photo_contract.variants import FitMode, VariantSpec
from photo_resize import ResizeOptions, resize_image
from PIL import Image, ImageStat

SMART = VariantSpec(name="square", width=150, height=150, mode=FitMode.SMART)
CENTRE = VariantSpec(name="square", width=150, height=150, mode=FitMode.COVER)


def _picture(size: tuple[int, int], subject_box: tuple[int, int, int, int] | None) -> bytes:
    """A flat grey field with, in ``subject_box``, a busy subject (a fine checkerboard)."""
    image = Image.new("RGB", size, (128, 128, 128))
    if subject_box is not None:
        left, top, right, bottom = subject_box
        for y in range(top, bottom):
            for x in range(left, right):
                if (x // 6 + y // 6) % 2:
                    image.putpixel((x, y), (250, 40, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _subject_share(data: bytes, spec: VariantSpec) -> float:
    """How red the thumbnail is (the subject is red and white-free; the field is grey: 0)."""
    (variant,) = resize_image(data, ResizeOptions(variants=(spec,))).variants
    red, green, _ = ImageStat.Stat(Image.open(io.BytesIO(variant.data)).convert("RGB")).mean
    return float(red - green)


@pytest.mark.parametrize(
    ("size", "subject"),
    [((1500, 500), (40, 100, 400, 400)), ((500, 1500), (100, 1080, 400, 1460))],
    ids=["subject-left-of-a-panorama", "subject-at-the-foot-of-a-tall-picture"],
)
def test_the_subject_survives_where_the_centre_crop_loses_it(
    size: tuple[int, int], subject: tuple[int, int, int, int]
) -> None:
    data = _picture(size, subject)
    assert _subject_share(data, CENTRE) < 5  # the centre crop is all grey field
    assert _subject_share(data, SMART) > 40  # the smart crop holds the subject


def test_a_flat_picture_keeps_the_centre_crop() -> None:
    data = _picture((1500, 500), None)
    centre = resize_image(data, ResizeOptions(variants=(CENTRE,))).variants[0].data
    smart = resize_image(data, ResizeOptions(variants=(SMART,))).variants[0].data
    assert smart == centre


def test_smart_needs_a_height() -> None:
    with pytest.raises(ValueError, match="smart needs a height"):
        VariantSpec(name="x", width=100, mode=FitMode.SMART)
