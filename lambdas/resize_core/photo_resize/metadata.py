"""Read what an original carries before the variants are written without it.

From what Pillow parsed when it opened the file (EXIF, XMP, APP segments, text chunks) and, for what
Pillow skips, a walk over the container's segment headers: JPEG markers up to the scan, PNG chunks,
RIFF chunks of a WebP, the top-level boxes of a HEIF. No pixel is decoded and nothing is validated: a
manifest's signature is not checked (see ``photo_contract.receipt``).
"""

from __future__ import annotations

import contextlib
import math
import re
import struct
from dataclasses import dataclass
from datetime import datetime

from photo_contract.receipt import PrivacyReceipt, Provenance, ReceiptPolicy, Removed
from PIL import ExifTags, Image

_EXIF_IFD = ExifTags.IFD.Exif
_GPS_IFD = ExifTags.IFD.GPSInfo
_IFD1 = ExifTags.IFD.IFD1
_MAKE, _MODEL, _DESCRIPTION = 0x010F, 0x0110, 0x010E
_MAKER_NOTE, _USER_COMMENT = 0x927C, 0x9286
_DATE_TIME_ORIGINAL, _OFFSET_TIME_ORIGINAL = 0x9003, 0x9011
_IPTC_RESOURCE = b"8BIM\x04\x04"
# The C2PA specification's UUID for a manifest store in an ISO BMFF file (HEIF, AVIF): a top-level box.
_C2PA_BMFF_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
_SOURCE_TYPE = re.compile(rb"digitalsourcetype/([A-Za-z]+)")
_MOTION_XMP = re.compile(rb"MotionPhoto|MicroVideo")
_SAMSUNG_MOTION = b"MotionPhoto_Data"  # the trailer tag of a Samsung motion photo, at the file's end
_TAIL = 1 << 20


@dataclass
class _Found:
    removed: set[Removed]
    xmp: bytes = b""
    manifest: bytes = b""


def read_receipt(
    data: bytes,
    image: Image.Image,
    policy: ReceiptPolicy,
    *,
    orientation: int,
    colour_profile: str | None,
) -> PrivacyReceipt:
    """The receipt of an opened original: ``image`` as Pillow opened it (nothing decoded yet), the
    orientation the core applies and the profile it converts from."""
    found = _Found(set())
    exif = _exif(image)
    if image.info.get("exif"):  # the block itself (Pillow's getexif also reads tiff: tags from XMP)
        found.removed.add(Removed.EXIF)
    camera = _read_exif(exif, found)
    _read_info(image, found)
    _walk_container(data, str(image.format), found)
    if _MOTION_XMP.search(found.xmp) or _SAMSUNG_MOTION in data[-_TAIL:]:
        found.removed.add(Removed.MOTION_PHOTO)
    return PrivacyReceipt(
        removed=tuple(sorted(found.removed)),
        taken_at=_taken_at(exif),
        orientation_applied=orientation,
        colour_profile_converted=colour_profile,
        camera_make=camera[0] if policy.keep_camera else None,
        camera_model=camera[1] if policy.keep_camera else None,
        location=_location(exif) if policy.keep_location else None,
        provenance=_provenance(found),
    )


def _exif(image: Image.Image) -> Image.Exif | None:
    try:
        exif = image.getexif()
    except Exception:  # a broken EXIF block must not cost the photo (it is dropped all the same)
        return None
    return exif if len(exif) or exif.get_ifd(_EXIF_IFD) else None


def _read_exif(exif: Image.Exif | None, found: _Found) -> tuple[str | None, str | None]:
    if exif is None:
        return None, None
    with contextlib.suppress(Exception):  # one unreadable IFD: the others still count
        if exif.get_ifd(_GPS_IFD):
            found.removed.add(Removed.GPS)
        details = exif.get_ifd(_EXIF_IFD)
        if _MAKER_NOTE in details:
            found.removed.add(Removed.MAKER_NOTES)
        if _has_text(details.get(_USER_COMMENT)) or _has_text(exif.get(_DESCRIPTION)):
            found.removed.add(Removed.COMMENT)
        if exif.get_ifd(_IFD1):
            found.removed.add(Removed.EXIF_THUMBNAIL)
    make, model = _text(exif.get(_MAKE)), _text(exif.get(_MODEL))
    if make or model:
        found.removed.add(Removed.CAMERA)
    return make, model


def _read_info(image: Image.Image, found: _Found) -> None:
    info = image.info
    xmp = info.get("xmp") or info.get("XML:com.adobe.xmp")
    if xmp:
        found.removed.add(Removed.XMP)
        found.xmp = xmp if isinstance(xmp, bytes) else str(xmp).encode()
    if _has_text(info.get("comment")) or any(_has_text(info.get(k)) for k in ("Comment", "Description")):
        found.removed.add(Removed.COMMENT)
    photoshop = info.get("photoshop")
    if (isinstance(photoshop, dict) and 0x0404 in photoshop) or "Raw profile type iptc" in info:
        found.removed.add(Removed.IPTC)
    if info.get("thumbnails"):  # HEIF: thumbnail items beside the primary image
        found.removed.add(Removed.EXIF_THUMBNAIL)
    for marker, segment in getattr(image, "applist", ()):
        if marker == "APP13" and _IPTC_RESOURCE in segment:
            found.removed.add(Removed.IPTC)
        elif marker == "APP11" and segment[:2] == b"JP" and b"jumb" in segment[:64]:
            # JUMBF: "JP", box instance (2), sequence number (4), then the box; a continuation repeats
            # the box header (8 bytes), which the claim reader skips over harmlessly.
            found.manifest += segment[8:]
        elif marker == "COM" and segment.strip(b"\x00 "):
            found.removed.add(Removed.COMMENT)
    if b"c2pa" in found.manifest:
        found.removed.add(Removed.C2PA)


def _walk_container(data: bytes, image_format: str, found: _Found) -> None:
    """Manifests where Pillow does not look: a PNG ``caBX`` chunk, a WebP ``C2PA`` chunk, a HEIF
    top-level ``uuid`` box."""
    manifest = b""
    if image_format == "PNG":
        manifest = _png_chunk(data, b"caBX")
    elif image_format == "WEBP":
        manifest = _riff_chunk(data, b"C2PA")
    elif image_format == "HEIF":
        manifest = _bmff_uuid(data, _C2PA_BMFF_UUID)
    if manifest:
        found.manifest += manifest
        found.removed.add(Removed.C2PA)


def _png_chunk(data: bytes, wanted: bytes) -> bytes:
    position = 8
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        if kind == wanted:
            return data[position + 8 : position + 8 + length]
        if kind == b"IEND":
            break
        position += 12 + length
    return b""


def _riff_chunk(data: bytes, wanted: bytes) -> bytes:
    position = 12
    while position + 8 <= len(data):
        kind, length = struct.unpack_from("<4sI", data, position)
        if kind == wanted:
            return data[position + 8 : position + 8 + length]
        position += 8 + length + (length & 1)
    return b""


def _bmff_uuid(data: bytes, wanted: bytes) -> bytes:
    position = 0
    while position + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, position)
        header = 8
        if size == 1 and position + 16 <= len(data):
            size, header = struct.unpack_from(">Q", data, position + 8)[0], 16
        elif size == 0:
            size = len(data) - position
        if size < header:
            break
        if kind == b"uuid" and data[position + header : position + header + 16] == wanted:
            return data[position + header + 16 : position + size]
        position += size
    return b""


def _provenance(found: _Found) -> Provenance:
    term = _SOURCE_TYPE.search(found.xmp) or _SOURCE_TYPE.search(found.manifest)
    return Provenance(
        c2pa_manifest=Removed.C2PA in found.removed,
        claim_generator=_claim_generator(found.manifest) if found.manifest else None,
        digital_source_type=term.group(1).decode() if term else None,
    )


def _claim_generator(manifest: bytes) -> str | None:
    """The claim's generator, as CBOR text: ``claim_generator`` (C2PA 1.x) or the first ``name`` of
    ``claim_generator_info`` (2.x)."""
    key = b"\x6fclaim_generator"  # CBOR text string of 15 bytes
    at = manifest.find(key)
    if at >= 0 and manifest[at + len(key) : at + len(key) + 1] != b"_":
        return _cbor_text(manifest, at + len(key))
    info = manifest.find(b"\x74claim_generator_info")
    if info >= 0:
        name = manifest.find(b"\x64name", info, info + 256)
        if name >= 0:
            return _cbor_text(manifest, name + 5)
    return None


def _cbor_text(data: bytes, at: int) -> str | None:
    if at >= len(data) or data[at] >> 5 != 3:
        return None
    short = data[at] & 0x1F
    if short < 24:
        length, start = short, at + 1
    elif short == 24 and at + 1 < len(data):
        length, start = data[at + 1], at + 2
    elif short == 25 and at + 2 < len(data):
        length, start = struct.unpack_from(">H", data, at + 1)[0], at + 3
    else:
        return None
    text = data[start : start + min(length, 200)].decode("utf-8", "replace")
    return text if text.isprintable() else None


def _taken_at(exif: Image.Exif | None) -> str | None:
    if exif is None:
        return None
    try:
        details = exif.get_ifd(_EXIF_IFD)
        taken = datetime.strptime(
            str(details.get(_DATE_TIME_ORIGINAL, "")).strip("\x00 "), "%Y:%m:%d %H:%M:%S"
        )
    except Exception:
        return None
    offset = str(details.get(_OFFSET_TIME_ORIGINAL) or "").strip("\x00 ")
    stamp = taken.isoformat()
    return stamp + offset if re.fullmatch(r"[+-]\d\d:\d\d|Z", offset) else stamp


def _location(exif: Image.Exif | None) -> tuple[float, float] | None:
    if exif is None:
        return None
    try:
        gps = exif.get_ifd(_GPS_IFD)
        lat = _degrees(gps[2]) * (-1 if str(gps.get(1, "N")).upper().startswith("S") else 1)
        lon = _degrees(gps[4]) * (-1 if str(gps.get(3, "E")).upper().startswith("W") else 1)
    except Exception:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180):
        return None  # a GPS block without a fix (zero denominators) says nothing
    return round(lat, 6), round(lon, 6)


def _degrees(parts: tuple[float, float, float]) -> float:
    degrees, minutes, seconds = (float(p) for p in parts)
    return degrees + minutes / 60 + seconds / 3600


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip("\x00 ") if value is not None else ""
    return text or None


def _has_text(value: object) -> bool:
    if isinstance(value, bytes):
        # EXIF UserComment: an 8-byte character-code prefix, then the text (often all NULs or spaces).
        value = value[8:] if value[:8] in (b"ASCII\x00\x00\x00", b"UNICODE\x00", b"\x00" * 8) else value
        return bool(value.strip(b"\x00 "))
    return _text(value) is not None
