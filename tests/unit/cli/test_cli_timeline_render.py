"""``kubeproc timeline``'s two renderers and its command: the same shapes, a valid file."""

from __future__ import annotations

import argparse
import struct
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest
from tests.unit.cli.test_cli_timeline import T0, history, killing, pod

from kubeproc.cli import timeline, timelinepng, timelinesvg
from kubeproc.cli.timelinelayout import Color, Line, default_height, facts, layout

SVG = "{http://www.w3.org/2000/svg}"


def decode_png(data: bytes) -> tuple[int, int, bytes, dict[str, str]]:
    """Width, height, RGB rows (no filter bytes) and tEXt of an 8-bit RGB PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, text = 8, b"", {}
    width = height = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert (depth, color) == (8, 2)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"tEXt":
            key, _, value = body.partition(b"\x00")
            text[key.decode()] = value.decode()
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 3 + 1
    assert all(raw[r * stride] == 0 for r in range(height))
    rows = b"".join(raw[r * stride + 1 : (r + 1) * stride] for r in range(height))
    return width, height, rows, text


def picture():  # type: ignore[no-untyped-def]
    doc = history(liveness=[(10, "success"), (20, "failure")], readiness=[(12, "success")])
    f = facts(pod(readiness={"exec": {}}, last_finished=30), [killing(5)], doc, now=T0 + 60)
    return layout(f, 900, default_height(f))


def test_png_has_the_size_and_the_restart_columns() -> None:
    """The PNG decodes; every restart line is a column of its colour at its x."""
    p = picture()
    width, height, rows, text = decode_png(timelinepng.render(p))
    assert (width, height) == (p.width, p.height)
    start, end, left, right = text["kubeproc-axis"].split()
    assert (float(start), float(end), int(left), int(right)) == (
        p.axis.start, p.axis.end, p.axis.left, p.axis.right,
    )  # fmt: skip
    markers = [s for s in p.shapes if isinstance(s, Line) and s.kind == "restart"]
    y = markers[0].y2
    magenta = bytes.fromhex(Color.RESTART.removeprefix("#"))
    found = [
        x for x in range(width) if rows[(y * width + x) * 3 : (y * width + x) * 3 + 3] == magenta
    ]
    assert found == sorted(p.axis.x(t) for t in (T0 + 5, T0 + 30))


def test_svg_parses_with_its_lanes_and_axis() -> None:
    """Well-formed XML; one label per lane; the root records the axis."""
    p = picture()
    root = ET.fromstring(timelinesvg.render(p))
    assert (root.get("width"), root.get("height")) == (str(p.width), str(p.height))
    assert float(root.get("data-start", "")) == p.axis.start
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "lane-label"]
    assert labels == ["app liveness", "app readiness", "app ready", "app started"]
    restarts = [e for e in root.iter(f"{SVG}line") if e.get("class") == "restart"]
    assert len(restarts) == 2
    failures = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "attempt failure"]
    assert [e.findtext(f"{SVG}title") for e in failures] == ["app liveness failure at 19:00:20"]


def args(output: str, kubeconfig: str) -> argparse.Namespace:
    return argparse.Namespace(
        pod="web", namespace="", kubeconfig=kubeconfig, output=output, width=1200, height=0
    )


def test_an_unknown_extension_is_refused_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One line on stderr, exit 1, nothing fetched (the kubeconfig is not even read)."""
    assert timeline.run(args(str(tmp_path / "t.jpg"), "/nonexistent")) == 1
    err = capsys.readouterr().err
    assert err == 'error: unknown output format ".jpg": the file name must end in .svg or .png\n'


def test_a_missing_kubeconfig_reads_as_kubectl_says_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """kubectl's words, no traceback, no file written."""
    out = tmp_path / "t.svg"
    assert timeline.run(args(str(out), str(tmp_path / "none"))) == 1
    assert (
        capsys.readouterr().err == f"error: stat {tmp_path / 'none'}: no such file or directory\n"
    )
    assert not out.exists()
