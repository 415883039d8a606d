"""The timeline of a pod that flapped, was restarted by its liveness probe and recovered.

One real node, one pod whose container (state on an emptyDir, so it survives the
restart) first flaps its readiness file for about eight seconds, then makes its
liveness probe fail; the kubelet kills it after two failures and starts it again
at once (a first restart has no back-off), and the new run is ready and healthy for
good. Once it is Ready again, ``kubeproc timeline`` draws it as PNG and SVG. The test
decodes the PNG itself (zlib and struct; no Pillow): its size is the one asked for,
and the restart marker is one column of the marker colour where the container's
``lastState.terminated.finishedAt`` maps on the picture's axis (within two pixels),
after the liveness failures that caused it. The SVG parses as XML and has the lanes
of the pod's two probes and two states.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Kubectl, Node, Result, wait_for
from tests.e2e.probe_timeline import stamp
from tests.e2e.test_kubelet_support import (
    container,
    container_status,
    get_pod,
    kubectl_for,
    namespace,
    pod_yaml,
    require_oci,
)

pytestmark = [pytest.mark.e2e]

WIDTH, HEIGHT = 1000, 240
RESTART_RGB = bytes.fromhex("c000c0")
FAILURE_RGB = bytes.fromhex("d62728")
SVG = "{http://www.w3.org/2000/svg}"
SCRIPT = """
if [ -f /data/restarted ]; then rm -f /data/sick; touch /data/ready; exec sleep 3600; fi
touch /data/restarted
for i in 1 2 3 4; do touch /data/ready; sleep 1; rm -f /data/ready; sleep 1; done
touch /data/ready /data/sick
exec sleep 3600
"""


@pytest.fixture(scope="module")
def kubectl(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    require_oci(node)
    return kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))


@pytest.fixture(scope="module")
def ns(kubectl: Kubectl) -> Iterator[str]:
    with namespace(kubectl, "timeline") as name:
        yield name


def kubeproc(node: Node, *args: str) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "kubeproc", *args, "--kubeconfig", str(node.kubeconfig)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "HOME": str(node.home)},
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def decode_png(data: bytes) -> tuple[int, int, bytes, dict[str, str]]:
    """Width, height, RGB pixels (rows without filter bytes) and tEXt of an RGB PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, text, width, height = 8, b"", {}, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(
            kind + body
        )
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert (depth, color, interlace) == (8, 2, 0)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"tEXt":
            key, _, value = body.partition(b"\x00")
            text[key.decode()] = value.decode()
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * 3 + 1
    assert len(raw) == stride * height
    assert {raw[r * stride] for r in range(height)} == {0}, "only filter type 0 is written"
    rgb = b"".join(raw[r * stride + 1 : (r + 1) * stride] for r in range(height))
    return width, height, rgb, text


def columns_of(rgb: bytes, width: int, y: int, color: bytes) -> list[int]:
    row = rgb[y * width * 3 : (y + 1) * width * 3]
    return [x for x in range(width) if row[x * 3 : x * 3 + 3] == color]


def recovered(kubectl: Kubectl, ns: str) -> dict[str, Any] | None:
    """The pod once restarted by its liveness probe, Ready again, and probed since."""
    pod = get_pod(kubectl, ns, "flappy")
    status = container_status(pod)
    if status.get("restartCount") != 1 or not status.get("ready"):
        return None
    running = stamp(status["state"]["running"]["startedAt"])
    history = json.loads(
        kubectl.ok("get", "--raw", f"/api/v1/namespaces/{ns}/pods/flappy/probehistory").out
    )
    liveness = next(p for p in history["probes"] if p["probe"] == "liveness")
    late = [a for a in liveness["attempts"] if stamp(a["start"]) > running + 2]
    return {"pod": pod, "history": history} if late else None


def test_the_timeline_of_a_flap_a_restart_and_a_recovery(
    node: Node, kubectl: Kubectl, ns: str, tmp_path: Path
) -> None:
    """PNG of the asked size with the restart marker at finishedAt; SVG with the lanes."""
    readiness = {"exec": {"command": ["test", "-f", "/data/ready"]},
                 "periodSeconds": 1, "failureThreshold": 1}  # fmt: skip
    liveness = {"exec": {"command": ["/bin/sh", "-c", "! test -f /data/sick"]},
                "periodSeconds": 1, "failureThreshold": 2}  # fmt: skip
    app = container(
        "app",
        SCRIPT,
        readinessProbe=readiness,
        livenessProbe=liveness,
        volumeMounts=[{"name": "data", "mountPath": "/data"}],
    )
    manifest = pod_yaml("flappy", ns, [app], volumes=[{"name": "data", "emptyDir": {}}])
    kubectl.ok("apply", "-f", "-", stdin=manifest)
    seen = wait_for(lambda: recovered(kubectl, ns), timeout=45, interval=0.5,
                    what="the pod restarted once and Ready again")  # fmt: skip
    term = container_status(seen["pod"])["lastState"]["terminated"]
    finished = stamp(term["finishedAt"])

    png, svg = tmp_path / "flappy.png", tmp_path / "flappy.svg"
    size = ("--width", str(WIDTH), "--height", str(HEIGHT))
    res = kubeproc(node, "timeline", "flappy", "-n", ns, "-o", str(png), *size)
    assert res.rc == 0, res.err
    assert f"({WIDTH}x{HEIGHT}, 1 restarts)" in res.out
    width, height, rgb, text = decode_png(png.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)

    start, end, left, right = (float(v) for v in text["kubeproc-axis"].split())

    def x_of(t: float) -> float:
        return left + (t - start) / (end - start) * (right - left)

    # Scan just above the axis: only the marker has its colour, there or anywhere.
    axis_rgb = bytes.fromhex("333333")
    bottom = max(
        y for y in range(height) if len(columns_of(rgb, width, y, axis_rgb)) > right - left
    )
    marker = columns_of(rgb, width, bottom - 1, RESTART_RGB)
    print(f"\nrestart finishedAt={term['finishedAt']} -> x={x_of(finished):.1f}, marker={marker}")
    assert len(marker) == 1
    assert abs(marker[0] - x_of(finished)) <= 2
    # After the liveness failures that caused it, before the new run's first attempt.
    liveness = next(p for p in seen["history"]["probes"] if p["probe"] == "liveness")
    failures = [stamp(a["start"]) for a in liveness["attempts"] if a["result"] == "failure"]
    after = [stamp(a["start"]) for a in liveness["attempts"] if stamp(a["start"]) > finished]
    assert len(failures) >= 2
    assert x_of(failures[-1]) - 2 <= marker[0] <= x_of(after[0]) + 2
    # The readiness flap is drawn: failure marks in the picture.
    assert any(columns_of(rgb, width, y, FAILURE_RGB) for y in range(height))

    res = kubeproc(node, "timeline", "flappy", "-n", ns, "-o", str(svg))
    assert res.rc == 0, res.err
    root = ET.fromstring(svg.read_text())
    assert root.get("width") == "1200"  # the default
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "lane-label"]
    assert labels == ["app liveness", "app readiness", "app ready", "app started"]
    restarts = [e for e in root.iter(f"{SVG}line") if e.get("class") == "restart"]
    assert len(restarts) == 1
    svg_x = float(restarts[0].get("x1", "0")) - 0.5
    axis = [float(root.get(k, "0")) for k in ("data-start", "data-end", "data-left", "data-right")]
    expected = axis[2] + (finished - axis[0]) / (axis[1] - axis[0]) * (axis[3] - axis[2])
    assert abs(svg_x - expected) <= 2
    classes = {e.get("class") for e in root.iter(f"{SVG}rect")}
    assert {"attempt success", "attempt failure", "state ready", "state started"} <= classes

    res = kubeproc(node, "timeline", "nope", "-n", ns, "-o", str(tmp_path / "n.png"))
    assert (res.rc, res.err.strip()) == (1, 'Error from server (NotFound): pods "nope" not found')
    res = kubeproc(node, "timeline", "flappy", "-n", ns, "-o", str(tmp_path / "t.gif"))
    assert res.rc == 1
    assert res.err.startswith('error: unknown output format ".gif"')
    assert "Traceback" not in res.err
