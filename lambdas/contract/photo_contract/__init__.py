"""What the upload API and the resize worker agree on. Standard library only, so both can ship it."""

from photo_contract.keys import (
    CONTENT_TYPE_EXTENSIONS,
    DERIVED_PREFIX,
    HELD_PREFIX,
    UPLOADS_PREFIX,
    ImageKeys,
    derived_prefix,
    held_prefix,
    is_valid_image_id,
    is_valid_owner,
    new_image_id,
    source_prefix,
)
from photo_contract.records import VariantRecord

__all__ = [
    "CONTENT_TYPE_EXTENSIONS",
    "DERIVED_PREFIX",
    "HELD_PREFIX",
    "UPLOADS_PREFIX",
    "ImageKeys",
    "VariantRecord",
    "derived_prefix",
    "held_prefix",
    "is_valid_image_id",
    "is_valid_owner",
    "new_image_id",
    "source_prefix",
]
