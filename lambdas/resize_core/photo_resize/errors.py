"""Why an image is refused. Every reason is permanent: retrying the same bytes cannot succeed."""

from enum import StrEnum, unique


@unique
class RejectReason(StrEnum):
    NOT_AN_IMAGE = "not_an_image"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TOO_MANY_PIXELS = "too_many_pixels"
    DECOMPRESSION_BOMB = "decompression_bomb"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    TOO_MANY_BYTES = "too_many_bytes"
    # The stored original is not the bytes its upload declared (Content-MD5): the worker's check.
    CHECKSUM_MISMATCH = "checksum_mismatch"
    # A variant would exceed its format's size limit (JPEG 65,500 px a side, WebP 16,383): a strip
    # such as 1x70000 fits the pixel cap but no encoder can write its variants.
    OUTPUT_TOO_LARGE = "output_too_large"
    # Decoding would need more memory than the function has (estimated from the header, before a pixel
    # is decoded): only possible when an environment gives the function less memory than its pixel cap
    # needs (the stacks refuse to synthesize that) or a new format costs more than measured.
    EXCEEDS_MEMORY_BUDGET = "exceeds_memory_budget"
    # The core raised something other than ImageRejected on these bytes: deterministic, so recorded
    # (and alarmed) by the worker instead of retried.
    PROCESSING_FAILED = "processing_failed"


class ImageRejected(Exception):  # noqa: N818 - a verdict on the input, not a program error
    """The input cannot become variants; ``reason`` is the machine-readable code recorded for it."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
