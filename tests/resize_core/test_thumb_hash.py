"""Our ThumbHash encoder writes the reference encoder's bytes (the ``thumbhash`` package is the oracle)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from photo_resize.placeholder import thumb_hash
from PIL import Image
from thumbhash import rgba_to_thumb_hash


def _reference(image: Image.Image) -> bytes:
    return bytes(rgba_to_thumb_hash(image.width, image.height, list(image.convert("RGBA").tobytes())))


def _noise(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    return Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))


def test_random_pictures_of_every_shape_hash_as_the_reference_does() -> None:
    rng = random.Random(20261130)
    sizes = [(1, 1), (1, 37), (37, 1), (100, 100), (32, 18), (18, 32), (26, 32)]
    sizes += [(rng.randint(1, 100), rng.randint(1, 100)) for _ in range(60)]
    for size in sizes:
        image = _noise(rng, size)
        assert thumb_hash(image) == _reference(image), size


def test_camera_photos_hash_as_the_reference_does(corpus: Path) -> None:
    photos = sorted((corpus / "camera").glob("*.jpg"))
    assert photos
    for path in photos:
        with Image.open(path) as image:
            image.draft("RGB", (200, 200))
            small = image.convert("RGB")
        small.thumbnail((32, 32), Image.Resampling.BOX)
        assert thumb_hash(small) == _reference(small), path.name


def _fields(hashed: bytes) -> list[int]:
    """The format's fields, in order: the 24-bit and 16-bit headers' bit fields, then each AC nibble."""
    header24 = hashed[0] | hashed[1] << 8 | hashed[2] << 16
    header16 = hashed[3] | hashed[4] << 8
    fields = [header24 & 63, header24 >> 6 & 63, header24 >> 12 & 63, header24 >> 18 & 31, header24 >> 23]
    fields += [header16 & 7, header16 >> 3 & 63, header16 >> 9 & 63, header16 >> 15]
    return fields + [n for byte in hashed[5:] for n in (byte & 15, byte >> 4)]


def test_symmetric_pictures_differ_from_the_reference_by_at_most_a_rounding_step() -> None:
    # A symmetric picture has coefficients that are exactly zero. The reference sums them to floating
    # noise (±1e-17) and rounds that noise from a tie (7.5 → 7 or 8); ours sums exactly, so it rounds
    # the tie itself. Every field stays within one step of the reference's; the decoded picture is the same.
    gradient = Image.linear_gradient("L")
    for w, h in ((32, 24), (24, 32), (32, 32)):
        image = gradient.resize((w, h))
        tinted = Image.merge("RGB", (image, image.rotate(90), image))
        ours, reference = _fields(thumb_hash(tinted)), _fields(_reference(tinted))
        assert len(ours) == len(reference)
        assert all(abs(a - b) <= 1 for a, b in zip(ours, reference, strict=True)), (ours, reference)
        assert ours[:1] == reference[:1]  # the luma DC (brightness) is not a tie


def test_only_rgb_pictures_within_the_formats_limit_are_taken() -> None:
    with pytest.raises(ValueError, match="RGB"):
        thumb_hash(Image.new("RGBA", (10, 10)))
    with pytest.raises(ValueError, match="does not fit"):
        thumb_hash(Image.new("RGB", (101, 10)))
