"""Plays ``simple-webapp``, the web app of seed 003's probe lab (lab L6).

The lab's app answers on port 8080 and can be broken on purpose:

- ``/ready`` (also ``/api/ready``): 200 ``Message from <hostname> : I am ready!`` once the
  app has warmed up (``APP_START_DELAY`` seconds after start, 0 by default), 500 before.
- ``/live`` (also ``/api/healthy``): 200 ``Message from <hostname> : I am alive!``.
- ``/crash``: answers ``Message from <hostname> : Mayday! Mayday! Going to crash!`` and
  the process exits with status 1 (the kubelet restarts the container).
- ``/freeze``: answers ``Message from <hostname> : Going to freeze!`` and from then on
  the app answers nothing: it stops accepting connections and every request already
  inside hangs, as an app stuck in an endless loop. The process stays alive, so only a
  liveness probe gets it restarted. Stopping the process with SIGSTOP (from the host:
  a container's init ignores SIGSTOP sent from inside) freezes it the same way, seen
  from outside.
- anything else: a small page naming the pod.

SIGTERM stops accepting, lets requests in flight finish (for at most ``--drain`` seconds;
a frozen app's requests never finish, so they are abandoned) and exits with status 0.
One line per request goes to stdout.

    python3 simple_webapp.py [--port 8080] [--start-delay S] [--drain S]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

HOSTNAME = socket.gethostname()


def log(line: str) -> None:
    """One line on stdout, flushed at once so ``kubectl logs -f`` sees it immediately."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    print(f"{stamp} {line}", flush=True)


class App:
    """What the handlers share: warm-up, freeze and stop, and the requests in flight."""

    def __init__(self, start_delay: float) -> None:
        self.ready_at = time.monotonic() + start_delay
        self.frozen = threading.Event()
        self.stopping = threading.Event()
        self._inflight = 0
        self._idle = threading.Condition()

    def enter(self) -> None:
        with self._idle:
            self._inflight += 1

    def leave(self) -> None:
        with self._idle:
            self._inflight -= 1
            self._idle.notify_all()

    def drain(self, timeout: float) -> int:
        """Wait until no request is in flight or ``timeout``; return how many are left."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._inflight and (left := deadline - time.monotonic()) > 0:
                self._idle.wait(left)
            return self._inflight


APP = App(0.0)
SERVER: ThreadingHTTPServer


def message(text: str) -> str:
    return f"Message from {HOSTNAME} : {text}\n"


class WebappHandler(BaseHTTPRequestHandler):
    server_version = "simple-webapp"
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        if APP.frozen.is_set():
            APP.stopping.wait()  # hangs until the process ends; never answers
            return
        APP.enter()
        try:
            self._answer(self.path.split("?", 1)[0])
        finally:
            APP.leave()

    def _answer(self, route: str) -> None:
        after = None
        if route in ("/ready", "/api/ready"):
            ready = time.monotonic() >= APP.ready_at
            status = 200 if ready else 500
            body = message("I am ready!" if ready else "I am not ready yet!")
        elif route in ("/live", "/api/healthy", "/healthy"):
            status, body = 200, message("I am alive!")
        elif route == "/crash":
            status, body, after = 200, message("Mayday! Mayday! Going to crash!"), crash
        elif route == "/freeze":
            status, body, after = 200, message("Going to freeze!"), freeze
        else:
            status, body = 200, f"<h1>Hello from {HOSTNAME}!</h1>\n"
        log(f"{HOSTNAME} {self.command} {self.path} -> {status} from {self.client_address[0]}")
        payload = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()
        if after is not None:
            after()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's own stderr lines: ``do_GET`` logs each request once."""


def freeze() -> None:
    """Stop accepting (connections wait in the kernel's backlog, unanswered) and hang."""
    log(f"{HOSTNAME} freezing on request")
    APP.frozen.set()
    threading.Thread(target=SERVER.shutdown, daemon=True).start()


def crash() -> None:
    log(f"{HOSTNAME} crashing on request")
    os._exit(1)


class WebappServer(ThreadingHTTPServer):
    daemon_threads = True


def main(argv: list[str] | None = None) -> int:
    global APP, SERVER
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--start-delay", type=float, default=float(os.environ.get("APP_START_DELAY") or 0)
    )
    parser.add_argument("--drain", type=float, default=5.0)
    args = parser.parse_args(argv)
    APP = App(args.start_delay)

    # Every address: the kubelet dials the pod IP, the Service proxy too.
    server = SERVER = WebappServer(("0.0.0.0", args.port), WebappHandler)  # noqa: S104

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        log(f"{HOSTNAME} SIGTERM received, finishing requests in flight")
        APP.stopping.set()
        # shutdown() waits for serve_forever, which runs in this very thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_sigterm)
    log(f"{HOSTNAME} listening on port {args.port}, ready after {args.start_delay:g}s")
    try:
        server.serve_forever(poll_interval=0.2)
        while not APP.stopping.wait(0.5):
            pass  # frozen: the socket stays open, nothing is accepted
    finally:
        server.server_close()
    left = 0 if APP.frozen.is_set() else APP.drain(args.drain)
    log(f"{HOSTNAME} exiting, {left} request(s) abandoned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
