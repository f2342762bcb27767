"""The resize core of photo-pipeline: bytes in, variants out.

Pure on purpose: no boto3, no environment variables, no network. The resize Lambda reaches it through
the Pillow layer and the API container installs it from the same source.
"""

from photo_contract.variants import FEED_VARIANTS, Alternate, FitMode, OutputFormat, VariantSpec

from photo_resize.core import resize_image
from photo_resize.errors import ImageRejected, RejectReason
from photo_resize.spec import Encodings, RenderedVariant, ResizeOptions, ResizeResult

__all__ = [
    "FEED_VARIANTS",
    "Alternate",
    "Encodings",
    "FitMode",
    "ImageRejected",
    "OutputFormat",
    "RejectReason",
    "RenderedVariant",
    "ResizeOptions",
    "ResizeResult",
    "VariantSpec",
    "resize_image",
]
