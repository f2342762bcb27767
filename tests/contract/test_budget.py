"""The budget the stacks size the worker by: every legal image in memory, a full batch in time."""

from __future__ import annotations

import pytest
from photo_contract.budget import (
    MIB,
    check_budget,
    min_memory_mib,
    min_timeout_seconds,
    working_set_bytes,
    worst_image_seconds,
)
from photo_contract.runtime import DEFAULT_MAX_PIXELS, DEFAULT_MAX_SOURCE_BYTES
from photo_pipeline_cdk.config import ENVIRONMENTS, ResizeConfig


def test_every_environment_fits_its_worst_legal_image_and_batch() -> None:
    for config in ENVIRONMENTS.values():
        resize = config.resize
        assert resize.memory_mib >= min_memory_mib(resize.max_pixels, resize.max_source_bytes)
        assert resize.timeout_seconds >= min_timeout_seconds(resize.memory_mib, resize.batch_size)


def test_webp_with_alpha_is_the_costliest_header() -> None:
    webp = working_set_bytes("WEBP", "RGBA", (7071, 7071))
    assert (
        webp > working_set_bytes("PNG", "RGBA", (7071, 7071)) > working_set_bytes("PNG", "RGB", (7071, 7071))
    )
    assert working_set_bytes("PNG", "I;16", (100, 100)) == 2 * working_set_bytes("PNG", "L", (100, 100))


def test_a_function_too_small_for_the_pixel_cap_fails_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"memory_mib 512 is too small .* needs \d+ MiB"):
        ResizeConfig(memory_mib=512)
    ResizeConfig(memory_mib=512, max_pixels=20_000_000, timeout_seconds=150)  # a lower cap fits


def test_a_timeout_too_short_for_a_full_batch_fails_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"timeout_seconds 30 cannot fit a batch of 10 .* needs \d+ s"):
        ResizeConfig(timeout_seconds=30)
    ResizeConfig(timeout_seconds=30, batch_size=3)


def test_less_memory_means_less_cpu_and_a_longer_worst_image() -> None:
    assert worst_image_seconds(1769) == worst_image_seconds(3008)  # a full vCPU and beyond
    assert worst_image_seconds(1024) > worst_image_seconds(1536) > worst_image_seconds(1769)


def test_check_budget_accepts_the_defaults() -> None:
    check_budget(
        memory_mib=1024,
        timeout_seconds=75,
        batch_size=10,
        max_pixels=DEFAULT_MAX_PIXELS,
        max_source_bytes=DEFAULT_MAX_SOURCE_BYTES,
    )
    assert min_memory_mib(DEFAULT_MAX_PIXELS, DEFAULT_MAX_SOURCE_BYTES) * MIB > DEFAULT_MAX_PIXELS * 16
