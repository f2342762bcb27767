"""The feed's aspect rule: a post is shown between 4:5 and 1.91:1, so the feed variants centre-crop a
taller or wider picture to that range; plain fit-to-width stays available as a spec option."""

from __future__ import annotations

import io

import pytest
from photo_resize import FEED_VARIANTS, ResizeOptions, VariantSpec, resize_image
from PIL import Image

FEED = ResizeOptions()


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def _banded(size: tuple[int, int], band: int, *, vertical: bool) -> bytes:
    """Green, with a red band at the start and a blue one at the end of the long axis."""
    image = Image.new("RGB", size, (40, 200, 40))
    w, h = size
    if vertical:
        image.paste((220, 30, 30), (0, 0, w, band))
        image.paste((30, 30, 220), (0, h - band, w, h))
    else:
        image.paste((220, 30, 30), (0, 0, band, h))
        image.paste((30, 30, 220), (w - band, 0, w, h))
    return _jpeg(image)


def _sizes(data: bytes, options: ResizeOptions = FEED) -> dict[str, tuple[int, int]]:
    return {v.name: (v.width, v.height) for v in resize_image(data, options).variants}


def _all_green(data: bytes) -> bool:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    return all(g > 150 and r < 110 and b < 110 for r, g, b in image.get_flattened_data())  # type: ignore[misc]


def test_a_tall_portrait_is_centre_cropped_to_4_5() -> None:
    # 1200x1800: the 4:5 crop is 1200x1500, 150 px off the top and the bottom: exactly the bands.
    data = _banded((1200, 1800), 140, vertical=True)
    assert _sizes(data) == {"w1080": (1080, 1350), "w640": (640, 800), "thumb150": (150, 150)}
    for variant in resize_image(data, FEED).variants:
        assert _all_green(variant.data), (variant.name, variant.format)


def test_a_panorama_is_centre_cropped_to_1_91() -> None:
    data = _banded((3000, 1000), 530, vertical=False)  # the 1.91:1 crop keeps the middle 1910 px
    assert _sizes(data)["w1080"] == (1080, 565)
    w1080 = next(v for v in resize_image(data, FEED).variants if v.name == "w1080")
    assert _all_green(w1080.data)


@pytest.mark.parametrize("size", [(1600, 1200), (1080, 1350), (1910, 1000), (1200, 1200)])
def test_pictures_inside_the_range_are_not_cropped(size: tuple[int, int]) -> None:
    w, h = size
    sizes = _sizes(_jpeg(Image.new("RGB", size, (90, 90, 90))))
    assert sizes["w1080"] == (1080, round(h * 1080 / w))


def test_fit_to_width_stays_a_spec_option() -> None:
    plain = ResizeOptions(variants=(VariantSpec(name="w1080", width=1080),))
    assert _sizes(_banded((1200, 1800), 140, vertical=True), plain) == {"w1080": (1080, 1620)}


def test_the_feed_variants_carry_the_range() -> None:
    fit = [s for s in FEED_VARIANTS if s.name.startswith("w")]
    assert fit and all((s.min_aspect, s.max_aspect) == (4 / 5, 1.91) for s in fit)


def test_an_aspect_range_is_for_fit_variants_only() -> None:
    from photo_contract.variants import FitMode

    with pytest.raises(ValueError, match="fit variants only"):
        VariantSpec(name="sq", width=10, height=10, mode=FitMode.COVER, min_aspect=0.8)
    with pytest.raises(ValueError, match="min_aspect <= max_aspect"):
        VariantSpec(name="w", width=10, min_aspect=2.0, max_aspect=1.0)
