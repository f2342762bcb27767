"""The object-key layout. The server chooses every key; nothing a client sends becomes a path segment
except the owner, which comes from the verified token and is checked against a strict pattern."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

UPLOADS_PREFIX = "uploads/"  # originals, uploads bucket: the only prefix that triggers the resize queue
DERIVED_PREFIX = "images/"  # variants and records, media bucket: no trigger sees it

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
_EXTENSIONS = frozenset(CONTENT_TYPE_EXTENSIONS.values())


def is_valid_owner(owner: str) -> bool:
    return _OWNER.fullmatch(owner) is not None


def is_valid_image_id(image_id: str) -> bool:
    return _IMAGE_ID.fullmatch(image_id) is not None


def new_image_id() -> str:
    return uuid.uuid4().hex


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
        return f"{DERIVED_PREFIX}{self.owner}/{self.image_id}/"

    @property
    def manifest(self) -> str:
        return f"{self.derived_prefix}manifest.json"

    @property
    def rejection(self) -> str:
        return f"{self.derived_prefix}rejected.json"

    def variant(self, name: str, extension: str) -> str:
        return f"{self.derived_prefix}{name}.{extension}"


def derived_keys(owner: str, image_id: str) -> tuple[str, str]:
    """(manifest key, rejection key) of an image when only its id is known, as the API knows it."""
    prefix = f"{DERIVED_PREFIX}{owner}/{image_id}/"
    return f"{prefix}manifest.json", f"{prefix}rejected.json"
