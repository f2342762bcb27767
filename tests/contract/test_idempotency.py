"""The idempotency-key rules that need no server (the header's syntax, the body's fingerprint) and the
useful source a phone is told to keep."""

from __future__ import annotations

import pytest
from photo_contract.idempotency import fingerprint, parse_key
from photo_contract.variants import FEED_VARIANTS, FitMode, UsefulSource, VariantSpec, useful_source


@pytest.mark.parametrize(("header", "key"), [('"abc-1"', "abc-1"), ("abc-1", "abc-1"), (" x ", "x")])
def test_a_key_is_an_sf_string_or_a_bare_token(header: str, key: str) -> None:
    assert parse_key(header) == key


@pytest.mark.parametrize("header", ["", '""', 'a"b', "a\tb", "x" * 256, "caf\u00e9"])
def test_a_malformed_key_is_refused(header: str) -> None:
    with pytest.raises(ValueError, match="Idempotency-Key"):
        parse_key(header)


def test_the_fingerprint_ignores_key_order_but_not_values() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
    assert fingerprint({"b": [1, 2]}) != fingerprint({"b": [2, 1]})


def test_the_useful_source_covers_every_variant_kind() -> None:
    # w1080 between 4:5 and 1.91:1: 1080 columns, or 566 rows from a wider picture; the margin on top.
    assert useful_source(FEED_VARIANTS, 1.0) == UsefulSource(1080, 566)
    cover = VariantSpec(name="sq", width=600, height=900, mode=FitMode.COVER)
    assert useful_source((cover,), 1.0).height == 900
    assert useful_source((cover,), 2.0) == UsefulSource(1200, 1800)
    with pytest.raises(ValueError, match="margin"):
        useful_source(FEED_VARIANTS, 0.9)
