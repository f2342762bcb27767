"""The demo's 20 files: 19 photos from ../shared/corpus when it is there, or 19 made here when it is not
(a plain clone), and one broken file either way (a truncated JPEG) that must end rejected."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
CORPUS_PHOTOS = (
    *(
        f"camera/{name}"
        for name in (
            "canon-eos-5d-mk3_22mp.jpg",
            "kodak-pixpro-s1_16mp.jpg",
            "leica-t_16mp_orient8.jpg",
            "nikon-d3100_14mp.jpg",
            "oppo-r7plus_13mp_portrait.jpg",
            "samsung-galaxy-s7edge_12mp.jpg",
            "canon-eos-1000d_10mp_orient6.jpg",
            "seeding-clemens-engelhardt_16mp_progressive.jpg",
        )
    ),
    "orientation/Landscape_5.jpg",
    "orientation/Portrait_7.jpg",
    "formats/nikon-coolpix-p7000_10mp_orient6.webp",
    "formats/iphone11pro_12mp.heic",
    "formats/autumn-trees_rgba-opaque.png",
    "formats/skimage-coffee_600x400.png",
    "derived/seeding_cmyk_2400x1350.jpg",
    "derived/seeding_gray_3000x1688.jpg",
    "derived/seeding_cutout_rgba_1600x900.png",
    "derived/coffee_palette_600x400.png",
    "derived/seeding_pan_8frames_480x270.gif",
)
BROKEN_NAME = "broken-truncated.jpg"
CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".heic": "image/heic",
}
_ORIENTATION = 0x0112
_GPS_IFD = 0x8825


@dataclass
class DemoFile:
    name: str
    data: bytes
    content_type: str
    expect_rejected: bool = False


def corpus_available(corpus: Path = CORPUS) -> bool:
    return all((corpus / name).is_file() for name in CORPUS_PHOTOS)


def demo_files(corpus: Path = CORPUS) -> tuple[list[DemoFile], str]:
    """(the 20 files, where they came from): the corpus if it is there, else a set made here."""
    if corpus_available(corpus):
        files = [
            DemoFile(Path(name).name, (corpus / name).read_bytes(), CONTENT_TYPES[Path(name).suffix])
            for name in CORPUS_PHOTOS
        ]
        source = f"19 photos from {corpus}"
    else:
        files = generated_photos()
        source = f"19 images made here ({corpus} is absent)"
    good_jpeg = next(f.data for f in files if f.content_type == "image/jpeg" and len(f.data) > 100_000)
    broken = DemoFile(BROKEN_NAME, good_jpeg[: len(good_jpeg) * 2 // 5], "image/jpeg", expect_rejected=True)
    return [*files, broken], source


def generated_photos() -> list[DemoFile]:
    """19 camera-like inputs: full-size JPEGs in every EXIF orientation with GPS tags, portraits, a
    progressive JPEG, grayscale and CMYK, PNG with alpha and palette, WebP and an animated GIF."""
    files = [
        camera_jpeg(f"generated-12mp_orient{o}.jpg", (4032, 3024), orientation=o, hue=o * 30)
        for o in range(1, 9)
    ]
    files += [
        camera_jpeg("generated-24mp.jpg", (6000, 4000), hue=15),
        camera_jpeg("generated-12mp_portrait.jpg", (3024, 4032), hue=200),
        camera_jpeg("generated-16mp_progressive.jpg", (4608, 3456), hue=120, progressive=True),
        camera_jpeg("generated-gray_3000x2000.jpg", (3000, 2000), hue=0, mode="L"),
        camera_jpeg("generated-cmyk_2400x1600.jpg", (2400, 1600), hue=280, mode="CMYK"),
        _encoded("generated-rgba_1600x900.png", _scene((1600, 900), 60, alpha=True), "PNG"),
        _encoded("generated-palette_600x400.png", _scene((600, 400), 90).convert("P"), "PNG"),
        _encoded("generated-2000x1500.webp", _scene((2000, 1500), 160), "WEBP", quality=85),
        _encoded("generated-alpha_1200x1200.webp", _scene((1200, 1200), 240, alpha=True), "WEBP"),
        _encoded("generated-2400x1800.png", _scene((2400, 1800), 330), "PNG", compress_level=1),
        _gif("generated-8frames_480x270.gif", (480, 270)),
    ]
    return files


def _scene(size: tuple[int, int], hue: int, *, alpha: bool = False) -> Image.Image:
    """A recognisable picture: gradients, a sun off-centre, a horizon, and grain (so JPEGs weigh what
    camera files weigh)."""
    width, height = size
    radial = Image.radial_gradient("L").resize(size)
    linear = Image.linear_gradient("L").resize(size)
    grain = Image.effect_noise((max(1, width // 4), max(1, height // 4)), 40).resize(size)
    channels = (
        Image.blend(linear, grain, 0.35).point(lambda v: (v + hue) % 256),
        Image.blend(radial, grain, 0.25),
        linear.transpose(Image.Transpose.ROTATE_180),
    )
    image = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(image)
    draw.ellipse(
        (width * 0.62, height * 0.12, width * 0.82, height * 0.12 + width * 0.2), fill=(250, 210, 60)
    )
    draw.rectangle((0, height * 0.7, width, height), fill=(40, 90 + hue % 100, 50))
    draw.line((0, height * 0.7, width, height * 0.55), fill=(20, 20, 20), width=max(2, width // 200))
    if alpha:
        mask = Image.radial_gradient("L").resize(size).point(lambda v: 255 if v < 200 else 0)
        image.putalpha(mask)
    return image


def camera_jpeg(
    name: str,
    size: tuple[int, int],
    *,
    hue: int = 0,
    orientation: int = 1,
    mode: str = "RGB",
    progressive: bool = False,
) -> DemoFile:
    """A camera-like JPEG whose *upright* size is ``size``: stored turned as ``orientation`` says (as a
    camera stores it), with EXIF orientation and GPS tags."""
    upright = _scene(size, hue)
    stored = upright.transpose(_INVERSE[orientation]) if orientation in _INVERSE else upright
    exif = Image.Exif()
    exif[_ORIENTATION] = orientation
    gps = exif.get_ifd(_GPS_IFD)
    gps.update({1: "N", 2: (52.0, 22.0, 5.0), 3: "E", 4: (4.0, 53.0, 0.0)})
    out = io.BytesIO()
    stored.convert(mode).save(out, "JPEG", quality=90, exif=exif, progressive=progressive)
    return DemoFile(name, out.getvalue(), "image/jpeg")


def held_jpeg(name: str, size: tuple[int, int] = (1600, 1200)) -> DemoFile:
    """A picture the local moderator holds (strongly red: ``resize_worker.moderation.LocalModerator``),
    a stand-in for what Rekognition would flag."""
    out = io.BytesIO()
    Image.new("RGB", size, (200, 28, 36)).save(out, "JPEG", quality=85)
    return DemoFile(name, out.getvalue(), "image/jpeg")


def _encoded(name: str, image: Image.Image, fmt: str, **options: object) -> DemoFile:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return DemoFile(name, out.getvalue(), CONTENT_TYPES[Path(name).suffix])


def _gif(name: str, size: tuple[int, int]) -> DemoFile:
    frames = [_scene(size, hue).convert("P") for hue in range(0, 256, 32)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return DemoFile(name, out.getvalue(), "image/gif")


# How to store an upright picture so that EXIF orientation N turns it upright again.
_INVERSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
