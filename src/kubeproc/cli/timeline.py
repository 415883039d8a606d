"""``kubeproc timeline POD -o FILE.svg|FILE.png``: a pod's probes, states and restarts, drawn.

The thin effect: reads the pod, its events and its probe history from the API server
(with ``cli.probes``' kubeconfig handling and error words, as kubectl finds and says
them), hands them to ``timelinelayout`` with the current time, and writes what
``timelinesvg`` or ``timelinepng`` renders, chosen by the file's extension. Every
failure is one line on stderr and exit 1, never a traceback; an extension it cannot
write is refused before anything is fetched.
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from kubeproc.cli import timelinelayout, timelinepng, timelinesvg
from kubeproc.cli.probes import (
    CliError,
    Target,
    fetch,
    get_json,
    kubeconfig_path,
    load_target,
)

FORMATS = (".svg", ".png")
DEFAULT_WIDTH = 1200


def picture_of(
    target: Target, namespace: str, pod: str, width: int, height: int
) -> timelinelayout.Picture:
    quote = urllib.parse.quote
    base = f"/api/v1/namespaces/{quote(namespace)}"
    obj = get_json(target, f"{base}/pods/{quote(pod)}")
    selector = f"involvedObject.name={pod},involvedObject.kind=Pod"
    events = get_json(target, f"{base}/events", {"fieldSelector": selector}).get("items") or []
    history = fetch(target, namespace, pod, "")
    facts = timelinelayout.facts(obj, events, history, time.time())
    try:
        return timelinelayout.layout(facts, width, height or timelinelayout.default_height(facts))
    except ValueError as err:
        raise CliError(f"error: {err}") from None


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "timeline", help="draw a pod's probe attempts, ready/started state and restarts"
    )
    p.add_argument("pod", help="the pod's name")
    p.add_argument("-n", "--namespace", default="", help="the pod's namespace")
    p.add_argument("--kubeconfig", default=None, help="path to the kubeconfig file")
    p.add_argument("-o", "--output", required=True, help="the file to write: FILE.svg or FILE.png")
    p.add_argument("--width", type=int, default=DEFAULT_WIDTH, help="pixels (default 1200)")
    p.add_argument("--height", type=int, default=0, help="pixels (default: fits the lanes)")


def _write(args: argparse.Namespace) -> timelinelayout.Picture:
    out = Path(args.output)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise CliError(
            f'error: unknown output format "{suffix or args.output}": '
            "the file name must end in .svg or .png"
        )
    target = load_target(kubeconfig_path(args.kubeconfig))
    namespace = args.namespace or target.namespace
    picture = picture_of(target, namespace, args.pod, args.width, args.height)
    svg = suffix == ".svg"
    data = timelinesvg.render(picture).encode() if svg else timelinepng.render(picture)
    try:
        out.write_bytes(data)
    except OSError as err:
        raise CliError(f"error: open {out}: {err.strerror or err}") from None
    return picture


def run(args: argparse.Namespace) -> int:
    try:
        picture = _write(args)
    except CliError as err:
        print(str(err), file=sys.stderr)
        return 1
    size = f"{picture.width}x{picture.height}"
    restarts = sum(1 for s in picture.shapes if s.kind == "restart")
    print(f"pod/{args.pod} timeline written to {args.output} ({size}, {restarts} restarts)")
    return 0
