"""The variant spec as data: its JSON round trip (the stacks write it, the worker reads it) and the
version that names the variant keys."""

from __future__ import annotations

import pytest
from photo_contract.variants import (
    FEED_VARIANTS,
    Alternate,
    FitMode,
    OutputFormat,
    VariantSpec,
    variants_from_json,
    variants_to_json,
    variants_version,
)


def test_the_spec_survives_json_with_its_alternates() -> None:
    spec = (
        VariantSpec(
            name="big",
            width=2048,
            alternates=(Alternate(OutputFormat.AVIF, 60), Alternate(OutputFormat.WEBP, 88)),
        ),
        VariantSpec(name="sq", width=96, height=96, mode=FitMode.SMART, format=OutputFormat.WEBP, quality=70),
    )
    assert variants_from_json(variants_to_json(spec)) == spec
    assert variants_from_json(variants_to_json(FEED_VARIANTS)) == FEED_VARIANTS


def test_a_spec_without_alternates_keeps_the_version_it_had() -> None:
    """Adding the alternates field must not re-process every image of an environment that uses none."""
    plain = (VariantSpec(name="w1080", width=1080),)
    assert variants_to_json(plain) == (
        '[{"name":"w1080","width":1080,"height":null,"mode":"fit","format":"jpeg","quality":85}]'
    )


def test_an_added_format_or_quality_changes_the_version() -> None:
    plain = (VariantSpec(name="w1080", width=1080),)
    with_avif = (VariantSpec(name="w1080", width=1080, alternates=(Alternate(OutputFormat.AVIF, 76),)),)
    other_quality = (VariantSpec(name="w1080", width=1080, alternates=(Alternate(OutputFormat.AVIF, 70),)),)
    versions = {variants_version("etag", v) for v in (plain, with_avif, other_quality)}
    assert len(versions) == 3
    assert variants_version("etag", with_avif) == variants_version("etag", with_avif)


def test_encodings_list_the_variants_own_format_first() -> None:
    spec = VariantSpec(name="w", width=10, quality=80, alternates=(Alternate(OutputFormat.AVIF, 50),))
    assert spec.encodings == (Alternate(OutputFormat.JPEG, 80), Alternate(OutputFormat.AVIF, 50))


@pytest.mark.parametrize(
    "alternates",
    [
        (Alternate(OutputFormat.JPEG, 50),),
        (Alternate(OutputFormat.AVIF, 50), Alternate(OutputFormat.AVIF, 60)),
    ],
)
def test_a_format_appears_once_per_variant(alternates: tuple[Alternate, ...]) -> None:
    with pytest.raises(ValueError, match="each format at most once"):
        VariantSpec(name="w", width=10, alternates=alternates)


def test_an_alternate_quality_is_checked() -> None:
    with pytest.raises(ValueError, match=r"quality must be 1\.\.100"):
        Alternate(OutputFormat.AVIF, 0)


def test_each_format_names_its_file() -> None:
    assert [(f.extension, f.content_type) for f in OutputFormat] == [
        ("jpg", "image/jpeg"),
        ("webp", "image/webp"),
        ("avif", "image/avif"),
    ]


def test_the_aspect_range_survives_json_and_changes_the_version() -> None:
    clamped = (VariantSpec(name="w1080", width=1080, min_aspect=0.8, max_aspect=1.91),)
    assert variants_from_json(variants_to_json(clamped)) == clamped
    plain = (VariantSpec(name="w1080", width=1080),)
    assert variants_version("etag", clamped) != variants_version("etag", plain)
