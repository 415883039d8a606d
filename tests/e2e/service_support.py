"""What the Service e2e modules share: a pod server that answers with its hostname."""

from __future__ import annotations

from typing import Any

_HANDLER = """
import http.server, os, socket, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = socket.gethostname().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        if CRASHABLE and self.path == "/crash":
            os._exit(3)
    def log_message(self, *args):
        pass
"""

_RESTART_DELAY = """
open("/tmp/ready", "w").close()  # ready before listening: the proxy must absorb the refusals
if os.path.exists("/state/started"):  # restarted in the same pod: listen only in 2 s
    time.sleep(2)
open("/state/started", "w").close()
"""

_SERVE = """
server = http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H)
open("/tmp/ready", "w").close()  # listening already: ready means connections are accepted
server.serve_forever()
"""

READY_FILE: dict[str, Any] = {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1}
"""Ready once the server has written /tmp/ready, which it does once it listens (written
before, a pod could be Ready and in the rules while its python was still starting: one CI
run saw 6 of 40 requests refused that way)."""


def hostname_server(*, crashable: bool = False) -> str:
    """A ``python3 -c`` script: answers its hostname on :8080, one connection a request.

    ``crashable``: ``/crash`` answers and then exits at once, and a restarted server (an
    emptyDir at /state remembers the first start) is ready at once but listens only after
    2 s, so a proxy meets refusals from a Ready pod. Otherwise ready means listening.
    """
    script = f"CRASHABLE = {crashable}\n" + _HANDLER
    if crashable:
        script += _RESTART_DELAY
    return script + _SERVE
