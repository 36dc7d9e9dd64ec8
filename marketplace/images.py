"""The sandbox marketplace's listing photos, drawn here from the image hash (the same hash
always gives the same picture): a product shot of sorts, its colours and shapes from the hash's
bits, the listing's title and category on a label. Real PNGs, so the console shows what a buyer
would, with no network and no stored files."""

from __future__ import annotations

import colorsys
import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

SIZE = (480, 360)


@lru_cache(maxsize=512)
def render(image_hash: str, title: str, category: str) -> bytes:
    bits = int.from_bytes(image_hash.encode(), "big")
    hue = bits % 360
    back = _hsv(hue, 0.25, 0.95)
    img = Image.new("RGB", SIZE, back)
    draw = ImageDraw.Draw(img)
    for i in range(3):  # the "product": three overlapping shapes, placed by the hash
        b = bits >> (i * 17)
        x, y = 60 + b % 240, 40 + (b >> 8) % 140
        w, h = 80 + (b >> 4) % 120, 60 + (b >> 9) % 100
        colour = _hsv((hue + 40 * (i + 1)) % 360, 0.6, 0.75 - 0.1 * i)
        shape = draw.ellipse if (b >> 3) % 2 else draw.rounded_rectangle
        shape((x, y, x + w, y + h), fill=colour, outline=(40, 40, 40), width=3)
    draw.rectangle((0, SIZE[1] - 70, SIZE[0], SIZE[1]), fill=(255, 255, 255))
    font = ImageFont.load_default(size=20)
    draw.text((14, SIZE[1] - 62), title[:40], fill=(20, 20, 20), font=font)
    draw.text((14, SIZE[1] - 32), f"{category} · {image_hash[:12]}", fill=(90, 90, 90),
              font=ImageFont.load_default(size=14))
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _hsv(hue: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(hue / 360, s, v)
    return round(r * 255), round(g * 255), round(b * 255)
