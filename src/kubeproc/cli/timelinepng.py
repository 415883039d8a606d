"""The timeline picture as a PNG: a small rasterizer of rectangles and lines, no Pillow.

Pure: ``render(picture) -> bytes``. Shapes are painted back to front into one RGB
buffer (``bytearray``, 3 bytes a pixel), then written as an 8-bit truecolour PNG:
``IHDR``, two ``tEXt`` chunks, one ``IDAT`` (every row with filter 0, zlib), ``IEND``,
each with its CRC (RFC 2083). Labels are drawn with ``timelinefont``, a 5 by 7 bitmap
font of capitals and digits, their baseline where the SVG's text has its own. The
``tEXt`` chunk ``kubeproc-axis`` holds ``start end left right`` (the axis as the SVG's
root records it), so a reader can map a time to its column.

Only axis-parallel lines are drawn (the layout makes no others), one pixel wide.
"""

from __future__ import annotations

import struct
import zlib

from kubeproc.cli import timelinefont
from kubeproc.cli.timelinelayout import Color, Line, Picture, Rect, Text

AXIS_KEY = b"kubeproc-axis"


def rgb(color: str) -> bytes:
    """``#rrggbb`` as three bytes."""
    return bytes.fromhex(color.removeprefix("#"))


class Canvas:
    """A width by height RGB buffer; drawing clips to it."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(width * height * 3)

    def fill(self, x: int, y: int, w: int, h: int, color: bytes) -> None:
        x0, x1 = max(0, x), min(self.width, x + w)
        y0, y1 = max(0, y), min(self.height, y + h)
        if x0 >= x1 or y0 >= y1:
            return
        run = color * (x1 - x0)
        for row in range(y0, y1):
            at = (row * self.width + x0) * 3
            self.pixels[at : at + len(run)] = run

    def line(self, shape: Line, color: bytes) -> None:
        if shape.x1 != shape.x2 and shape.y1 != shape.y2:
            raise ValueError("only horizontal and vertical lines are drawn")
        x, y = min(shape.x1, shape.x2), min(shape.y1, shape.y2)
        self.fill(x, y, abs(shape.x2 - shape.x1) + 1, abs(shape.y2 - shape.y1) + 1, color)

    def text(self, shape: Text, color: bytes) -> None:
        """The label in the bitmap font, its baseline at ``shape.y``, anchored as in SVG."""
        width = timelinefont.text_width(shape.text)
        x0 = shape.x - {"middle": width // 2, "end": width}.get(shape.anchor, 0)
        y0 = shape.y - timelinefont.HEIGHT
        for i, ch in enumerate(shape.text):
            left = x0 + i * timelinefont.ADVANCE
            for dx, dy in timelinefont.pixels(ch):
                self.fill(left + dx, y0 + dy, 1, 1, color)

    def png(self, text: dict[bytes, bytes]) -> bytes:
        stride = self.width * 3
        raw = b"".join(
            b"\x00" + bytes(self.pixels[r * stride : (r + 1) * stride]) for r in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        chunks = [_chunk(b"IHDR", header)]
        chunks += [_chunk(b"tEXt", key + b"\x00" + value) for key, value in text.items()]
        chunks += [_chunk(b"IDAT", zlib.compress(raw, 6)), _chunk(b"IEND", b"")]
        return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def render(picture: Picture) -> bytes:
    canvas = Canvas(picture.width, picture.height)
    for shape in picture.shapes:
        if isinstance(shape, Rect):
            canvas.fill(shape.x, shape.y, shape.w, shape.h, rgb(shape.fill))
        elif isinstance(shape, Line):
            canvas.line(shape, rgb(shape.stroke))
        else:
            canvas.text(shape, rgb(Color.TEXT))
    axis = picture.axis
    value = f"{axis.start!r} {axis.end!r} {axis.left} {axis.right}".encode()
    return canvas.png({AXIS_KEY: value, b"Title": f"{picture.title} timeline".encode()})
