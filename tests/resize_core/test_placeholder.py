"""Every result carries a placeholder (ThumbHash) and an average colour that describe the picture."""

from __future__ import annotations

import base64
import io

import pytest
from photo_resize import ResizeOptions, resize_image
from PIL import Image
from thumbhash import thumb_hash_to_approximate_aspect_ratio, thumb_hash_to_average_rgba


def _png(size: tuple[int, int], colour: tuple[int, ...], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(("size", "colour"), [((1600, 900), (200, 30, 40)), ((600, 1200), (20, 160, 90))])
def test_the_placeholder_has_the_pictures_colour_and_shape(
    size: tuple[int, int], colour: tuple[int, int, int]
) -> None:
    result = resize_image(_png(size, colour), ResizeOptions())
    assert result.dominant_color == "#{:02x}{:02x}{:02x}".format(*colour)
    hashed = list(base64.b64decode(result.placeholder))
    assert len(hashed) <= 30  # tiny enough to ship inline with every record
    red, green, blue, _alpha = thumb_hash_to_average_rgba(hashed)
    assert all(abs(got * 255 - want) < 12 for got, want in zip((red, green, blue), colour, strict=True))
    assert thumb_hash_to_approximate_aspect_ratio(hashed) == pytest.approx(size[0] / size[1], rel=0.25)


def test_a_transparent_picture_gets_an_opaque_placeholder_on_the_background() -> None:
    result = resize_image(
        _png((800, 600), (0, 0, 255, 0), "RGBA"), ResizeOptions(background_rgb=(255, 255, 255))
    )
    assert result.dominant_color == "#ffffff"
    assert thumb_hash_to_average_rgba(list(base64.b64decode(result.placeholder)))[3] == 1.0
