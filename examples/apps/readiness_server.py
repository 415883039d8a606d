"""Plays ``gcr.io/terrycho-sandbox/readiness:v1``, the node ``server.js`` of seed 000 (lab L3).

The server answers on port 8080. ``/readiness`` is 200 while ``/tmp/healthy`` exists and
500 once it is gone, so ``kubectl exec POD -- rm /tmp/healthy`` makes the pod's readiness
probe fail and the Service stop sending it traffic; every other path answers ``You've
hit <hostname>`` (the pod's name), which shows which pod a request through the Service
reached. The image's Dockerfile copied ``/tmp/healthy`` in; here the program creates it
at start (a container's /tmp is its own).

    python3 readiness_server.py [--port 8080] [--healthy-file /tmp/healthy]

One line per request goes to stdout, as the document's ``console.log``: the time, the
hostname, method, path and status. SIGTERM stops it at once with status 0.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

HOSTNAME = socket.gethostname()


def log(line: str) -> None:
    """One line on stdout, flushed at once so ``kubectl logs -f`` sees it immediately."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    print(f"{stamp} {line}", flush=True)


class ReadinessHandler(BaseHTTPRequestHandler):
    server_version = "readiness"
    healthy_file = Path("/tmp/healthy")  # noqa: S108 - the document's path, in the pod's /tmp

    def do_GET(self) -> None:
        route = self.path.split("?", 1)[0]
        if route == "/readiness":
            if self.healthy_file.exists():
                status, body = 200, f"I'm ready, I'm {HOSTNAME}\n"
            else:
                status, body = 500, f"I'm not ready, I'm {HOSTNAME}\n"
        else:
            status, body = 200, f"You've hit {HOSTNAME}\n"
        log(f"{HOSTNAME} {self.command} {self.path} -> {status} from {self.client_address[0]}")
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
    parser.add_argument("--healthy-file", type=Path, default=ReadinessHandler.healthy_file)
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, exit_on_sigterm)
    ReadinessHandler.healthy_file = args.healthy_file
    args.healthy_file.write_text("i'm healthy\n")
    # Every address: the kubelet dials the pod IP, the Service proxy too.
    server = ThreadingHTTPServer(("0.0.0.0", args.port), ReadinessHandler)  # noqa: S104
    server.daemon_threads = True
    log(f"{HOSTNAME} listening on port {args.port}, ready while {args.healthy_file} exists")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
