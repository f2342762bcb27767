"""No EXIF, GPS, XMP, ICC or comment leaves the pipeline — checked by reopening every output."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from photo_resize import FitMode, OutputFormat, ResizeOptions, VariantSpec, resize_image
from PIL import Image

BOTH_FORMATS = ResizeOptions(
    variants=(
        VariantSpec(name="jpeg", width=640),
        VariantSpec(name="webp", width=320, format=OutputFormat.WEBP),
        VariantSpec(name="square", width=100, height=100, mode=FitMode.COVER),
    )
)
WITH_METADATA = [
    "camera/canon-eos-5d-mk3_22mp.jpg",  # ICC + EXIF + XMP (Photoshop)
    "camera/samsung-galaxy-s7edge_12mp.jpg",  # phone EXIF
    "camera/canon-eos-1000d_10mp_orient6.jpg",
    "formats/nikon-coolpix-p7000_10mp_orient6.webp",  # EXIF inside WebP
    "formats/iphone11pro_12mp.heic",
    "formats/autumn-trees_rgba-opaque.png",  # eXIf + ICC in PNG
    "formats/skimage-chelsea_451x300.png",
]


@pytest.mark.parametrize("name", WITH_METADATA)
def test_every_variant_is_stripped(corpus: Path, name: str) -> None:
    source = (corpus / name).read_bytes()
    result = resize_image(source, BOTH_FORMATS)
    for variant in result.variants:
        reopened = Image.open(io.BytesIO(variant.data))
        assert dict(reopened.getexif()) == {}, variant.name
        for key in ("exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment", "photoshop"):
            assert key not in reopened.info, (variant.name, key)
        for marker in (b"Exif\x00\x00", b"http://ns.adobe.com/xap", b"ICC_PROFILE", b"GPS"):
            assert marker not in variant.data, (variant.name, marker)


def test_source_files_really_carry_metadata(corpus: Path) -> None:
    """Guards the test above: it must be fed files that have something to strip."""
    with Image.open(corpus / "camera/canon-eos-5d-mk3_22mp.jpg") as image:
        assert image.getexif() and "icc_profile" in image.info
