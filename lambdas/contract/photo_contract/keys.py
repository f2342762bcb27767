"""The object-key layout. The server chooses every key; nothing a client sends becomes a path segment
except the owner, which comes from the verified token and is checked against a strict pattern."""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass

UPLOADS_PREFIX = "uploads/"  # originals, uploads bucket: the only prefix that triggers the resize queue
DERIVED_PREFIX = "images/"  # variants, media bucket: no trigger sees it
HELD_PREFIX = "held/"  # variants held for review, media bucket: the CDN is denied this prefix
REPROCESS_REPORTS_PREFIX = "reports/reprocess/"  # a run's results, in its reports bucket

CONTENT_TYPE_EXTENSIONS: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/heic": "heic",
    "image/heif": "heif",
}

_OWNER = re.compile(r"[A-Za-z0-9_-]{1,128}")
_IMAGE_ID = re.compile(r"[0-9a-f]{32}")
_VERSION = re.compile(r"[0-9a-f]{1,64}(-[0-9]{1,5})?")  # an S3 ETag without its quotes
_EXTENSIONS = frozenset(CONTENT_TYPE_EXTENSIONS.values())


def is_valid_owner(owner: str) -> bool:
    return _OWNER.fullmatch(owner) is not None


def is_valid_image_id(image_id: str) -> bool:
    return _IMAGE_ID.fullmatch(image_id) is not None


_last_id = 0
_id_lock = threading.Lock()


def new_image_id() -> str:
    """32 hex digits that sort by creation time (a UUIDv7 layout: 48 bits of Unix milliseconds, the
    version nibble, then random bits), so an owner's images are listed newest first by key order alone.
    Within one process ids strictly increase, also inside one millisecond (the photos of one post keep
    their order)."""
    global _last_id
    millis = time.time_ns() // 1_000_000
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    with _id_lock:
        if value <= _last_id:
            value = _last_id + 1
        _last_id = value
    return f"{value:032x}"


@dataclass(frozen=True, kw_only=True)
class ImageKeys:
    """Every key of one image, derived from (owner, image id, extension) and nothing else."""

    owner: str
    image_id: str
    extension: str

    def __post_init__(self) -> None:
        if not is_valid_owner(self.owner):
            raise ValueError(f"owner must match {_OWNER.pattern}, got {self.owner!r}")
        if not is_valid_image_id(self.image_id):
            raise ValueError(f"image id must be 32 lowercase hex digits, got {self.image_id!r}")
        if self.extension not in _EXTENSIONS:
            raise ValueError(f"extension must be one of {sorted(_EXTENSIONS)}, got {self.extension!r}")

    @classmethod
    def for_upload(cls, *, owner: str, image_id: str, content_type: str) -> ImageKeys:
        return cls(owner=owner, image_id=image_id, extension=CONTENT_TYPE_EXTENSIONS[content_type])

    @classmethod
    def parse_source(cls, key: str) -> ImageKeys | None:
        """The keys behind an original's object key, or None for anything outside the layout."""
        if not key.startswith(UPLOADS_PREFIX):
            return None
        owner, _, filename = key[len(UPLOADS_PREFIX) :].partition("/")
        image_id, _, extension = filename.partition(".")
        try:
            return cls(owner=owner, image_id=image_id, extension=extension)
        except ValueError:
            return None

    @property
    def source(self) -> str:
        return f"{UPLOADS_PREFIX}{self.owner}/{self.image_id}.{self.extension}"

    @property
    def derived_prefix(self) -> str:
        return derived_prefix(self.owner, self.image_id)

    def variant(self, name: str, extension: str, *, version: str) -> str:
        """Immutable: each source version's variants live under a prefix of their own, so a re-upload
        writes new keys and the record switches from one complete set to the other."""
        if _VERSION.fullmatch(version) is None:
            raise ValueError(f"version must be an S3 ETag, got {version!r}")
        return f"{self.derived_prefix}{version}/{name}.{extension}"

    def held_variant(self, name: str, extension: str, *, version: str) -> str:
        """Where a held image's variant waits for review: the same layout under ``HELD_PREFIX``."""
        return HELD_PREFIX + self.variant(name, extension, version=version)[len(DERIVED_PREFIX) :]

    @staticmethod
    def released(held_key: str) -> str:
        """The served key of a held variant (once cleared)."""
        if not held_key.startswith(HELD_PREFIX):
            raise ValueError(f"not a held key: {held_key!r}")
        return DERIVED_PREFIX + held_key[len(HELD_PREFIX) :]


def derived_prefix(owner: str, image_id: str) -> str:
    """Every variant of every version of an image lives under this prefix."""
    return f"{DERIVED_PREFIX}{owner}/{image_id}/"


def held_prefix(owner: str, image_id: str) -> str:
    """Every held variant of an image lives under this prefix."""
    return f"{HELD_PREFIX}{owner}/{image_id}/"


def source_prefix(owner: str, image_id: str) -> str:
    """The original's key without its extension: what the API knows of it from an id."""
    return f"{UPLOADS_PREFIX}{owner}/{image_id}."
