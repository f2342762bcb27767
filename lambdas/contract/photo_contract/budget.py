"""The resize function's memory and time budget: what the stacks size the function by and the worker
checks each image against, from numbers ``make bench`` measures (the budget table in docs/benchmarks.md).

Memory: a source's peak working set is estimated from its header (pixels x working bands x bytes per
sample x the peak number of such frames alive at once, per format) and compared with what the function
has beyond its baseline. Time: the slowest legal image's CPU seconds on one vCPU, stretched by Lambda's
CPU share (one vCPU per 1,769 MB; less below).
"""

from __future__ import annotations

import math

MIB = 1024 * 1024
LAMBDA_MB_PER_VCPU = 1769
# Interpreter, boto3, Powertools and Pillow imported: 58 MiB measured; the rest is headroom.
WORKER_BASELINE_MIB = 100
# The slowest legal image of any format through the worker path, CPU seconds on one core (make bench:
# 3.0 s for a 50 MP RGBA PNG with a wide-gamut profile on a quiet day; 3.5 s with the AVIF alternates on
# a noisy one, 2026-11-30), with room for a slower core.
WORST_IMAGE_CPU_SECONDS = 4.0
# What a batch needs besides its images: S3 round trips, the first import after a cold start.
BATCH_OVERHEAD_SECONDS = 5

# Bytes per pixel of the working frame, by the mode the header declares (palette and grey-alpha become
# RGB/RGBA, 16-bit grey becomes 8-bit after the decode).
_WORKING_BANDS = {
    "1": 1,
    "L": 1,
    "I;16": 1,
    "I;16B": 1,
    "I;16L": 1,
    "I": 1,
    "F": 1,
    "P": 4,
    "PA": 4,
    "LA": 4,
    "La": 4,
    "RGB": 3,
    "RGBA": 4,
    "CMYK": 4,
}
# Peak working frames alive at once, per source format: measured peak RSS less the baseline and the
# source bytes, over the working frame, on each format's worst legal image, rounded up: the decoder's own
# buffers (libwebp keeps two canvases besides Pillow's copy), a mode or colour conversion, the first
# downscale. An unknown format gets the largest.
PEAK_FRAMES = {"JPEG": 3.1, "PNG": 3.3, "WEBP": 4.5, "GIF": 3.0, "HEIF": 2.6}
WORST_BYTES_PER_PIXEL = max(_WORKING_BANDS.values()) * max(PEAK_FRAMES.values())


def working_set_bytes(format_name: str, mode: str, size: tuple[int, int]) -> int:
    """Peak bytes to decode a frame of this header and make every variant from it."""
    bands = _WORKING_BANDS.get(mode, 3)
    sample_bytes = 2 if mode.startswith("I;16") else (4 if mode in ("I", "F") else 1)
    frame = size[0] * size[1] * bands * sample_bytes
    return int(frame * PEAK_FRAMES.get(format_name, max(PEAK_FRAMES.values())))


def memory_budget_bytes(memory_mib: int, max_source_bytes: int) -> int:
    """What the decode may use: the function's memory less the baseline and the source held in memory."""
    return memory_mib * MIB - WORKER_BASELINE_MIB * MIB - max_source_bytes


def worst_image_seconds(memory_mib: int) -> float:
    """Wall seconds of the slowest legal image on a function of this memory."""
    return WORST_IMAGE_CPU_SECONDS * max(1.0, LAMBDA_MB_PER_VCPU / memory_mib)


def min_timeout_seconds(memory_mib: int, batch_size: int) -> int:
    """A function timeout that fits a full batch of the slowest legal images."""
    return math.ceil(batch_size * worst_image_seconds(memory_mib) + BATCH_OVERHEAD_SECONDS)


def min_memory_mib(max_pixels: int, max_source_bytes: int) -> int:
    """The smallest function memory in which every legal image (up to ``max_pixels``) fits."""
    needed = max_pixels * WORST_BYTES_PER_PIXEL + max_source_bytes + WORKER_BASELINE_MIB * MIB
    return math.ceil(needed / MIB)


def check_budget(
    *, memory_mib: int, timeout_seconds: int, batch_size: int, max_pixels: int, max_source_bytes: int
) -> None:
    """A ValueError naming the fix unless every legal image fits in memory and a full batch in time."""
    needed_memory = min_memory_mib(max_pixels, max_source_bytes)
    if memory_mib < needed_memory:
        raise ValueError(
            f"memory_mib {memory_mib} is too small for images of up to {max_pixels} pixels: the worst "
            f"legal image needs {needed_memory} MiB (raise memory_mib or lower max_pixels)"
        )
    needed_time = min_timeout_seconds(memory_mib, batch_size)
    if timeout_seconds < needed_time:
        raise ValueError(
            f"timeout_seconds {timeout_seconds} cannot fit a batch of {batch_size} of the slowest legal "
            f"images at {memory_mib} MB: it needs {needed_time} s (raise timeout_seconds or memory_mib, "
            "or lower batch_size)"
        )
