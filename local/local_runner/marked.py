"""Images that carry provenance, for the tests, the receipt benchmark and the demo: a C2PA manifest store (JUMBF) in each container the worker reads,
and an XMP packet with IPTC's digital source type. Built here, byte by byte, from the specifications
(C2PA 2.1 §11.3 embedding; ISO 19566-5 JUMBF; RFC 8949 CBOR), not from the worker's reader."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

IPTC_TERMS = "http://cv.iptc.org/newscodes/digitalsourcetype/"
C2PA_BMFF_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
# The JUMBF description type of a C2PA manifest store: "c2pa" then ISO's 0011-0010-8000-00AA00389B71.
C2PA_STORE_TYPE = b"c2pa" + bytes.fromhex("00110010800000aa00389b71")


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _cbor_text(text: str) -> bytes:
    raw = text.encode()
    if len(raw) < 24:
        return bytes([0x60 | len(raw)]) + raw
    if len(raw) < 256:
        return bytes([0x78, len(raw)]) + raw
    return bytes([0x79]) + struct.pack(">H", len(raw)) + raw


def claim_cbor(*, generator: str, source_type: str | None, version: int = 1) -> bytes:
    """A claim map: {"claim_generator": …} (1.x) or {"claim_generator_info": [{"name": …}]} (2.x),
    with an actions assertion naming the digital source type."""
    entries = []
    if version == 1:
        entries.append(_cbor_text("claim_generator") + _cbor_text(generator))
    else:
        entries.append(
            _cbor_text("claim_generator_info") + b"\x81\xa1" + _cbor_text("name") + _cbor_text(generator)
        )
    if source_type:
        entries.append(_cbor_text("digitalSourceType") + _cbor_text(IPTC_TERMS + source_type))
    return bytes([0xA0 | len(entries)]) + b"".join(entries)


def manifest_store(
    *, generator: str = "TestCam/2.1 c2pa-rs/0.40", source_type: str | None = None, version: int = 1
) -> bytes:
    description = _box(b"jumd", C2PA_STORE_TYPE + b"\x03" + b"c2pa\x00")
    claim = _box(
        b"jumb",
        _box(b"jumd", b"c2cl" + bytes(12) + b"\x03c2pa.claim\x00")
        + _box(b"cbor", claim_cbor(generator=generator, source_type=source_type, version=version)),
    )
    return _box(b"jumb", description + claim)


def plain_jpeg(size: tuple[int, int] = (640, 480), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 140, 200)).save(out, "JPEG", quality=85, **save)
    return out.getvalue()


def jpeg_with_manifest(store: bytes) -> bytes:
    """The store in APP11 segments after SOI (C2PA: "JP", box instance 1, sequence number 1)."""
    data = plain_jpeg()
    payload = b"JP" + struct.pack(">HI", 1, 1) + store
    segment = b"\xff\xeb" + struct.pack(">H", 2 + len(payload)) + payload
    return data[:2] + segment + data[2:]


def png_with_manifest(store: bytes) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 120, 40)).save(out, "PNG")
    data = out.getvalue()
    chunk = struct.pack(">I", len(store)) + b"caBX" + store + struct.pack(">I", zlib.crc32(b"caBX" + store))
    after_header = 8 + 8 + 13 + 4  # signature, then IHDR
    return data[:after_header] + chunk + data[after_header:]


def webp_with_manifest(store: bytes) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (20, 160, 90)).save(out, "WEBP", quality=80)
    data = out.getvalue()
    chunk = b"C2PA" + struct.pack("<I", len(store)) + store + (b"\x00" if len(store) & 1 else b"")
    body = data[12:] + chunk
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def heif_with_manifest(heif: bytes, store: bytes) -> bytes:
    """A HEIF with the store in a top-level uuid box (C2PA's ISO BMFF embedding), appended."""
    return heif + _box(b"uuid", C2PA_BMFF_UUID + store)


def xmp_packet(source_type: str) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'Iptc4xmpExt:DigitalSourceType="{IPTC_TERMS}{source_type}"/></rdf:RDF></x:xmpmeta>'
    ).encode()


def jpeg_with_xmp(source_type: str) -> bytes:
    return plain_jpeg(xmp=xmp_packet(source_type))
