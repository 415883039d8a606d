"""Plays ``luksa/kubia-unhealthy``, the image of seed 001 (lab L2).

The original is a small node.js server on port 8080 that answers ``You've hit <hostname>``
to the first five requests and ``I'm not well. Please restart me!`` with status 500 to
every request after them, so an httpGet liveness probe on ``/`` starts failing after its
fifth attempt and the kubelet restarts the container. This program does the same with
the standard library only, and logs one line per request with the request's headers so
``kubectl logs`` shows the probe requests (``User-Agent: kube-probe/1.33``).

    python3 kubia_unhealthy.py [--port 8080] [--healthy-requests 5] [--ignore-sigterm]

SIGTERM ends it at once with status 0. ``--ignore-sigterm`` makes it behave like the
original image, whose node process runs as PID 1 without a handler and so ignores
SIGTERM: the kubelet then kills it after the grace period and the exit code reads 137.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any


def log(line: str) -> None:
    """One line on stdout, flushed at once so ``kubectl logs -f`` sees it immediately."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    print(f"{stamp} {line}", flush=True)


class Counter:
    """Requests seen so far; the handler threads share one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def next(self) -> int:
        with self._lock:
            self._count += 1
            return self._count


class KubiaHandler(BaseHTTPRequestHandler):
    server_version = "kubia-unhealthy"
    counter: Counter
    healthy_requests: int

    def do_GET(self) -> None:
        number = self.counter.next()
        if number > self.healthy_requests:
            status, body = 500, "I'm not well. Please restart me!"
        else:
            status, body = 200, f"You've hit {socket.gethostname()}\n"
        headers = " | ".join(f"{key}: {value}" for key, value in self.headers.items())
        log(
            f"Received request #{number} from {self.client_address[0]}: "
            f"{self.command} {self.path} -> {status} | {headers}"
        )
        payload = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's own stderr lines: ``do_GET`` logs each request once."""


def exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    log("SIGTERM received, exiting")
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--healthy-requests", type=int, default=5, help="requests answered 200 before the 500s"
    )
    parser.add_argument(
        "--ignore-sigterm", action="store_true", help="ignore SIGTERM as the original image does"
    )
    args = parser.parse_args(argv)

    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, exit_on_sigterm)
    KubiaHandler.counter = Counter()
    KubiaHandler.healthy_requests = args.healthy_requests
    # Every address: the kubelet dials the pod IP, a user may curl loopback.
    server = ThreadingHTTPServer(("0.0.0.0", args.port), KubiaHandler)  # noqa: S104
    log(f"Kubia server starting on port {args.port} (host {socket.gethostname()})")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
