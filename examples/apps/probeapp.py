"""A configurable target for probes: the general helper app of the labs and the e2e tests.

It plays the documents' small apps that probes are pointed at (seed 000's node
``server.js`` with its ``/tmp/healthy`` file, seed 004's slow starter and ``goproxy``
TCP server) and anything a probe test needs in between. Everything is a flag:

HTTP (``--port``, default 8080; ``--port 0`` serves no HTTP)
    ``--status /ready=503``          answer 503 on /ready (repeatable); other paths get
                                     ``--default-status`` (200)
    ``--when-file /ready=/tmp/ok``   200 on /ready while /tmp/ok exists, 500 otherwise
    ``--redirect /old=/new``         302 to /new (a probe follows it; repeatable)
    ``--fail-after-requests 5``      from the 6th request on, every path answers 500
    ``--fail-after-seconds 20``      20 s after start, every path answers 500
    ``--ok-after 10``                every path answers 500 until 10 s after start (a slow
                                     starter that listens at once: a startupProbe target)
    ``--fail-status 503``            the status those three answer with (default 500)
    ``--delay 3``                    wait 3 s before every answer (trips ``timeoutSeconds``)

Files, TCP and start-up
    ``--touch /tmp/healthy``         create the file at start (repeatable)
    ``--remove-after 10``            remove the touched files 10 s after start
    ``--tcp-port 8081``              also accept TCP on 8081 for tcpSocket probes (repeatable)
    ``--start-delay 8``              open no port until 8 s after start (a slow starter)
    ``--ignore-sigterm``             ignore SIGTERM, so only the kubelet's SIGKILL ends it

Times count from the program's start. Precedence for one request: ``--ok-after`` while it
lasts, a failure switch that has fired, a redirect, a file condition, ``--status``, and
last ``--default-status``. Every HTTP request and TCP connection is logged on one stdout
line, with all request headers. SIGTERM ends the program at once with status 0.

    python3 probeapp.py --touch /tmp/healthy --remove-after 10 --when-file /readiness=/tmp/healthy
"""

from __future__ import annotations

import argparse
import signal
import socketserver
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

ANY_ADDRESS = "0.0.0.0"  # noqa: S104 (the kubelet dials the pod IP, a user may curl loopback)


def log(line: str) -> None:
    """One line on stdout, flushed at once so ``kubectl logs -f`` sees it immediately."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    print(f"{stamp} {line}", flush=True)


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    location: str | None = None


@dataclass(frozen=True)
class Behaviour:
    """What the flags ask for; ``answer`` decides one response without doing any I/O."""

    statuses: dict[str, int] = field(default_factory=dict)
    default_status: int = 200
    when_files: dict[str, str] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    fail_after_requests: int | None = None
    fail_after_seconds: float | None = None
    ok_after: float | None = None
    fail_status: int = 500

    def answer(self, path: str, number: int, uptime: float, file_exists: bool) -> Answer:
        """The response to request ``number`` (1-based) for ``path``, ``uptime`` s in."""
        if self.ok_after is not None and uptime < self.ok_after:
            return Answer(self.fail_status, f"starting: ok after {self.ok_after:g} s")
        if self.fail_after_requests is not None and number > self.fail_after_requests:
            return Answer(self.fail_status, f"failing after {self.fail_after_requests} requests")
        if self.fail_after_seconds is not None and uptime >= self.fail_after_seconds:
            return Answer(self.fail_status, f"failing after {self.fail_after_seconds:g} s")
        if path in self.redirects:
            return Answer(302, "redirect", location=self.redirects[path])
        if path in self.when_files:
            if file_exists:
                return Answer(200, f"{self.when_files[path]} exists")
            return Answer(500, f"{self.when_files[path]} is missing")
        status = self.statuses.get(path, self.default_status)
        return Answer(status, f"{path} answers {status}")


class ProbeAppHandler(BaseHTTPRequestHandler):
    server_version = "probeapp"
    behaviour = Behaviour()
    delay = 0.0
    started = 0.0
    _lock = threading.Lock()
    _count = 0

    @classmethod
    def _next_number(cls) -> int:
        with cls._lock:
            cls._count += 1
            return cls._count

    def do_GET(self) -> None:
        number = self._next_number()
        route = self.path.split("?", 1)[0]
        watched = self.behaviour.when_files.get(route)
        exists = watched is not None and Path(watched).exists()
        answer = self.behaviour.answer(route, number, time.monotonic() - self.started, exists)
        headers = " | ".join(f"{key}: {value}" for key, value in self.headers.items())
        log(
            f"http #{number} {self.command} {self.path} -> {answer.status}"
            f" from {self.client_address[0]} | {headers}"
        )
        if self.delay:
            time.sleep(self.delay)
        payload = (answer.body + "\n").encode()
        self.send_response(answer.status)
        if answer.location is not None:
            self.send_header("Location", answer.location)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's own stderr lines: ``do_GET`` logs each request once."""


class TcpHandler(socketserver.BaseRequestHandler):
    """Accept, log, close: all a tcpSocket probe looks for is the completed handshake."""

    def handle(self) -> None:
        _, port = self.request.getsockname()[:2]
        log(f"tcp connection on port {port} from {self.client_address[0]}")


class ThreadingTcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def pairs(values: list[str], flag: str) -> dict[str, str]:
    """``["/a=x", "/b=y"]`` → ``{"/a": "x", "/b": "y"}``; a value without ``=`` is an error."""
    found: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise SystemExit(f"{flag} takes PATH=VALUE, got {value!r}")
        found[key] = rest
    return found


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0], formatter_class=argparse.RawTextHelpFormatter
    )
    add = parser.add_argument
    add("--port", type=int, default=8080, help="HTTP port; 0 serves no HTTP")
    add("--status", action="append", default=[], metavar="PATH=CODE")
    add("--default-status", type=int, default=200, metavar="CODE")
    add("--when-file", action="append", default=[], metavar="PATH=FILE")
    add("--redirect", action="append", default=[], metavar="PATH=LOCATION")
    add("--fail-after-requests", type=int, metavar="N")
    add("--fail-after-seconds", type=float, metavar="T")
    add("--ok-after", type=float, metavar="T", help="fail every path until T s after start")
    add("--fail-status", type=int, default=500, metavar="CODE")
    add("--delay", type=float, default=0.0, metavar="S", help="seconds before every answer")
    add("--touch", action="append", default=[], metavar="FILE")
    add("--remove-after", type=float, metavar="T", help="remove the --touch files after T s")
    add("--tcp-port", action="append", type=int, default=[], metavar="PORT")
    add("--start-delay", type=float, default=0.0, metavar="T", help="open ports after T s")
    add("--ignore-sigterm", action="store_true")
    return parser.parse_args(argv)


def behaviour_from(args: argparse.Namespace) -> Behaviour:
    return Behaviour(
        statuses={k: int(v) for k, v in pairs(args.status, "--status").items()},
        default_status=args.default_status,
        when_files=pairs(args.when_file, "--when-file"),
        redirects=pairs(args.redirect, "--redirect"),
        fail_after_requests=args.fail_after_requests,
        fail_after_seconds=args.fail_after_seconds,
        ok_after=args.ok_after,
        fail_status=args.fail_status,
    )


def remove_later(files: list[str], after: float) -> None:
    def remove() -> None:
        for name in files:
            Path(name).unlink(missing_ok=True)
            log(f"removed {name}")

    timer = threading.Timer(after, remove)
    timer.daemon = True
    timer.start()


def serve_in_thread(server: socketserver.BaseServer) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


def exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    log("SIGTERM received, exiting")
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, signal.SIG_IGN if args.ignore_sigterm else exit_on_sigterm)
    ProbeAppHandler.behaviour = behaviour_from(args)
    ProbeAppHandler.delay = args.delay
    ProbeAppHandler.started = time.monotonic()
    log(f"probeapp starting: {' '.join(sys.argv[1:]) or '(defaults)'}")

    for name in args.touch:
        Path(name).touch()
        log(f"created {name}")
    if args.touch and args.remove_after is not None:
        remove_later(args.touch, args.remove_after)

    if args.start_delay:
        log(f"starting slowly: no port opens for {args.start_delay:g} s")
        time.sleep(args.start_delay)
    servers: list[socketserver.BaseServer] = []
    if args.port:
        servers.append(ThreadingHTTPServer((ANY_ADDRESS, args.port), ProbeAppHandler))
        log(f"http listening on port {args.port}")
    for port in args.tcp_port:
        servers.append(ThreadingTcpServer((ANY_ADDRESS, port), TcpHandler))
        log(f"tcp listening on port {port}")
    for server in servers:
        serve_in_thread(server)
    try:
        while True:  # the servers run in daemon threads; SIGTERM interrupts this sleep
            time.sleep(3600)
    finally:
        for server in servers:
            server.server_close()


if __name__ == "__main__":
    sys.exit(main())
