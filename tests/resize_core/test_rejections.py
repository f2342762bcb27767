"""Hostile and broken inputs are refused with distinct, permanent reason codes."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from photo_resize import ImageRejected, RejectReason, ResizeOptions, resize_image
from PIL import Image

FEED = ResizeOptions()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size in its IHDR and then carries a few bytes: a decompression bomb's shape."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _reason(data: bytes, options: ResizeOptions = FEED) -> RejectReason:
    with pytest.raises(ImageRejected) as caught:
        resize_image(data, options)
    return caught.value.reason


def test_pixel_cap_is_checked_before_decoding() -> None:
    # 8000x8000 = 64 MP: over the 50 MP default cap, under Pillow's own bomb limit.
    assert _reason(_png_header_only(8000, 8000)) is RejectReason.TOO_MANY_PIXELS


def test_configurable_pixel_cap(corpus: Path) -> None:
    data = (corpus / "formats/skimage-coffee_600x400.png").read_bytes()
    assert _reason(data, ResizeOptions(max_pixels=600 * 400 - 1)) is RejectReason.TOO_MANY_PIXELS
    resize_image(data, ResizeOptions(max_pixels=600 * 400))  # exactly at the cap is fine


def test_decompression_bomb_is_its_own_reason() -> None:
    # 100k x 100k = 10 GP declared in a few dozen bytes: Pillow's bomb check fires before ours.
    assert _reason(_png_header_only(100_000, 100_000)) is RejectReason.DECOMPRESSION_BOMB


def test_bomb_warning_range_is_an_error_not_a_warning() -> None:
    # Between Pillow's warning (89 MP) and error (179 MP) thresholds: treated as a bomb all the same.
    assert _reason(_png_header_only(10_000, 10_000), ResizeOptions(max_pixels=10**9)) is (
        RejectReason.DECOMPRESSION_BOMB
    )


def test_truncated_jpeg_is_rejected_not_padded(corpus: Path) -> None:
    data = (corpus / "camera/nikon-d3100_14mp.jpg").read_bytes()
    assert _reason(data[: len(data) // 2]) is RejectReason.TRUNCATED


def test_truncated_png_is_rejected(corpus: Path) -> None:
    data = (corpus / "formats/skimage-coffee_600x400.png").read_bytes()
    assert _reason(data[: len(data) // 3]) in (RejectReason.TRUNCATED, RejectReason.CORRUPT)


def test_non_image_bytes() -> None:
    assert _reason(b"#!/bin/sh\necho not a photo\n" * 20) is RejectReason.NOT_AN_IMAGE
    assert _reason(b"") is RejectReason.NOT_AN_IMAGE


@pytest.mark.parametrize("pillow_format", ["BMP", "TIFF", "ICO"])
def test_images_outside_the_allowlist_are_unsupported(pillow_format: str) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(buffer, pillow_format)
    assert _reason(buffer.getvalue()) is RejectReason.UNSUPPORTED_FORMAT


def test_garbage_after_a_valid_jpeg_header_is_corrupt_or_truncated(corpus: Path) -> None:
    data = (corpus / "orientation/Landscape_1.jpg").read_bytes()
    broken = data[:2000] + bytes(range(256)) * 40
    assert _reason(broken) in (RejectReason.CORRUPT, RejectReason.TRUNCATED)


def test_every_reason_name_has_a_value_of_its_own() -> None:
    """A duplicate value would silently alias one name to another (Enum collapses them): every name
    must come back as itself from the value that gets recorded."""
    for name, reason in RejectReason.__members__.items():
        assert RejectReason(reason.value).name == name
