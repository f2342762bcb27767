"""The privacy receipt and the provenance record: what the core says it found and removed, checked
against what an independent reader (exifread, and this file's own walk over the containers) finds in
the original, and against every variant of every corpus image, in every format."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import exifread
import pillow_heif
import pytest
from local_runner import marked as made
from photo_contract.receipt import PrivacyReceipt, ReceiptPolicy, Removed
from photo_resize import FEED_VARIANTS, OutputFormat, ResizeOptions, resize_image
from PIL import Image

pillow_heif.register_heif_opener()
ALL_FORMATS = ResizeOptions(variants=FEED_VARIANTS)
CHECKED = {Removed.GPS, Removed.MAKER_NOTES, Removed.EXIF_THUMBNAIL, Removed.XMP, Removed.IPTC, Removed.C2PA}


# --- the independent reader ----------------------------------------------------------------------


def _jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of every segment before the first scan."""
    out, position = [], 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xDA:
            break
        (length,) = struct.unpack_from(">H", data, position + 2)
        out.append((marker, data[position + 4 : position + 2 + length]))
        position += 2 + length
    return out


def _exif_block(data: bytes) -> bytes | None:
    """The TIFF-structured EXIF of a PNG (eXIf) or WebP (EXIF chunk), which exifread does not read."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        position = 8
        while position + 8 <= len(data):
            length, kind = struct.unpack_from(">I4s", data, position)
            if kind == b"eXIf":
                return data[position + 8 : position + 8 + length]
            position += 12 + length
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        position = 12
        while position + 8 <= len(data):
            kind, length = struct.unpack_from("<4sI", data, position)
            if kind == b"EXIF":
                block = data[position + 8 : position + 8 + length]
                return block[6:] if block.startswith(b"Exif\x00\x00") else block
            position += 8 + length + (length & 1)
    return None


def _exif_tags(data: bytes) -> dict[str, object]:
    block = _exif_block(data)
    if block is not None:  # wrapped in a minimal JPEG APP1, the one container exifread reads for sure
        app1 = b"Exif\x00\x00" + block
        data = b"\xff\xd8\xff\xe1" + struct.pack(">H", 2 + len(app1)) + app1 + b"\xff\xd9"
    try:
        return dict(exifread.process_file(io.BytesIO(data), details=True, debug=False))
    except Exception:
        return {}


def carried(data: bytes) -> set[Removed]:
    """What an image file carries, read without the worker's code."""
    tags = _exif_tags(data)
    found = set()
    if any(k.startswith("GPS ") for k in tags):
        found.add(Removed.GPS)
    if any(k.startswith("MakerNote") or k == "EXIF MakerNote" for k in tags):
        found.add(Removed.MAKER_NOTES)
    if "JPEGThumbnail" in tags or "TIFFThumbnail" in tags:
        found.add(Removed.EXIF_THUMBNAIL)
    if b"<x:xmpmeta" in data or b"http://ns.adobe.com/xap/1.0/" in data:
        found.add(Removed.XMP)
    if b"8BIM\x04\x04" in data or b"Raw profile type iptc" in data:
        found.add(Removed.IPTC)
    if b"jumd" in data and b"c2pa" in data:
        found.add(Removed.C2PA)
    return found


def assert_bare(variant: bytes, label: str) -> None:
    """No GPS, XMP, maker notes, embedded thumbnail or JUMBF box, by three readers."""
    assert carried(variant) == set(), label
    assert _exif_tags(variant) == {}, label
    if variant[:2] == b"\xff\xd8":
        markers = {marker for marker, _ in _jpeg_segments(variant)}
        # APP1 (EXIF, XMP), APP11 (JUMBF), APP13 (IPTC), COM: none of them; APP0 (JFIF) at most.
        assert markers & {0xE1, 0xEB, 0xED, 0xFE} == set(), (label, sorted(markers))
    for marker in (b"Exif\x00\x00", b"jumb", made.C2PA_BMFF_UUID):
        assert marker not in variant, (label, marker)
    with Image.open(io.BytesIO(variant)) as reopened:
        assert dict(reopened.getexif()) == {}, label
        assert not ({"exif", "xmp", "XML:com.adobe.xmp"} & set(reopened.info)), label


# --- the corpus ------------------------------------------------------------------------------------


def _corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.glob("*/*") if p.suffix.lower() != ".md")


def test_every_variant_is_bare_and_every_receipt_names_what_the_original_had(corpus: Path) -> None:
    files = _corpus_files(corpus)
    assert len(files) >= 38
    seen: set[Removed] = set()
    formats: set[OutputFormat] = set()
    for path in files:
        data = path.read_bytes()
        result = resize_image(data, ALL_FORMATS)
        expected = carried(data)
        seen |= expected
        assert set(result.receipt.removed) & CHECKED == expected, path.name
        for variant in result.variants:
            formats.add(variant.format)
            assert_bare(variant.data, f"{path.name}:{variant.name}.{variant.format.extension}")
    # The corpus exercises the test: GPS, maker notes, thumbnails, XMP and IPTC occur in it.
    assert seen >= CHECKED - {Removed.C2PA}
    assert formats >= {OutputFormat.JPEG, OutputFormat.AVIF}


def test_the_receipt_keeps_capture_time_orientation_and_profile(corpus: Path) -> None:
    phone = resize_image((corpus / "formats/iphone11pro_12mp.heic").read_bytes(), ALL_FORMATS).receipt
    assert phone.taken_at == "2020-05-04T18:39:11-04:00"  # DateTimeOriginal with OffsetTimeOriginal
    assert phone.colour_profile_converted == "Display P3"
    turned = resize_image((corpus / "camera/canon-eos-1000d_10mp_orient6.jpg").read_bytes(), ALL_FORMATS)
    assert turned.receipt.orientation_applied == 6
    assert turned.receipt.taken_at == "2008-07-01T17:27:03"  # no offset recorded: local time as written


def test_camera_and_location_only_where_config_says_so(corpus: Path) -> None:
    data = (corpus / "camera/samsung-galaxy-s7edge_12mp.jpg").read_bytes()
    default = resize_image(data, ALL_FORMATS).receipt
    assert {Removed.GPS, Removed.CAMERA} <= set(default.removed)
    assert (default.camera_make, default.camera_model, default.location) == (None, None, None)
    policy = ReceiptPolicy(keep_camera=True, keep_location=True)
    kept = resize_image(data, ResizeOptions(variants=FEED_VARIANTS, receipt=policy)).receipt
    tags = _exif_tags(data)
    assert (kept.camera_make, kept.camera_model) == (str(tags["Image Make"]), str(tags["Image Model"]))
    assert kept.location is not None
    lat = [float(x.num) / float(x.den) for x in tags["GPS GPSLatitude"].values]  # type: ignore[attr-defined]
    assert kept.location[0] == pytest.approx(lat[0] + lat[1] / 60 + lat[2] / 3600, abs=1e-5)


def test_the_receipt_survives_its_json() -> None:
    result = resize_image(
        made.jpeg_with_manifest(made.manifest_store(source_type="trainedAlgorithmicMedia")), ALL_FORMATS
    )
    assert PrivacyReceipt.from_json(result.receipt.to_json()) == result.receipt


# --- provenance ----------------------------------------------------------------------------------


def _heif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 192), (120, 30, 60)).save(out, "HEIF", quality=60)
    return out.getvalue()


@pytest.mark.parametrize(
    "build",
    [
        made.jpeg_with_manifest,
        made.png_with_manifest,
        made.webp_with_manifest,
        lambda store: made.heif_with_manifest(_heif(), store),
    ],
    ids=["jpeg-app11", "png-caBX", "webp-C2PA", "heif-uuid"],
)
def test_a_c2pa_manifest_is_detected_in_every_container(build: object) -> None:
    store = made.manifest_store(generator="Firefly/3.0 c2pa-rs/0.49", source_type="trainedAlgorithmicMedia")
    data = build(store)  # type: ignore[operator]
    result = resize_image(data, ALL_FORMATS)
    origin = result.receipt.provenance
    assert origin.c2pa_manifest and Removed.C2PA in result.receipt.removed
    assert origin.claim_generator == "Firefly/3.0 c2pa-rs/0.49"
    assert origin.digital_source_type == "trainedAlgorithmicMedia" and origin.declares_ai
    for variant in result.variants:
        assert_bare(variant.data, variant.name)


def test_a_c2pa_2x_claim_names_its_generator_in_claim_generator_info() -> None:
    store = made.manifest_store(generator="Pixel Camera/10", version=2)
    origin = resize_image(made.jpeg_with_manifest(store), ALL_FORMATS).receipt.provenance
    assert (origin.c2pa_manifest, origin.claim_generator, origin.digital_source_type) == (
        True,
        "Pixel Camera/10",
        None,
    )


def test_the_iptc_digital_source_type_is_read_from_xmp() -> None:
    receipt = resize_image(made.jpeg_with_xmp("trainedAlgorithmicMedia"), ALL_FORMATS).receipt
    assert receipt.provenance.digital_source_type == "trainedAlgorithmicMedia"
    assert receipt.provenance.declares_ai and not receipt.provenance.c2pa_manifest
    assert Removed.XMP in receipt.removed
    camera = resize_image(made.jpeg_with_xmp("digitalCapture"), ALL_FORMATS).receipt.provenance
    assert camera.digital_source_type == "digitalCapture" and not camera.declares_ai


def test_no_provenance_is_claimed_for_the_corpus(corpus: Path) -> None:
    for path in _corpus_files(corpus):
        origin = resize_image(path.read_bytes(), ResizeOptions(variants=FEED_VARIANTS[:1])).receipt.provenance
        assert (origin.c2pa_manifest, origin.claim_generator, origin.digital_source_type) == (
            False,
            None,
            None,
        ), path.name


def test_a_motion_photo_is_named() -> None:
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description GCamera:MotionPhoto="1"/></rdf:RDF></x:xmpmeta>'
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(64)
    receipt = resize_image(made.plain_jpeg(xmp=xmp) + video, ALL_FORMATS).receipt
    assert Removed.MOTION_PHOTO in receipt.removed
    assert Removed.MOTION_PHOTO not in resize_image(made.plain_jpeg(), ALL_FORMATS).receipt.removed
