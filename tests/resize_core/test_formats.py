"""The corpus' awkward encodings: CMYK, 16-bit, palette, alpha, grayscale, animated GIF, WebP, HEIC."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from photo_resize import (
    FEED_VARIANTS,
    Alternate,
    FitMode,
    OutputFormat,
    ResizeOptions,
    VariantSpec,
    resize_image,
)
from PIL import Image, ImageStat

FEED = ResizeOptions()


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    ("name", "source_format"),
    [
        ("derived/seeding_cmyk_2400x1350.jpg", "JPEG"),
        ("formats/pngsuite-basn2c16_16bit-rgb.png", "PNG"),
        ("derived/coffee_palette_600x400.png", "PNG"),
        ("formats/heatmap_palette-trns.png", "PNG"),
        ("derived/seeding_cutout_rgba_1600x900.png", "PNG"),
        ("formats/autumn-trees_rgba-opaque.png", "PNG"),
        ("derived/seeding_gray_3000x1688.jpg", "JPEG"),
        ("formats/skimage-camera_gray.png", "PNG"),
        ("derived/seeding_pan_8frames_480x270.gif", "GIF"),
        ("formats/nikon-coolpix-p7000_10mp_orient6.webp", "WEBP"),
        ("formats/iphone11pro_12mp.heic", "HEIF"),
    ],
)
def test_corpus_file_becomes_valid_variants_in_every_format(
    corpus: Path, name: str, source_format: str
) -> None:
    result = resize_image((corpus / name).read_bytes(), FEED)
    assert result.source_format == source_format
    assert [(v.name, v.format) for v in result.variants] == [
        (spec.name, encoding.format) for spec in FEED_VARIANTS for encoding in spec.encodings
    ]
    sizes: dict[str, set[tuple[int, int]]] = {}
    for variant in result.variants:
        image = _open(variant.data)
        assert image.format == variant.format.value.upper()
        assert image.mode in (("RGB", "L") if variant.format is OutputFormat.JPEG else ("RGB", "RGBA"))
        assert image.size == (variant.width, variant.height)
        assert variant.width <= 1080
        sizes.setdefault(variant.name, set()).add(image.size)
    assert all(len(s) == 1 for s in sizes.values()), sizes  # every format of a variant has its geometry


def test_an_alternate_is_the_same_picture_at_its_own_quality() -> None:
    photo = Image.new("RGB", (1600, 1200))
    photo.paste((200, 40, 40), (0, 0, 800, 1200))
    photo.paste((40, 40, 200), (800, 0, 1600, 1200))
    data = io.BytesIO()
    photo.save(data, "JPEG", quality=95)
    spec = VariantSpec(
        name="w400",
        width=400,
        alternates=(Alternate(OutputFormat.AVIF, 60), Alternate(OutputFormat.WEBP, 80)),
    )
    result = resize_image(data.getvalue(), ResizeOptions(variants=(spec,)))
    jpeg, avif, webp = result.variants
    assert (jpeg.format, avif.format, webp.format) == (
        OutputFormat.JPEG,
        OutputFormat.AVIF,
        OutputFormat.WEBP,
    )
    for variant in (avif, webp):
        image = _open(variant.data).convert("RGB")
        assert image.size == (400, 300)
        left, right = image.getpixel((100, 150)), image.getpixel((300, 150))
        assert isinstance(left, tuple) and isinstance(right, tuple)
        assert left[0] > 150 > left[2] and right[2] > 150 > right[0]  # the same picture, not a blank
    # Lower quality asked, fewer bytes given: the alternate's own quality is used.
    lower = resize_image(
        data.getvalue(),
        ResizeOptions(
            variants=(VariantSpec(name="w400", width=400, alternates=(Alternate(OutputFormat.AVIF, 5),)),)
        ),
    )
    assert len(lower.variants[1].data) < len(avif.data)


def test_a_frame_over_the_alternate_cap_comes_in_its_own_format_only() -> None:
    """A 1080-wide strip of a tall panorama: JPEG only (AVIF would cost seconds and a GiB)."""
    strip = io.BytesIO()
    Image.new("RGB", (400, 4000), (90, 140, 60)).save(strip, "JPEG")
    spec = VariantSpec(name="w1080", width=1080, alternates=(Alternate(OutputFormat.AVIF, 70),))
    small = VariantSpec(name="w100", width=100, alternates=(Alternate(OutputFormat.AVIF, 70),))
    result = resize_image(strip.getvalue(), ResizeOptions(variants=(spec, small)))
    # 400x4000 is not enlarged: 1.6 MP, under the cap; a wider strip is over it.
    assert [(v.name, v.format) for v in result.variants] == [
        ("w1080", OutputFormat.JPEG),
        ("w1080", OutputFormat.AVIF),
        ("w100", OutputFormat.JPEG),
        ("w100", OutputFormat.AVIF),
    ]
    wide = io.BytesIO()
    Image.new("RGB", (1080, 4000), (90, 140, 60)).save(wide, "JPEG")  # 4.3 MP at 1080 wide
    result = resize_image(wide.getvalue(), ResizeOptions(variants=(spec, small)))
    assert [(v.name, v.format) for v in result.variants] == [
        ("w1080", OutputFormat.JPEG),
        ("w100", OutputFormat.JPEG),
        ("w100", OutputFormat.AVIF),
    ]


def test_cmyk_is_converted_to_plausible_rgb(corpus: Path) -> None:
    cmyk = resize_image((corpus / "derived/seeding_cmyk_2400x1350.jpg").read_bytes(), FEED)
    rgb = resize_image((corpus / "camera/seeding-clemens-engelhardt_16mp_progressive.jpg").read_bytes(), FEED)
    w640_jpeg = next(
        i for i, v in enumerate(cmyk.variants) if v.name == "w640" and v.format is OutputFormat.JPEG
    )
    a, b = _open(cmyk.variants[w640_jpeg].data), _open(rgb.variants[w640_jpeg].data)
    assert a.mode == "RGB" and a.size == b.size
    # Same photo: inverted Adobe CMYK read the wrong way round would be a negative.
    means_a, means_b = ImageStat.Stat(a).mean, ImageStat.Stat(b).mean
    assert all(abs(x - y) < 25 for x, y in zip(means_a, means_b, strict=True))


def test_transparency_is_flattened_onto_the_background_for_jpeg(corpus: Path) -> None:
    options = ResizeOptions(variants=(VariantSpec(name="w400", width=400),), background_rgb=(255, 0, 255))
    result = resize_image((corpus / "derived/seeding_cutout_rgba_1600x900.png").read_bytes(), options)
    image = _open(result.variants[0].data)
    corner = image.getpixel((1, 1))
    assert isinstance(corner, tuple)
    assert corner[0] > 230 and corner[1] < 30 and corner[2] > 230  # the magenta background shows


def test_transparency_is_kept_for_webp(corpus: Path) -> None:
    options = ResizeOptions(variants=(VariantSpec(name="w400", width=400, format=OutputFormat.WEBP),))
    result = resize_image((corpus / "derived/seeding_cutout_rgba_1600x900.png").read_bytes(), options)
    image = _open(result.variants[0].data)
    assert image.mode == "RGBA"
    assert image.getchannel("A").getpixel((1, 1)) == 0


def test_animated_gif_uses_the_first_frame(corpus: Path) -> None:
    data = (corpus / "derived/seeding_pan_8frames_480x270.gif").read_bytes()
    options = ResizeOptions(
        variants=(VariantSpec(name="same", width=480, format=OutputFormat.WEBP, quality=100),)
    )
    got = _open(resize_image(data, options).variants[0].data).convert("RGB")
    with Image.open(io.BytesIO(data)) as gif:
        frames = []
        for index in (0, 4):
            gif.seek(index)
            frames.append(gif.convert("RGB"))
    diff_first = ImageStat.Stat(Image.eval(_diff(got, frames[0]), lambda v: v)).mean[0]
    diff_later = ImageStat.Stat(_diff(got, frames[1])).mean[0]
    assert diff_first < diff_later


def _diff(a: Image.Image, b: Image.Image) -> Image.Image:
    from PIL import ImageChops

    return ImageChops.difference(a.convert("L"), b.convert("L"))


def test_small_images_are_never_upscaled(corpus: Path) -> None:
    result = resize_image((corpus / "formats/skimage-coffee_600x400.png").read_bytes(), FEED)
    sizes = {v.name: (v.width, v.height) for v in result.variants}
    assert sizes == {"w1080": (600, 400), "w640": (600, 400), "thumb150": (150, 150)}


def test_cover_of_a_tiny_image_keeps_the_box_shape_without_upscaling(corpus: Path) -> None:
    options = ResizeOptions(variants=(VariantSpec(name="sq", width=150, height=150, mode=FitMode.COVER),))
    result = resize_image((corpus / "formats/pngsuite-basn2c16_16bit-rgb.png").read_bytes(), options)
    assert (result.variants[0].width, result.variants[0].height) == (32, 32)


def test_sixteen_bit_grayscale_is_scaled_not_clipped() -> None:
    ramp = Image.linear_gradient("L").resize((256, 256)).convert("I")
    sixteen = ramp.point(lambda v: v * 257)  # 0..65535
    buffer = io.BytesIO()
    sixteen.convert("I;16").save(buffer, "PNG")
    result = resize_image(buffer.getvalue(), ResizeOptions(variants=(VariantSpec(name="w", width=256),)))
    image = _open(result.variants[0].data)
    low, high = image.getextrema()  # type: ignore[misc]
    assert low < 10 and high > 240  # a clip to 255 would make almost everything white


def test_webp_variant_is_webp(corpus: Path) -> None:
    options = ResizeOptions(
        variants=(VariantSpec(name="w", width=320, format=OutputFormat.WEBP, quality=80),)
    )
    result = resize_image((corpus / "camera/nikon-d3100_14mp.jpg").read_bytes(), options)
    variant = result.variants[0]
    assert variant.content_type == "image/webp"
    assert _open(variant.data).format == "WEBP"
