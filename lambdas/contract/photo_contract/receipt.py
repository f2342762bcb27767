"""What the worker found in an original and what it did with it: the privacy receipt and the provenance
record of each ready image. The worker fills them (``photo_resize.metadata``), the registry stores them,
the API and the ``Image Ready`` event carry them; this module owns their fields and their JSON form.

Every variant is written with no metadata at all, so ``removed`` names what the original had that no
variant carries. ``taken_at``, the camera and the location are what the record keeps as data (the
camera and the location only where the environment's config says so).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Removed(StrEnum):
    """A kind of metadata found in an original and written into no variant."""

    EXIF = "exif"  # the EXIF block itself (capture settings, serial numbers, software…)
    GPS = "gps"
    MAKER_NOTES = "maker_notes"  # the camera maker's private EXIF block
    CAMERA = "camera"  # make and model
    EXIF_THUMBNAIL = "exif_thumbnail"  # a small copy of the picture, often of the uncropped original
    XMP = "xmp"
    IPTC = "iptc"
    C2PA = "c2pa"  # a C2PA manifest store (JUMBF)
    MOTION_PHOTO = "motion_photo"  # a video clip embedded in the still (Google, Samsung)
    COMMENT = "comment"  # JPEG COM, EXIF UserComment, PNG/GIF comments and descriptions


@dataclass(frozen=True, kw_only=True)
class ReceiptPolicy:
    """What the receipt keeps as data beyond the capture time: an environment's choice, off unless it
    opts in (a location is the most sensitive thing a photo carries)."""

    keep_camera: bool = False
    keep_location: bool = False

    def to_env(self) -> str:
        """``RECEIPT_KEEPS``: the kept fields, comma-separated ("" keeps neither)."""
        return ",".join(
            name for name, kept in (("camera", self.keep_camera), ("location", self.keep_location)) if kept
        )

    @classmethod
    def from_env(cls, value: str) -> ReceiptPolicy:
        names = {part.strip() for part in value.split(",") if part.strip()}
        unknown = names - {"camera", "location"}
        if unknown:
            raise ValueError(f"RECEIPT_KEEPS names unknown fields: {sorted(unknown)}")
        return cls(keep_camera="camera" in names, keep_location="location" in names)


# IPTC digital source types that declare a picture made (or partly made) by a trained model.
AI_SOURCE_TYPES = frozenset(
    {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "compositeSynthetic"}
)


@dataclass(frozen=True, kw_only=True)
class Provenance:
    """What the original said about its own making, read before it was stripped. Nothing here is
    verified: a manifest's signature is not checked, and any of these can be forged or removed."""

    c2pa_manifest: bool = False  # a C2PA manifest store was present
    claim_generator: str | None = None  # the manifest's claim generator, where it is plain text
    digital_source_type: str | None = None  # the IPTC term, e.g. "trainedAlgorithmicMedia"

    @property
    def declares_ai(self) -> bool:
        return self.digital_source_type in AI_SOURCE_TYPES


@dataclass(frozen=True, kw_only=True)
class PrivacyReceipt:
    removed: tuple[Removed, ...] = ()  # sorted, each kind once
    taken_at: str | None = None  # DateTimeOriginal, ISO 8601, with OffsetTimeOriginal where present
    orientation_applied: int = 1  # the EXIF orientation the pixels were turned by (1: none)
    colour_profile_converted: str | None = None  # the profile converted to sRGB from (None: none)
    camera_make: str | None = None  # only with the environment's keep-camera setting
    camera_model: str | None = None
    location: tuple[float, float] | None = None  # (lat, lon); only with the keep-location setting
    provenance: Provenance = field(default_factory=Provenance)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["removed"] = [kind.value for kind in self.removed]
        data["location"] = list(self.location) if self.location else None
        data["provenance"]["declares_ai"] = self.provenance.declares_ai
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrivacyReceipt:
        origin = dict(data.get("provenance") or {})
        origin.pop("declares_ai", None)  # derived
        location = data.get("location")
        return cls(
            removed=tuple(Removed(kind) for kind in data.get("removed", ())),
            taken_at=data.get("taken_at"),
            orientation_applied=int(data.get("orientation_applied", 1)),
            colour_profile_converted=data.get("colour_profile_converted"),
            camera_make=data.get("camera_make"),
            camera_model=data.get("camera_model"),
            location=(float(location[0]), float(location[1])) if location else None,
            provenance=Provenance(**origin),
        )

    @classmethod
    def from_json(cls, text: str) -> PrivacyReceipt:
        return cls.from_dict(json.loads(text))
