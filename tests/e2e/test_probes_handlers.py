"""Probe handlers, probe kills, restart policies and readiness conditions against real containers.

Spec cases AT-40..AT-59 (§9.3, the kill cases of §9.4), AT-64..AT-66 and AT-67, AT-68, AT-77
(§9.5). One real node for the module; a module fixture creates every pod at once in one
namespace, so the cases run side by side and the module lasts about as long as its slowest
case (AT-66's five liveness restarts). A background thread polls ``kubectl get pods,events``
every half second and keeps each pod's status history with the host's time of each reading,
finer than the API's whole-second stamps. Each test then waits for its own pod's outcome.

The apps are ``examples/apps`` (a ConfigMap mounted at /apps) plus the small servers below
(a ConfigMap at /scripts) for what those apps do not do: an off-host redirect, a 10 241-byte
body, HTTPS with a self-signed certificate, a server that stalls and logs when the client
hangs up, and an app that logs SIGTERM and ignores it. Apps log with millisecond stamps from
the host clock, so kill → exit gaps are measured from the SIGTERM line to the first status
reading without the old container running (only ever late, never early). ``-s`` prints each
timing with its margin ε to the nearer spec bound.
"""

from __future__ import annotations

import json
import re
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Kubectl, Node, wait_for
from tests.e2e.test_kubelet_support import get_row, kubectl_for, namespace, require_oci

pytestmark = [pytest.mark.e2e, pytest.mark.long]

EPS = 2.0
APPS = Path(__file__).resolve().parents[2] / "examples" / "apps"
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) (.*)$")

# -- the small servers (ConfigMap probe-scripts) ---------------------------------------

_LOG = """
import signal, sys
from datetime import UTC, datetime


def log(line):
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    print(f"{stamp} {line}", flush=True)


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
"""

SCRIPTS = {
    # GET anything -> one fixed answer: fixed.py PORT STATUS BODY [LOCATION]; a BODY of
    # "big" is 10 241 bytes (10 240 x "a", then "Z").
    "fixed.py": _LOG
    + """
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, STATUS, BODY = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
BODY = b"a" * 10240 + b"Z" if BODY == b"big" else BODY
LOCATION = sys.argv[4] if len(sys.argv) > 4 else ""


class H(BaseHTTPRequestHandler):
    def do_GET(self):
        log(f"GET {self.path}")
        self.send_response(STATUS)
        if LOCATION:
            self.send_header("Location", LOCATION)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *a):
        pass


ThreadingHTTPServer(("0.0.0.0", PORT), H).serve_forever()
""",
    # HTTPS with a certificate made at start by openssl, signed by nobody.
    "tlsserver.py": _LOG
    + """
import ssl, subprocess, tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

d = tempfile.mkdtemp()
subprocess.run(
    ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
     "/CN=self-signed", "-keyout", d + "/k", "-out", d + "/c"],
    check=True, capture_output=True,
)


class H(BaseHTTPRequestHandler):
    def do_GET(self):
        log(f"GET {self.path} tls")
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\\n")

    def log_message(self, *a):
        pass


srv = ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/c", d + "/k")
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
log("https listening")
srv.serve_forever()
""",
    # Reads the request head, then waits 3 s for an answer it never sends early; logs how
    # long after the request the client hung up.
    "slowserver.py": _LOG
    + """
import select, socket, threading, time


def serve(conn):
    data = b""
    while b"\\r\\n\\r\\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    got = time.monotonic()
    log("request " + data.split(b"\\r\\n", 1)[0].decode())
    while time.monotonic() - got < 3:
        ready, _, _ = select.select([conn], [], [], 3 - (time.monotonic() - got))
        try:
            closed = bool(ready) and not conn.recv(4096)
        except ConnectionError:
            closed = True
        if closed:
            log(f"client closed after {time.monotonic() - got:.3f} s")
            conn.close()
            return
    conn.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n")
    log("answered after 3 s")
    conn.close()


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
""",
    # Logs SIGTERM and keeps running: only the SIGKILL after the grace period ends it.
    "sigterm_logger.py": _LOG
    + """
import time

signal.signal(signal.SIGTERM, lambda *_: log("SIGTERM received, ignoring it"))
log("started")
while True:
    time.sleep(3600)
""",
}

# -- pods ------------------------------------------------------------------------------

_MOUNTS = [
    {"name": "apps", "mountPath": "/apps", "readOnly": True},
    {"name": "scripts", "mountPath": "/scripts", "readOnly": True},
]
_VOLUMES = [
    {"name": "apps", "configMap": {"name": "example-apps"}},
    {"name": "scripts", "configMap": {"name": "probe-scripts"}},
]


def app(name: str, *command: str, **extra: Any) -> dict[str, Any]:
    """A container running ``python3 <command>`` with /apps and /scripts mounted."""
    return {
        "name": name,
        "image": "busybox",
        "command": ["python3", *command],
        "volumeMounts": _MOUNTS,
        **extra,
    }


def probeapp(name: str, *flags: str, **extra: Any) -> dict[str, Any]:
    return app(name, "/apps/probeapp.py", *flags, **extra)


def http_get(port: int | str, path: str = "/", **extra: Any) -> dict[str, Any]:
    probe_fields = {k: v for k, v in extra.items() if k != "headers" and k != "scheme"}
    action: dict[str, Any] = {"port": port, "path": path}
    if "headers" in extra:
        action["httpHeaders"] = extra["headers"]
    if "scheme" in extra:
        action["scheme"] = extra["scheme"]
    return {"httpGet": action, **probe_fields}


def exec_probe(*command: str, **extra: Any) -> dict[str, Any]:
    return {"exec": {"command": list(command)}, **extra}


def pod(
    containers: list[dict[str, Any]],
    *,
    grace: int = 1,
    restart_policy: str = "Always",
    **spec: Any,
) -> dict[str, Any]:
    return {
        "terminationGracePeriodSeconds": grace,
        "restartPolicy": restart_policy,
        "containers": containers,
        "volumes": _VOLUMES,
        **spec,
    }


CLOSED = 8080  # the kill cases probe a port nobody listens on
# Probes of an app start after its port is surely open: no stray "connection refused".
WARMUP = 12


def _kill_case_pod(probe: str, probe_grace: int) -> dict[str, Any]:
    target = http_get(CLOSED, initialDelaySeconds=10, periodSeconds=1, failureThreshold=1)
    target["terminationGracePeriodSeconds"] = probe_grace
    return pod([app("app", "/scripts/sigterm_logger.py", **{probe: target})], grace=500)


PODS: dict[str, dict[str, Any]] = {
    "at40": pod(
        [
            probeapp(n, "--port", str(port), "--status", f"/ok={code}", readinessProbe=p)
            for n, port, code in (("ok200", 8080, 200), ("ok204", 8081, 204), ("ok399", 8082, 399))
            for p in [http_get(port, "/ok", periodSeconds=1, initialDelaySeconds=WARMUP)]
        ]
    ),
    "at41": pod(
        [
            probeapp(n, "--port", str(port), "--status", f"/bad={code}", readinessProbe=p)
            for n, port, code in (("s400", 8080, 400), ("s404", 8081, 404), ("s500", 8082, 500))
            for p in [http_get(port, "/bad", periodSeconds=1, initialDelaySeconds=WARMUP)]
        ]
    ),
    "at42": pod(
        [
            app(
                "app",
                "/scripts/slowserver.py",
                "8080",
                livenessProbe=http_get(
                    8080,
                    "/slow",
                    periodSeconds=2,
                    timeoutSeconds=1,
                    failureThreshold=1000,
                    initialDelaySeconds=WARMUP,
                ),
            )
        ]
    ),
    "at43": pod(
        [
            probeapp(
                "app",
                "--port",
                "0",
                readinessProbe=http_get(8080, "/x", periodSeconds=1),
                livenessProbe={
                    "tcpSocket": {"port": 8081},
                    "periodSeconds": 1,
                    "failureThreshold": 1000,
                },
            )
        ]
    ),
    "at44": pod(
        [
            probeapp(
                "hdr",
                "--port",
                "8080",
                readinessProbe=http_get(
                    8080,
                    "/hdr?x=1",
                    periodSeconds=1,
                    initialDelaySeconds=WARMUP,
                    headers=[
                        {"name": "x-custom", "value": "a"},
                        {"name": "X-Multi", "value": "1"},
                        {"name": "X-Multi", "value": "2"},
                    ],
                ),
            ),
            probeapp(
                "ovr",
                "--port",
                "8081",
                readinessProbe=http_get(
                    8081,
                    "/ovr",
                    periodSeconds=1,
                    initialDelaySeconds=WARMUP,
                    headers=[
                        {"name": "User-Agent", "value": "x"},
                        {"name": "Accept", "value": ""},
                        {"name": "Host", "value": "svc.local"},
                    ],
                ),
            ),
        ]
    ),
    "at46": pod(
        [
            probeapp(
                "app",
                "--redirect",
                "/redirect=/healthz",
                "--status",
                "/healthz=500",
                livenessProbe=http_get(
                    8080,
                    "/redirect",
                    initialDelaySeconds=WARMUP,
                    periodSeconds=1,
                    failureThreshold=1,
                ),
            )
        ]
    ),
    "at47": pod(
        [
            app(
                "app",
                "/scripts/fixed.py",
                "8080",
                "302",
                '<a href="http://0.0.0.0/">Found</a>.',
                "http://0.0.0.0/",
                livenessProbe=http_get(
                    8080,
                    "/redirect",
                    periodSeconds=1,
                    failureThreshold=1,
                    initialDelaySeconds=WARMUP,
                ),
            )
        ]
    ),
    "at48": pod(
        [
            probeapp(
                "app",
                "--redirect",
                "/loop=/loop",
                # Eleven requests share one timeout: 5 s keeps a loaded machine from
                # turning the redirect verdict into a timeout.
                readinessProbe=http_get(
                    8080, "/loop", periodSeconds=2, timeoutSeconds=5, initialDelaySeconds=WARMUP
                ),
            )
        ]
    ),
    "at49": pod(
        [
            app(
                "big200",
                "/scripts/fixed.py",
                "8080",
                "200",
                "big",
                readinessProbe=http_get(8080, "/", periodSeconds=1, initialDelaySeconds=WARMUP),
            ),
            app(
                "big399",
                "/scripts/fixed.py",
                "8081",
                "399",
                "big",
                readinessProbe=http_get(8081, "/", periodSeconds=2, initialDelaySeconds=WARMUP),
            ),
        ]
    ),
    "at50": pod(
        [
            app(
                "app",
                "/scripts/tlsserver.py",
                "8443",
                readinessProbe=http_get(
                    8443, "/", scheme="HTTPS", periodSeconds=1, initialDelaySeconds=WARMUP
                ),
            )
        ]
    ),
    "at51": pod(
        [
            probeapp(
                "acc",
                "--port",
                "0",
                "--tcp-port",
                "8081",
                livenessProbe={
                    "tcpSocket": {"port": 8081},
                    "initialDelaySeconds": WARMUP,
                    "periodSeconds": 1,
                    "failureThreshold": 1,
                },
            ),
            probeapp(
                "h500",
                "--port",
                "8080",
                "--default-status",
                "500",
                livenessProbe={
                    "tcpSocket": {"port": 8080},
                    "initialDelaySeconds": WARMUP,
                    "periodSeconds": 1,
                    "failureThreshold": 1,
                },
            ),
        ]
    ),
    "at52": pod(
        [
            probeapp(
                "ok",
                "--port",
                "0",
                readinessProbe=exec_probe(
                    "sh", "-c", "echo out; echo err >&2; exit 0", periodSeconds=2, timeoutSeconds=5
                ),
            ),
            probeapp(
                "fail",
                "--port",
                "0",
                readinessProbe=exec_probe(
                    "sh", "-c", "echo err >&2; echo out; exit 1", periodSeconds=2, timeoutSeconds=5
                ),
            ),
            probeapp(
                "big",
                "--port",
                "0",
                readinessProbe=exec_probe(
                    "sh",
                    "-c",
                    "head -c 6000 /dev/zero | tr '\\0' o; head -c 6000 /dev/zero | tr '\\0' e >&2; exit 1",
                    periodSeconds=3,
                    timeoutSeconds=5,
                ),
            ),
        ]
    ),
    "at53": pod(
        [
            probeapp(
                "app",
                "--port",
                "0",
                livenessProbe=exec_probe(
                    "sh",
                    "-c",
                    "sleep 10",
                    initialDelaySeconds=15,
                    timeoutSeconds=1,
                    periodSeconds=2,
                    failureThreshold=1,
                ),
            )
        ]
    ),
    "at53r": pod(
        [
            probeapp(
                "app",
                "--port",
                "0",
                readinessProbe=exec_probe(
                    "sh", "-c", "sleep 10", timeoutSeconds=1, periodSeconds=2
                ),
            )
        ]
    ),
    "at54": pod(
        [
            probeapp(
                "app",
                "--port",
                "0",
                livenessProbe=exec_probe(
                    "sh",
                    "-c",
                    "sleep 10 & exit 1",
                    initialDelaySeconds=2,
                    timeoutSeconds=1,
                    periodSeconds=2,
                    failureThreshold=1,
                ),
            )
        ]
    ),
    "at55": pod(
        [
            app(
                "app",
                "/apps/grpchealth.py",
                "--port",
                "9090",
                "--status",
                "SERVING",
                livenessProbe={
                    "grpc": {"port": 9090},
                    "initialDelaySeconds": WARMUP,
                    "periodSeconds": 1,
                    "failureThreshold": 1,
                },
            )
        ]
    ),
    "at56": pod(
        [
            app(
                n,
                "/apps/grpchealth.py",
                "--port",
                str(served),
                *flags,
                livenessProbe={
                    "grpc": {"port": probed},
                    "initialDelaySeconds": WARMUP,
                    "periodSeconds": 2,
                    "failureThreshold": 1,
                },
            )
            for n, served, probed, flags in (
                ("wrongport", 9090, 9091, ()),
                ("notserving", 9092, 9092, ("--status", "NOT_SERVING")),
                ("nohealth", 9093, 9093, ("--no-health",)),
            )
        ]
    ),
    "at57": _kill_case_pod("livenessProbe", 5),
    "at58": _kill_case_pod("startupProbe", 5),
    "at59": _kill_case_pod("livenessProbe", 1),
    "at64": pod(
        [
            app(
                "app",
                "/scripts/sigterm_logger.py",
                # The kill must find the app's SIGTERM handler installed: as PID 1 of
                # its namespace, an app without one ignores SIGTERM.
                livenessProbe=http_get(
                    CLOSED, initialDelaySeconds=WARMUP, periodSeconds=1, failureThreshold=1
                ),
            )
        ],
        grace=2,
        restart_policy="Never",
    ),
    "at65": pod(
        [
            probeapp(
                "app",
                "--port",
                "0",
                livenessProbe=http_get(
                    CLOSED, initialDelaySeconds=WARMUP, periodSeconds=1, failureThreshold=1
                ),
            )
        ],
        restart_policy="OnFailure",
    ),
    "at66": pod(
        [
            probeapp(
                "app",
                "--port",
                "0",
                livenessProbe=exec_probe(
                    "false", initialDelaySeconds=5, periodSeconds=10, failureThreshold=1
                ),
            )
        ]
    ),
    # AT-66 with kills faster than the node's longest back-off (4 s), so the back-off shows.
    "at66fast": pod(
        [
            probeapp(
                "app",
                "--port",
                "0",
                livenessProbe=exec_probe(
                    "false", initialDelaySeconds=1, periodSeconds=1, failureThreshold=1
                ),
            )
        ]
    ),
    "at67": pod(
        [
            probeapp("a", "--port", "0"),
            probeapp("b", "--port", "0", readinessProbe=exec_probe("false", periodSeconds=2)),
        ]
    ),
    "at68": pod(
        [probeapp("app", "--port", "0")],
        readinessGates=[{"conditionType": "example.com/lb"}],
    ),
    "at77": pod(
        [
            probeapp(
                "ex",
                "--port",
                "0",
                livenessProbe=exec_probe("cat", "/tmp/healthy", initialDelaySeconds=300),
                startupProbe={"tcpSocket": {"port": 8080}},
            ),
            probeapp(
                "http",
                "--port",
                "8080",
                ports=[{"name": "http", "containerPort": 8080}],
                livenessProbe={"httpGet": {"port": 8080}},
                readinessProbe={"httpGet": {"port": "http", "path": "/ready"}},
            ),
            probeapp(
                "tls", "--port", "0", readinessProbe={"httpGet": {"port": 8443, "scheme": "HTTPS"}}
            ),
            probeapp(
                "tcp",
                "--port",
                "0",
                livenessProbe={"tcpSocket": {"port": 8080}},
                readinessProbe={"tcpSocket": {"host": "127.0.0.1", "port": 8080}},
            ),
            probeapp(
                "grpc",
                "--port",
                "0",
                readinessProbe={"grpc": {"port": 2379}},
                livenessProbe={
                    "grpc": {"port": 2380, "service": "etcd"},
                    "initialDelaySeconds": 300,
                },
            ),
        ]
    ),
}


# -- the poller ------------------------------------------------------------------------


@dataclass
class Reading:
    at: float  # host wall time once kubectl had answered: the state is at least this old
    status: dict[str, Any]


@dataclass
class Poller:
    """Polls ``kubectl get pods,events`` every 0.5 s; keeps status changes and events."""

    kubectl: Kubectl
    ns: str
    history: dict[str, list[Reading]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> latest
    event_seen: dict[str, float] = field(default_factory=dict)  # uid -> first seen
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    polls: int = 0

    def run(self) -> None:
        while not self.stop.is_set():
            began = time.monotonic()
            res = self.kubectl("get", "pods,events", "-n", self.ns, "-o", "json", timeout=30)
            now = time.time()
            if res.rc == 0:
                self._record(json.loads(res.out)["items"], now)
            self.stop.wait(max(0.5 - (time.monotonic() - began), 0.25))

    def _record(self, items: list[dict[str, Any]], now: float) -> None:
        with self.lock:
            self.polls += 1
            for item in items:
                if item["kind"] == "Event":
                    uid = item["metadata"]["uid"]
                    self.events[uid] = item
                    self.event_seen.setdefault(uid, now)
                    continue
                name = item["metadata"]["name"]
                status = item.get("status", {})
                readings = self.history.setdefault(name, [])
                if not readings or readings[-1].status != status:
                    readings.append(Reading(now, status))

    def readings(self, name: str) -> list[Reading]:
        with self.lock:
            return list(self.history.get(name, []))

    def latest(self, name: str) -> dict[str, Any]:
        readings = self.readings(name)
        return readings[-1].status if readings else {}

    def pod_events(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            items = [
                {**e, "_seen": self.event_seen[uid]}
                for uid, e in self.events.items()
                if e["involvedObject"].get("name") == name
            ]
        return sorted(items, key=lambda e: e["_seen"])


@dataclass
class Env:
    kubectl: Kubectl
    ns: str
    poller: Poller
    probe_version: str  # "<major>.<minor>" of the node, as in kube-probe/<maj>.<min>
    created: float

    def wait(
        self, name: str, pred: Callable[[dict[str, Any]], Any], timeout: float, what: str
    ) -> dict[str, Any]:
        """Wait until the poller's latest status of ``name`` satisfies ``pred``."""
        try:
            status: dict[str, Any] = wait_for(
                lambda: (s := self.poller.latest(name)) and pred(s) and s,
                timeout=timeout,
                interval=0.25,
                what=f"{name}: {what}",
            )
        except AssertionError as err:
            seen = [f"{e['reason']}: {e['message'][:160]}" for e in self.events(name)]
            raise AssertionError(
                f"{err}\nlatest status: {json.dumps(self.poller.latest(name))}\nevents: {seen}"
            ) from None
        return status

    def events(
        self, name: str, reason: str | None = None, container: str | None = None
    ) -> list[dict[str, Any]]:
        items = self.poller.pod_events(name)
        if reason is not None:
            items = [e for e in items if e["reason"] == reason]
        if container is not None:
            path = f"spec.containers{{{container}}}"
            items = [e for e in items if e["involvedObject"].get("fieldPath") == path]
        return items

    def killed(self, name: str, container: str | None = None) -> list[dict[str, Any]]:
        """The Killing events of ``name``, once written: the kubelet writes events after the
        fact, so a restart can be in the status before its Killing event is in the store."""
        return self.wait_event(name, "Killing", lambda _: True, container=container, timeout=30)

    def wait_event(
        self,
        name: str,
        reason: str,
        match: Callable[[str], bool],
        *,
        container: str | None = None,
        count: int = 1,
        timeout: float = 90,
    ) -> list[dict[str, Any]]:
        """Wait until events of ``reason`` whose message ``match``es fired ``count`` times."""

        def found() -> list[dict[str, Any]] | None:
            items = [e for e in self.events(name, reason, container) if match(e["message"])]
            return items if sum(int(e.get("count") or 1) for e in items) >= count else None

        items: list[dict[str, Any]] = wait_for(
            found, timeout=timeout, interval=0.25, what=f"{name}: {count} x {reason}"
        )
        return items

    def logs(self, name: str, container: str, *, previous: bool = False) -> list[LogLine]:
        args = ["logs", name, "-n", self.ns, "-c", container, *(["--previous"] if previous else [])]
        res = self.kubectl(*args)
        if res.rc != 0:
            return []
        lines = (_STAMP.match(line) for line in res.out.splitlines())
        return [LogLine(stamp(m.group(1)), m.group(2)) for m in lines if m]

    def wait_logs(
        self,
        name: str,
        container: str,
        pred: Callable[[list[LogLine]], bool],
        what: str,
        timeout: float = 90,
    ) -> list[LogLine]:
        lines: list[LogLine] = wait_for(
            lambda: (lines := self.logs(name, container)) and pred(lines) and lines,
            timeout=timeout,
            interval=1,
            what=f"{name}/{container}: {what}",
        )
        return lines


@dataclass(frozen=True)
class LogLine:
    at: float
    text: str


def stamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def cstatus(status: dict[str, Any], name: str = "app") -> dict[str, Any]:
    for cs in status.get("containerStatuses", []):
        if cs["name"] == name:
            found: dict[str, Any] = cs
            return found
    return {}


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    for cond in status.get("conditions", []):
        if cond["type"] == kind:
            found: dict[str, Any] = cond
            return found
    return {}


def restarts(status: dict[str, Any], name: str = "app") -> int:
    return int(cstatus(status, name).get("restartCount", 0))


def running(status: dict[str, Any], name: str = "app") -> bool:
    return "running" in cstatus(status, name).get("state", {})


def report(what: str, measured: float, low: float, high: float | None = None) -> None:
    """Print one timing against its spec bound(s), with the margin ε to the nearer bound."""
    bound = f"[{low:g}, {high:g}] s" if high is not None else f">= {low:g} s"
    eps = measured - low if high is None else min(measured - low, high - measured)
    print(f"\ntiming {what}: {measured:.2f} s, spec {bound}, ε {eps:+.2f} s")


@pytest.fixture(scope="module")
def env(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """Every pod of the module created at once in one namespace, with the poller running."""
    require_oci(node)
    kubectl = kubectl_for(node, tmp_path_factory.mktemp("kubectl-home"))
    scripts = tmp_path_factory.mktemp("scripts")
    for filename, text in SCRIPTS.items():
        (scripts / filename).write_text(text)
    version = kubectl.ok("version", "-o", "json").json()["serverVersion"]
    probe_version = f"{version['major']}.{version['minor'].rstrip('+')}"
    with namespace(kubectl, "probes") as ns:
        kubectl.ok("create", "configmap", "example-apps", f"--from-file={APPS}/", "-n", ns)
        kubectl.ok("create", "configmap", "probe-scripts", f"--from-file={scripts}/", "-n", ns)
        docs = [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": ns},
                "spec": spec,
            }
            for name, spec in PODS.items()
        ]
        poller = Poller(kubectl, ns)
        thread = threading.Thread(target=poller.run, daemon=True)
        created = time.time()
        kubectl.ok("apply", "-f", "-", stdin=yaml.safe_dump_all(docs))
        thread.start()
        try:
            yield Env(kubectl, ns, poller, probe_version, created)
        finally:
            poller.stop.set()
            thread.join(timeout=40)


def pod_ip(env: Env, name: str) -> str:
    status = env.wait(name, lambda s: s.get("podIP"), 90, "a pod IP")
    ip: str = status["podIP"]
    return ip


def headers_of(line: str) -> list[tuple[str, str]]:
    """The request headers of one probeapp request line (``... | Name: value | ...``)."""
    parts = line.split(" | ")[1:]
    return [(k, v) for k, _, v in (p.partition(": ") for p in parts)]


# -- §9.3 handlers ---------------------------------------------------------------------


def test_at40_http_2xx_and_3xx_are_success_3xx_with_a_probe_warning(env: Env) -> None:
    """AT-40: 200, 204 and 399 all pass (READY 3/3, no restarts); 399 also emits ProbeWarning."""
    status = env.wait(
        "at40", lambda s: condition(s, "Ready").get("status") == "True", 90, "Ready True"
    )
    for name in ("ok200", "ok204", "ok399"):
        env.wait_logs(
            "at40", name, lambda ls: sum("GET /ok" in x.text for x in ls) >= 3, "3 probes"
        )
        assert cstatus(status, name)["ready"] is True
    warnings = env.wait_event(
        "at40", "ProbeWarning", lambda m: "Response body" in m, container="ok399"
    )
    assert {e["message"] for e in warnings} == {
        "Readiness probe warning: Probe terminated redirects, Response body: /ok answers 399\n"
    }
    status = env.poller.latest("at40")
    assert all(restarts(status, n) == 0 for n in ("ok200", "ok204", "ok399"))
    assert not env.events("at40", "Unhealthy"), env.events("at40", "Unhealthy")
    assert not env.events("at40", "ProbeWarning", "ok200")
    assert not env.events("at40", "ProbeWarning", "ok204")
    assert all(cstatus(status, n)["ready"] for n in ("ok200", "ok204", "ok399"))


def test_at41_http_4xx_5xx_fail_with_the_status_code_and_never_the_body(env: Env) -> None:
    """AT-41: 400, 404, 500 fail: `HTTP probe failed with statuscode: <code>`, no body text."""
    for name, code in (("s400", 400), ("s404", 404), ("s500", 500)):
        items = env.wait_event(
            "at41", "Unhealthy", lambda m: "Readiness probe failed" in m, container=name, count=3
        )
        assert {e["message"] for e in items} == {
            f"Readiness probe failed: HTTP probe failed with statuscode: {code}"
        }
        assert env.events("at41", "Unhealthy", name) == items  # nothing else, no body
    readings = env.poller.readings("at41")
    assert not any(condition(r.status, "Ready").get("status") == "True" for r in readings)
    status = readings[-1].status
    assert status["phase"] == "Running"
    assert all(
        restarts(status, n) == 0 and cstatus(status, n)["ready"] is False
        for n in ("s400", "s404", "s500")
    )


def test_at42_http_timeout_fails_with_client_timeout_after_about_one_second(env: Env) -> None:
    """AT-42: a server stalling 3 s with T=1 fails with Go's Client.Timeout text; attempt ≈ 1 s."""
    ip = pod_ip(env, "at42")
    items = env.wait_event("at42", "Unhealthy", lambda m: "Liveness" in m, count=3)
    assert {e["message"] for e in items} == {
        f'Liveness probe failed: Get "http://{ip}:8080/slow": context deadline exceeded'
        " (Client.Timeout exceeded while awaiting headers)"
    }
    lines = env.wait_logs(
        "at42", "app", lambda ls: sum("client closed" in x.text for x in ls) >= 3, "3 hang-ups"
    )
    assert not any("answered after 3 s" in x.text for x in lines), lines
    assert all("GET /slow HTTP/1.1" in x.text for x in lines if x.text.startswith("request"))
    durations = [float(x.text.split()[3]) for x in lines if "client closed" in x.text]
    attempt = statistics.median(durations)
    report("AT-42 request received → probe hung up (T=1)", attempt, 1 - 0.2, 1 + EPS)
    assert all(1 - 0.2 <= d <= 1 + EPS for d in durations), durations
    assert restarts(env.poller.latest("at42")) == 0


def test_at43_nothing_listening_is_connection_refused(env: Env) -> None:
    """AT-43: HTTP and TCP probes to a closed port fail with `connect: connection refused`."""
    ip = pod_ip(env, "at43")
    http = env.wait_event("at43", "Unhealthy", lambda m: m.startswith("Readiness"), count=2)
    assert {e["message"] for e in http} == {
        f'Readiness probe failed: Get "http://{ip}:8080/x": dial tcp {ip}:8080: '
        "connect: connection refused"
    }
    tcp = env.wait_event("at43", "Unhealthy", lambda m: m.startswith("Liveness"), count=2)
    assert {e["message"] for e in tcp} == {
        f"Liveness probe failed: dial tcp {ip}:8081: connect: connection refused"
    }
    status = env.poller.latest("at43")
    assert cstatus(status)["ready"] is False and restarts(status) == 0


def test_at44_request_headers_are_the_kubelets(env: Env) -> None:
    """AT-44: GET <path?query>, kube-probe UA, Accept */*, Connection close, no Accept-Encoding, Host podIP:port, custom headers."""
    ip = pod_ip(env, "at44")
    lines = env.wait_logs(
        "at44", "hdr", lambda ls: any("GET /hdr?x=1 -> 200" in x.text for x in ls), "a probe"
    )
    line = next(x.text for x in lines if "GET /hdr?x=1 -> 200" in x.text)
    headers = headers_of(line)
    names = [k.lower() for k, _ in headers]
    assert ("User-Agent", f"kube-probe/{env.probe_version}") in headers, line
    assert ("Accept", "*/*") in headers, line
    assert ("Connection", "close") in headers, line
    assert "accept-encoding" not in names, line
    assert [v for k, v in headers if k == "Host"] == [f"{ip}:8080"], line
    assert ("X-Custom", "a") in headers, line  # x-custom canonicalised
    assert [v for k, v in headers if k == "X-Multi"] == ["1", "2"], line
    assert names.count("user-agent") == 1 and names.count("accept") == 1, line


def test_at45_user_agent_accept_and_host_overrides(env: Env) -> None:
    """AT-45: UA `x`, an empty Accept removes it, Host `svc.local`; the probe still reaches the pod IP."""
    lines = env.wait_logs(
        "at44", "ovr", lambda ls: any("GET /ovr -> 200" in x.text for x in ls), "a probe"
    )
    line = next(x.text for x in lines if "GET /ovr -> 200" in x.text)
    headers = headers_of(line)
    assert [v for k, v in headers if k.lower() == "user-agent"] == ["x"], line
    assert "accept" not in [k.lower() for k, _ in headers], line
    assert [v for k, v in headers if k.lower() == "host"] == ["svc.local"], line
    # svc.local resolves nowhere: the request arrived because it was sent to the pod IP.
    env.wait("at44", lambda s: cstatus(s, "ovr").get("ready") is True, 30, "ovr ready")


def test_at46_same_host_redirect_is_followed_to_a_500_and_restarts(env: Env) -> None:
    """AT-46: /redirect → 302 /healthz (500) is followed: liveness fails and the container restarts."""
    status = env.wait("at46", lambda s: restarts(s) >= 1, 90, "a restart")
    assert restarts(status) >= 1
    killing = env.killed("at46")
    unhealthy = env.events("at46", "Unhealthy")
    assert unhealthy and {e["message"] for e in unhealthy} == {
        "Liveness probe failed: HTTP probe failed with statuscode: 500"
    }
    assert {e["message"] for e in killing} == {
        "Container app failed liveness probe, will be restarted"
    }
    assert not env.events("at46", "ProbeWarning")
    lines = wait_for(
        lambda: env.logs("at46", "app", previous=True), timeout=30, what="previous log"
    )
    requests = [x.text for x in lines if " GET " in x.text]
    assert any("GET /redirect -> 302" in t for t in requests), requests
    assert any("GET /healthz -> 500" in t for t in requests), requests


def test_at47_off_host_redirect_is_a_success_with_a_probe_warning(env: Env) -> None:
    """AT-47: 302 to http://0.0.0.0/ is not followed: success, no restart, ProbeWarning with the body."""
    items = env.wait_event("at47", "ProbeWarning", lambda m: True, count=3)
    assert {e["message"] for e in items} == {
        'Liveness probe warning: Probe terminated redirects, Response body: <a href="http://0.0.0.0/">Found</a>.'
    }
    lines = env.wait_logs(
        "at47", "app", lambda ls: sum("GET /redirect" in x.text for x in ls) >= 5, "5 probes"
    )
    assert all(x.text == "GET /redirect" for x in lines), lines  # 0.0.0.0 never asked
    status = env.poller.latest("at47")
    assert restarts(status) == 0 and running(status)
    assert not env.events("at47", "Unhealthy") and not env.events("at47", "Killing")


def test_at48_redirect_loop_stops_after_10_redirects(env: Env) -> None:
    """AT-48: /loop → /loop fails, the text ends `stopped after 10 redirects`; never Ready."""
    items = env.wait_event("at48", "Unhealthy", lambda m: True, count=2)
    for e in items:
        assert e["message"].startswith("Readiness probe failed: "), e["message"]
        assert e["message"].endswith("stopped after 10 redirects"), e["message"]
    readings = env.poller.readings("at48")
    assert not any(cstatus(r.status).get("ready") for r in readings)
    assert restarts(readings[-1].status) == 0


def test_at49_a_10241_byte_body_is_fine_and_reported_truncated(env: Env) -> None:
    """AT-49: 200 with a 10 241-byte body passes; the body a 3xx reports is cut to 10 240 bytes."""
    env.wait("at49", lambda s: cstatus(s, "big200").get("ready") is True, 90, "big200 ready")
    env.wait_logs("at49", "big200", lambda ls: len(ls) >= 3, "3 probes")
    assert not env.events("at49", "Unhealthy", "big200")
    assert not env.events("at49", "ProbeWarning", "big200")
    warnings = env.wait_event("at49", "ProbeWarning", lambda m: True, container="big399")
    prefix = "Readiness probe warning: Probe terminated redirects, Response body: "
    for e in warnings:
        assert e["message"].startswith(prefix), e["message"][:200]
        body = e["message"][len(prefix) :]
        assert body == "a" * 10240, (len(body), body[-20:])


def test_at50_https_with_a_self_signed_certificate_passes(env: Env) -> None:
    """AT-50: scheme HTTPS against a self-signed certificate succeeds: no verification."""
    env.wait("at50", lambda s: cstatus(s).get("ready") is True, 90, "ready over HTTPS")
    lines = env.wait_logs("at50", "app", lambda ls: any("tls" in x.text for x in ls), "a TLS probe")
    assert any(x.text == "GET / tls" for x in lines), lines
    # Only attempts from before the server listened may fail (refused: a python app with
    # TLS can take longer than the warm-up on a loaded machine, and the kubelet fails
    # those too); never a certificate error.
    unhealthy = [e["message"] for e in env.events("at50", "Unhealthy")]
    assert all(m.endswith("connect: connection refused") for m in unhealthy), unhealthy
    assert restarts(env.poller.latest("at50")) == 0


def test_at51_tcp_accept_and_close_or_http_500_is_healthy(env: Env) -> None:
    """AT-51: tcpSocket passes against accept-and-close and against an HTTP 500 server; no restart."""
    lines = env.wait_logs(
        "at51",
        "acc",
        lambda ls: sum("tcp connection on port 8081" in x.text for x in ls) >= 5,
        "5 probes",
    )
    assert lines
    status = env.poller.latest("at51")
    assert restarts(status, "acc") == 0 and restarts(status, "h500") == 0
    assert running(status, "acc") and running(status, "h500")
    assert not env.events("at51", "Unhealthy") and not env.events("at51", "Killing")
    h500 = env.logs("at51", "h500")
    assert not any("GET" in x.text for x in h500), h500  # no data sent by a TCP probe


def test_at52_exec_exit_codes_and_output(env: Env) -> None:
    """AT-52: exit 0 passes, exit 1 fails with stdout then stderr in the event, cut to 10 KiB."""
    env.wait("at52", lambda s: cstatus(s, "ok").get("ready") is True, 90, "ok ready")
    fail = env.wait_event("at52", "Unhealthy", lambda m: True, container="fail", count=2)
    big = env.wait_event("at52", "Unhealthy", lambda m: True, container="big")
    seen = ({e["message"] for e in fail}, {e["message"] for e in big})
    assert seen == (
        {"Readiness probe failed: out\nerr\n"},
        {"Readiness probe failed: " + "o" * 6000 + "e" * 4240},
    ), ({m[:40] for m in seen[0]}, {(m[:30], len(m)) for m in seen[1]})
    status = env.poller.latest("at52")
    assert cstatus(status, "fail")["ready"] is False and cstatus(status, "big")["ready"] is False
    assert not env.events("at52", "Unhealthy", "ok")


def test_at53_exec_timeout_fails_liveness_restarts(env: Env) -> None:
    """AT-53: `sh -c "sleep 10"` with T=1 times out: Liveness failure, Killing, restart after D=15."""
    env.wait("at53", lambda s: restarts(s) >= 1, 90, "a restart")
    status = first_restart(env, "at53")
    killing = env.killed("at53")
    unhealthy = env.events("at53", "Unhealthy")
    assert unhealthy and {e["message"] for e in unhealthy} == {
        'Liveness probe failed: command "sh -c sleep 10" timed out'
    }
    assert killing[0]["message"] == "Container app failed liveness probe, will be restarted"
    last = cstatus(status)["lastState"]["terminated"]
    # Whole-second stamps: the kill (at D + T at the earliest) is after the 15 s delay.
    lived = stamp(killing[0]["firstTimestamp"]) - stamp(last["startedAt"])
    report("AT-53 container start → Killing (D=15, T=1, P=2)", lived, 15, 15 + 2 + 1 + EPS + 1)
    assert 15 <= lived <= 15 + 2 + 1 + EPS + 1, lived


def test_at53_exec_timeout_readiness_never_ready(env: Env) -> None:
    """AT-53 (readiness): the timed-out exec readiness probe keeps the container unready."""
    items = env.wait_event("at53r", "Unhealthy", lambda m: True, count=3)
    assert {e["message"] for e in items} == {
        'Readiness probe failed: command "sh -c sleep 10" timed out'
    }
    readings = env.poller.readings("at53r")
    assert not any(cstatus(r.status).get("ready") for r in readings)
    assert restarts(readings[-1].status) == 0


def test_at54_exec_exit_1_with_a_background_sleep_fails_promptly(env: Env) -> None:
    """AT-54: `sh -c "sleep 10 & exit 1"` fails on its exit code, not by timing out, and restarts."""
    env.wait("at54", lambda s: restarts(s) >= 1, 90, "a restart")
    killing = env.killed("at54")
    unhealthy = env.events("at54", "Unhealthy")
    assert unhealthy
    for e in unhealthy:
        assert e["message"].startswith("Liveness probe failed: "), e["message"]
        assert "timed out" not in e["message"], e["message"]
    assert killing[0]["message"] == "Container app failed liveness probe, will be restarted"


def test_at55_grpc_serving_is_healthy(env: Env) -> None:
    """AT-55: a SERVING gRPC health server passes; no restart, no Unhealthy event."""

    def checks() -> list[str]:
        res = env.kubectl("logs", "at55", "-n", env.ns, "-c", "app")
        return [x for x in res.out.splitlines() if "/grpc.health.v1.Health/Check" in x]

    lines = wait_for(lambda: len(checks()) >= 5 and checks(), timeout=90, interval=1, what="5")
    assert all(x.endswith("-> status=SERVING") for x in lines), lines
    assert all(f"user-agent='kube-probe/{env.probe_version}" in x for x in lines), lines
    status = env.poller.latest("at55")
    assert restarts(status) == 0 and running(status) and cstatus(status)["ready"]
    assert not env.events("at55", "Unhealthy") and not env.events("at55", "Killing")


def test_at56_grpc_failures_have_the_grpc_texts_and_restart(env: Env) -> None:
    """AT-56: wrong port, NOT_SERVING and no health service fail with §3.4's texts; liveness restarts."""
    ip = pod_ip(env, "at56")
    expected = {
        "wrongport": f'timeout: failed to connect service "{ip}:9091" within 1s: '
        "context deadline exceeded",
        "notserving": 'service unhealthy (responded with "NOT_SERVING")',
        "nohealth": "error: this server does not implement the grpc health protocol "
        "(grpc.health.v1.Health): unknown service grpc.health.v1.Health",
    }
    status = env.wait(
        "at56", lambda s: all(restarts(s, n) >= 1 for n in expected), 90, "all restarted"
    )
    for name, text in expected.items():
        assert restarts(status, name) >= 1
        killing = env.killed("at56", name)  # written after the Unhealthy ones before it
        unhealthy = env.events("at56", "Unhealthy", name)
        assert {e["message"] for e in unhealthy} == {f"Liveness probe failed: {text}"}
        assert killing and killing[0]["message"] == (
            f"Container {name} failed liveness probe, will be restarted"
        )


# -- §9.4 kill, restart ----------------------------------------------------------------


def first_restart(env: Env, name: str) -> dict[str, Any]:
    """The first status the poller read with restartCount >= 1 (the first kill's record)."""
    return next(r.status for r in env.poller.readings(name) if restarts(r.status) >= 1)


def _kill_to_exit(env: Env, name: str, *, restart: bool) -> tuple[float, dict[str, Any]]:
    """Seconds from the app's SIGTERM line to the first reading without it running."""
    if restart:
        status = env.wait(name, lambda s: restarts(s) >= 1, 120, "a restart")
        old_id = cstatus(status)["lastState"]["terminated"]["containerID"]
        sigterm = wait_for(
            lambda: [x for x in env.logs(name, "app", previous=True) if "SIGTERM" in x.text],
            timeout=30,
            what="SIGTERM in the previous log",
        )[0].at
    else:
        status = env.wait(name, lambda s: "terminated" in cstatus(s).get("state", {}), 120, "exit")
        old_id = cstatus(status)["containerID"]
        sigterm = next(x for x in env.logs(name, "app") if "SIGTERM" in x.text).at
    gone = next(
        r.at
        for r in env.poller.readings(name)
        if r.at > sigterm
        and not (running(r.status) and cstatus(r.status).get("containerID") == old_id)
    )
    return gone - sigterm, status


def _coarse(env: Env, name: str, status: dict[str, Any], restart: bool) -> float:
    """Killing event firstTimestamp → finishedAt (both whole seconds), for the record."""
    first = first_restart(env, name) if restart else status
    term = (cstatus(first)["lastState"] if restart else cstatus(first)["state"])["terminated"]
    killing = env.killed(name)[0]
    return stamp(term["finishedAt"]) - stamp(killing["firstTimestamp"])


@pytest.mark.parametrize(
    ("case", "kind", "grace"),
    [("at57", "liveness", 5), ("at58", "startup", 5), ("at59", "liveness", 2)],
    ids=["AT-57-liveness-override", "AT-58-startup-override", "AT-59-2s-floor"],
)
def test_at57_58_59_probe_termination_grace_period(
    env: Env, case: str, kind: str, grace: int
) -> None:
    """AT-57/58/59: a probe's terminationGracePeriodSeconds (5 s; 1 s → the 2 s floor) beats the pod's 500 s."""
    took, status = _kill_to_exit(env, case, restart=True)
    killing = env.killed(case)
    assert killing[0]["message"] == f"Container app failed {kind} probe, will be restarted"
    term = cstatus(status)["lastState"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (137, "Error"), term
    assert restarts(status) >= 1
    print(
        f"\n{case}: Killing → finishedAt (whole seconds) {_coarse(env, case, status, True):.0f} s"
    )
    report(f"{case} SIGTERM → container gone (grace {grace} s)", took, grace, grace + 1 + EPS)
    assert grace <= took <= grace + 1 + EPS, took


def test_at64_liveness_kill_with_restart_policy_never_fails_the_pod(env: Env) -> None:
    """AT-64: Never: `Container app failed liveness probe` (no suffix), exit 137, no restart, phase Failed."""
    took, status = _kill_to_exit(env, "at64", restart=False)
    status = env.wait("at64", lambda s: s.get("phase") == "Failed", 60, "phase Failed")
    killing = env.killed("at64")
    assert [e["message"] for e in killing] == ["Container app failed liveness probe"]
    term = cstatus(status)["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (137, "Error"), term
    assert restarts(status) == 0
    assert all(restarts(r.status) == 0 for r in env.poller.readings("at64"))
    report("AT-64 SIGTERM → container gone (pod grace 2 s)", took, 2, 2 + 1 + EPS)
    assert 2 <= took <= 2 + 1 + EPS


def test_at65_liveness_kill_with_on_failure_restarts_even_after_exit_0(env: Env) -> None:
    """AT-65: OnFailure: the app exits 0 on SIGTERM and is restarted anyway; lastState Completed 0."""
    env.wait("at65", lambda s: restarts(s) >= 1, 90, "a restart")
    first = next(r.status for r in env.poller.readings("at65") if restarts(r.status) >= 1)
    assert restarts(first) == 1
    term = cstatus(first)["lastState"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (0, "Completed"), term
    killing = env.killed("at65")
    assert killing[0]["message"] == "Container app failed liveness probe, will be restarted"
    assert first["phase"] == "Running"


def _trail(env: Env, name: str) -> list[tuple[float, int, str | None]]:
    """(seconds since creation, restartCount, waiting reason) for each status read."""
    return [
        (
            round(r.at - env.created, 1),
            restarts(r.status),
            cstatus(r.status).get("state", {}).get("waiting", {}).get("reason"),
        )
        for r in env.poller.readings(name)
        if cstatus(r.status)
    ]


def test_at66_liveness_failures_restart_monotonically(env: Env) -> None:
    """AT-66 (D=5, P=10, F=1): restartCount only grows and reaches 5; every kill says why."""
    # The node backs off 1 s, 2 s, 4 s (Node.up): five restarts take about a minute, and
    # with kills ~10 s apart the back-off (checked against the previous exit, §5.5) has
    # always expired, so these restarts are immediate; at66fast shows the back-off.
    env.wait("at66", lambda s: restarts(s) >= 5, 180, "5 restarts")
    trail = _trail(env, "at66")
    counts = [c for _, c, _ in trail]
    print(f"\nAT-66 trail (s since creation, restarts, waiting reason): {trail}")
    assert counts == sorted(counts) and set(range(6)) <= set(counts), trail
    killing = env.wait_event("at66", "Killing", lambda _: True, count=5, timeout=30)
    assert {e["message"] for e in killing} == {
        "Container app failed liveness probe, will be restarted"
    }


def test_at66_crash_loop_back_off_shows_between_fast_liveness_restarts(env: Env) -> None:
    """AT-66 (kills faster than the back-off): STATUS reads CrashLoopBackOff between restarts."""
    seen: list[list[str]] = []

    def backoff_row_after_restarts() -> bool:
        row = get_row(env.kubectl, env.ns, "at66fast")
        if len(row) > 3 and row[2] == "CrashLoopBackOff":
            seen.append(row)
        return bool(seen) and restarts(env.poller.latest("at66fast")) >= 5

    try:
        wait_for(backoff_row_after_restarts, timeout=120, interval=0.3, what="CrashLoopBackOff")
    finally:
        trail = _trail(env, "at66fast")
        print(f"\nAT-66 fast trail: {trail}\nCrashLoopBackOff rows: {seen[:3]}")
    counts = [c for _, c, _ in trail]
    assert counts == sorted(counts), trail
    backoff = [(t, c) for t, c, reason in trail if reason == "CrashLoopBackOff"]
    assert backoff and all(c >= 1 for _, c in backoff), trail
    # After the back-off the container runs again: restartCount passes the back-off's.
    assert max(counts) > backoff[0][1], trail
    assert env.events("at66fast", "BackOff")


# -- §9.5 conditions and kubectl -------------------------------------------------------


def test_at67_one_unready_container_makes_the_pod_unready(env: Env) -> None:
    """AT-67: b not ready: ContainersReady and Ready False, ContainersNotReady `[b]`; READY 1/2."""
    status = env.wait(
        "at67",
        lambda s: running(s, "a") and running(s, "b") and cstatus(s, "a").get("ready"),
        90,
        "a ready",
    )
    for kind in ("Ready", "ContainersReady"):
        cond = condition(status, kind)
        assert (cond["status"], cond.get("reason"), cond.get("message")) == (
            "False",
            "ContainersNotReady",
            "containers with unready status: [b]",
        ), cond
    row = get_row(env.kubectl, env.ns, "at67")
    assert row[1:3] == ["1/2", "Running"], row


def _gates_column(env: Env, name: str) -> str:
    lines = env.kubectl.ok("get", "pod", name, "-n", env.ns, "-o", "wide").out.splitlines()
    assert lines[0].split()[-2:] == ["READINESS", "GATES"], lines[0]
    return lines[1].split()[-1]


def _patch_gate(env: Env, value: str) -> None:
    body = {"status": {"conditions": [{"type": "example.com/lb", "status": value}]}}
    env.kubectl.ok(
        "patch",
        "pod",
        "at68",
        "-n",
        env.ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(body),
    )


def test_at68_readiness_gate(env: Env) -> None:
    """AT-68: a missing gate condition keeps Ready False (ReadinessGatesNotReady); True → Ready; False → not."""

    def gate_state(want_ready: str, message: str | None) -> Callable[[dict[str, Any]], bool]:
        def check(s: dict[str, Any]) -> bool:
            ready = condition(s, "Ready")
            return (
                condition(s, "ContainersReady").get("status") == "True"
                and ready.get("status") == want_ready
                and (message is None or ready.get("message") == message)
            )

        return check

    missing = 'corresponding condition of pod readiness gate "example.com/lb" does not exist.'
    status = env.wait("at68", gate_state("False", missing), 90, "gate missing")
    assert condition(status, "Ready")["reason"] == "ReadinessGatesNotReady"
    assert _gates_column(env, "at68") == "0/1"

    _patch_gate(env, "True")
    status = env.wait("at68", gate_state("True", None), 30, "Ready True")
    assert condition(status, "example.com/lb")["status"] == "True"
    wait_for(lambda: _gates_column(env, "at68") == "1/1", timeout=10, interval=0.5, what="1/1")

    _patch_gate(env, "False")
    not_true = 'the status of pod readiness gate "example.com/lb" is not "True", but False'
    status = env.wait("at68", gate_state("False", not_true), 30, "gate False")
    assert condition(status, "Ready")["reason"] == "ReadinessGatesNotReady"
    wait_for(lambda: _gates_column(env, "at68") == "0/1", timeout=10, interval=0.5, what="0/1")


def _probe_lines(describe: str) -> dict[str, dict[str, str]]:
    """{container: {"Liveness": "<value as printed>", ...}} from raw describe output."""
    found: dict[str, dict[str, str]] = {}
    current = None
    in_containers = False
    for line in describe.splitlines():
        if line == "Containers:":
            in_containers = True
            continue
        if in_containers and re.fullmatch(r"\S.*:", line):
            break
        if in_containers and (m := re.fullmatch(r"  (\S+):", line)):
            current = m.group(1)
            found[current] = {}
        elif current and (m := re.fullmatch(r"\s+(Liveness|Readiness|Startup):\s+(.*?)", line)):
            found[current][m.group(1)] = m.group(2)
    return found


def test_at77_describe_probe_lines(env: Env) -> None:
    """AT-77: describe prints each handler kubectl's way: exec, http-get, tcp-socket, grpc (two spaces)."""
    env.wait("at77", lambda s: len(s.get("containerStatuses", [])) == 5, 90, "statuses")
    text = env.kubectl.ok("describe", "pod", "at77", "-n", env.ns).out
    lines = _probe_lines(text)
    defaults = "delay=0s timeout=1s period=10s #success=1 #failure=3"
    assert lines == {
        "ex": {
            "Liveness": "exec [cat /tmp/healthy] delay=300s timeout=1s period=10s #success=1 #failure=3",
            "Startup": f"tcp-socket :8080 {defaults}",
        },
        "http": {
            "Liveness": f"http-get http://:8080/ {defaults}",
            "Readiness": f"http-get http://:http/ready {defaults}",
        },
        "tls": {"Readiness": f"http-get https://:8443/ {defaults}"},
        "tcp": {
            "Liveness": f"tcp-socket :8080 {defaults}",
            "Readiness": f"tcp-socket 127.0.0.1:8080 {defaults}",
        },
        "grpc": {
            "Liveness": "grpc <pod>:2380 etcd delay=300s timeout=1s period=10s #success=1 #failure=3",
            "Readiness": f"grpc <pod>:2379  {defaults}",
        },
    }, text
