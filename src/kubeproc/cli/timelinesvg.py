"""The timeline picture as SVG text: one element per shape of ``timelinelayout``.

Pure: ``render(picture) -> str``. Each element carries its shape's ``kind`` as its
``class`` (``attempt failure``, ``restart``, ``lane-label``...) and attempts and state
segments a ``<title>`` (what a browser shows on hover), so the picture can be read, and
tested, as XML. The root records the axis (``data-start``/``data-end`` in seconds since
the epoch, ``data-left``/``data-right`` in pixels), which maps any time to its column.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from kubeproc.cli.timelinelayout import Line, Picture, Rect, Shape

FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif' font-size='12'"


def _element(shape: Shape) -> str:
    cls = f" class={quoteattr(shape.kind)}" if shape.kind else ""
    if isinstance(shape, Rect):
        attrs = f"x='{shape.x}' y='{shape.y}' width='{shape.w}' height='{shape.h}'"
        body = f"<title>{escape(shape.title)}</title>" if shape.title else ""
        if body:
            return f"<rect{cls} {attrs} fill='{shape.fill}'>{body}</rect>"
        return f"<rect{cls} {attrs} fill='{shape.fill}'/>"
    if isinstance(shape, Line):
        # Half-pixel offsets put a one-pixel line on one column, as the PNG draws it.
        x1, x2 = shape.x1 + 0.5, shape.x2 + 0.5
        y1, y2 = shape.y1 + 0.5, shape.y2 + 0.5
        return (
            f"<line{cls} x1='{x1}' y1='{y1}' x2='{x2}' y2='{y2}' "
            f"stroke='{shape.stroke}' stroke-width='1'/>"
        )
    anchor = f" text-anchor='{shape.anchor}'" if shape.anchor != "start" else ""
    return f"<text{cls} x='{shape.x}' y='{shape.y}'{anchor}>{escape(shape.text)}</text>"


def render(picture: Picture) -> str:
    axis = picture.axis
    head = (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{picture.width}' "
        f"height='{picture.height}' viewBox='0 0 {picture.width} {picture.height}' "
        f"data-start='{axis.start!r}' data-end='{axis.end!r}' "
        f"data-left='{axis.left}' data-right='{axis.right}' {FONT}>"
    )
    lines = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        head,
        f"<title>{escape(picture.title)} timeline</title>",
        *(_element(s) for s in picture.shapes),
        "</svg>",
    ]
    return "\n".join(lines) + "\n"
