"""Plays ``test-server``, the Go ``test_server`` of seed 002 (lab L4).

The document's server answers ``/ready`` and ``/health`` on port 80 and prints ``Get ready
check`` or ``Get health check`` for each request; any other path is a 404 (Go's
``ServeMux``). Here the paths are flags, so the same program also plays a server that
lacks ``/ready`` (the document's plain nginx, whose readiness probe keeps failing):

    python3 testserver.py --port 80 --path /ready --path /health
    python3 testserver.py --port 80 --path /            # no /ready: 404, READY 0/1

Each configured path answers 200 with ``Success to <name>!``; everything else answers 404.
One line per request goes to stdout: method, path, status, the document's ``Get <name>
check`` text and every request header, so the probe's ``User-Agent: kube-probe/1.33`` and
a probe's custom ``httpHeaders`` are visible in ``kubectl logs``. SIGTERM ends it at once
with status 0 unless ``--ignore-sigterm`` is given.
"""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any


def log(line: str) -> None:
    """One line on stdout, flushed at once so ``kubectl logs -f`` sees it immediately."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    print(f"{stamp} {line}", flush=True)


def check_name(path: str) -> str:
    """``/ready`` → ``ready``: the word the Go server uses in its log and its answer."""
    return path.strip("/") or "root"


class TestServerHandler(BaseHTTPRequestHandler):
    server_version = "test-server"
    paths: frozenset[str] = frozenset()

    def do_GET(self) -> None:
        route = self.path.split("?", 1)[0]
        if route in self.paths:
            name = check_name(route)
            status, body, note = 200, f"Success to {name}!", f' "Get {name} check"'
        else:
            status, body, note = 404, "404 page not found\n", ""
        headers = " | ".join(f"{key}: {value}" for key, value in self.headers.items())
        log(
            f"{self.command} {self.path} -> {status}{note} from {self.client_address[0]}"
            f" | {headers}"
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
        "--path",
        action="append",
        default=[],
        metavar="PATH",
        help="a path answered 200 (repeatable); every other path is 404",
    )
    parser.add_argument("--ignore-sigterm", action="store_true")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, signal.SIG_IGN if args.ignore_sigterm else exit_on_sigterm)
    TestServerHandler.paths = frozenset(args.path)
    # Every address: the kubelet dials the pod IP, a user may curl loopback.
    server = ThreadingHTTPServer(("0.0.0.0", args.port), TestServerHandler)  # noqa: S104
    log(f"test-server listening on port {args.port}, paths {sorted(args.path) or 'none'}")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
