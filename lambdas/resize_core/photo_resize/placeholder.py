"""ThumbHash (https://evanw.github.io/thumbhash/) of an opaque picture: the reference encoder's bytes,
a third of its time.

The reference (the ``thumbhash`` package, kept as the tests' oracle) sums every pixel once per
coefficient in pure Python. The transform is separable, so this sums each row once per horizontal
frequency, then those row sums once per coefficient (``math.fsum``: exact sums, so a coefficient that is
zero comes out zero). Pictures here are always opaque (the variants are flattened), so the alpha
channel of the format is never written.
"""

from __future__ import annotations

import math
from operator import mul

from PIL import Image

MAX_SIDE = 100  # the format's limit on the encoder's input
_LUMA_TERMS = 7  # along the longer side, for an opaque picture


def thumb_hash(image: Image.Image) -> bytes:
    """The ThumbHash of an RGB picture of at most ``MAX_SIDE`` a side."""
    if image.mode != "RGB":
        raise ValueError(f"an RGB picture is needed, got {image.mode}")
    w, h = image.size
    if w > MAX_SIDE or h > MAX_SIDE:
        raise ValueError(f"{w}x{h} does not fit in {MAX_SIDE}x{MAX_SIDE}")
    unit = 1.0 / 255  # the reference's alpha / 255 with alpha 1: the same floats, bit for bit
    data = image.tobytes()
    red = [unit * v for v in data[0::3]]
    green = [unit * v for v in data[1::3]]
    blue = [unit * v for v in data[2::3]]
    luma = [(r + g + b) / 3 for r, g, b in zip(red, green, blue, strict=True)]
    p = [(r + g) / 2 - b for r, g, b in zip(red, green, blue, strict=True)]
    q = [r - g for r, g in zip(red, green, strict=True)]

    lx = max(1, round(_LUMA_TERMS * w / max(w, h)))
    ly = max(1, round(_LUMA_TERMS * h / max(w, h)))
    l_dc, l_ac, l_scale = _channel(luma, w, h, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _channel(p, w, h, 3, 3)
    q_dc, q_ac, q_scale = _channel(q, w, h, 3, 3)

    landscape = w > h
    header24 = (
        round(63 * l_dc)
        | (round(31.5 + 31.5 * p_dc) << 6)
        | (round(31.5 + 31.5 * q_dc) << 12)
        | (round(31 * l_scale) << 18)
    )
    header16 = (ly if landscape else lx) | (round(63 * p_scale) << 3) | (round(63 * q_scale) << 9)
    header16 |= int(landscape) << 15
    out = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    nibbles = [round(15.0 * f) for f in (*l_ac, *p_ac, *q_ac)]
    for i in range(0, len(nibbles), 2):
        out.append(nibbles[i] | (nibbles[i + 1] << 4 if i + 1 < len(nibbles) else 0))
    return bytes(out)


def _channel(values: list[float], w: int, h: int, nx: int, ny: int) -> tuple[float, list[float], float]:
    """(DC, AC scaled to 0..1, AC scale): the reference's coefficients, in its order (rows of cy, cx
    while ``cx * ny < nx * (ny - cy)``)."""
    rows = [values[y * w : (y + 1) * w] for y in range(h)]
    # Per horizontal frequency, each row's sum against that cosine.
    row_sums = []
    for cx in range(nx):
        fx = [math.cos(math.pi / w * cx * (x + 0.5)) for x in range(w)]
        row_sums.append([math.fsum(map(mul, row, fx)) for row in rows])
    dc, ac, scale = 0.0, [], 0.0
    for cy in range(ny):
        fy = [math.cos(math.pi / h * cy * (y + 0.5)) for y in range(h)]
        cx = 0
        while cx * ny < nx * (ny - cy):
            f = math.fsum(map(mul, row_sums[cx], fy)) / (w * h)
            if cx or cy:
                ac.append(f)
                scale = max(scale, abs(f))
            else:
                dc = f
            cx += 1
    if scale:
        ac = [0.5 + 0.5 / scale * f for f in ac]
    return dc, ac, scale
