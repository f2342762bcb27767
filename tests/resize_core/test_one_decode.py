"""One decode, DCT-scaled to the smallest scale that covers the largest variant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from photo_resize import FEED_VARIANTS, ResizeOptions, VariantSpec, resize_image
from PIL import ImageFile, JpegImagePlugin


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Records the size of every image Pillow actually decodes."""
    seen: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load

    def load(self: ImageFile.ImageFile) -> Any:
        if self.tile:  # only a real decode has tiles left to read
            seen.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return seen


@pytest.mark.parametrize(
    ("name", "expected_decode"),
    [
        # 5760x3840 -> 1080 wide: 1/4 gives 1440 (covers), 1/8 gives 720 (does not).
        ("camera/canon-eos-5d-mk3_22mp.jpg", (1440, 960)),
        # Stored 3888x2592 with tag 6: upright 2592 wide -> 1080 needs 1/2 (1296 upright width).
        ("camera/canon-eos-1000d_10mp_orient6.jpg", (1944, 1296)),
    ],
)
def test_jpeg_is_decoded_once_at_the_smallest_covering_scale(
    corpus: Path, decodes: list[tuple[int, int]], name: str, expected_decode: tuple[int, int]
) -> None:
    result = resize_image((corpus / name).read_bytes(), ResizeOptions(variants=FEED_VARIANTS))
    assert decodes == [expected_decode]
    assert result.variants[0].width == 1080


def test_a_smaller_largest_variant_decodes_smaller_still(
    corpus: Path, decodes: list[tuple[int, int]]
) -> None:
    options = ResizeOptions(variants=(VariantSpec(name="w640", width=640),))
    resize_image((corpus / "camera/canon-eos-5d-mk3_22mp.jpg").read_bytes(), options)
    assert decodes == [(720, 480)]  # 1/8 scale covers 640


def test_draft_is_only_asked_of_jpeg(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = JpegImagePlugin.JpegImageFile.draft

    def draft(self: JpegImagePlugin.JpegImageFile, mode: str | None, size: tuple[int, int] | None) -> Any:
        calls.append(self.format or "")
        return original(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", draft)
    resize_image((corpus / "formats/skimage-coffee_600x400.png").read_bytes(), ResizeOptions())
    resize_image((corpus / "camera/nikon-d3100_14mp.jpg").read_bytes(), ResizeOptions())
    assert calls == ["JPEG"]
