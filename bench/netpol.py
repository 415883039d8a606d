"""NetworkPolicy: how fast a policy change takes effect, and what 200 policies cost a connect.

One node (oci runtime), one namespace, three pods: ``client`` (app=client, a ``sleep``),
``plain`` (app=plain) and ``guarded`` (app=guarded), each server a Python loop on TCP 80
that accepts and closes. The bench runs in one process: the API writes go from the main
thread over one keep-alive HTTPS connection with the node's token; the probes go from
threads that ``setns`` into the client pod's network namespace, so both sides read the
same ``time.monotonic`` clock.

- policy change -> enforcement: a prober thread starts a new connection to a server every
  ``--period`` (2 ms), each with a ``--timeout`` (150 ms) deadline and closed with a
  reset (no TIME_WAIT). ``--changes`` times, a POST of a policy isolating that server
  (``podSelector`` it, ``policyTypes: [Ingress]``, no rule) and, once enforced, its
  DELETE. A sample is from the moment the write's response was read to the start of the
  first connection attempt of the new state's unbroken run (dropped after the POST,
  connected after the DELETE) that lasts ``--hold`` (0.2 s). The rules changed between
  that attempt and the one before, so a sample is high by at most one period (the
  achieved period is printed); a negative sample would mean the rules changed before the
  API answered. Done first with no other policy, then with the 200 below in the namespace
  (isolating ``plain``, which they do not select).
- connection setup cost: ``connect()`` of a fresh socket from the client to each server
  (the SYN through the rules and the SYN-ACK back), alternated, ``--connects`` times
  each, first with no policy at all, then with 200 policies selecting ``guarded``: 199
  whose rules do not admit the client (``decoy_rules``: a peer label it lacks, an address
  block it is outside of, its own label on another port) and the last, by name and by
  time, ``zz-allow-client``, so the client's SYN meets the longest chain. ``plain``,
  selected by none, is the side-by-side baseline: the ratio is a pod's p50 over plain's
  in the same loop, and over its own p50 with no policy.

    .venv/bin/python bench/netpol.py                               # about a minute
    .venv/bin/python bench/netpol.py --changes 10 --connects 500   # a quick look

Every loop is bounded by its count and every wait by a deadline; the node goes down with
``kubeproc down`` whatever happens.
"""

from __future__ import annotations

import argparse
import bisect
import ctypes
import datetime
import errno
import functools
import hashlib
import http.client
import json
import os
import random
import selectors
import shlex
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from _node import Node, log_problems, run_header, running_node, write_results
from _stats import percentile

REPO = Path(__file__).resolve().parent.parent
KUBEPROC = REPO / ".venv" / "bin" / "kubeproc"
NS = "bench-np"
POLICIES = f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies"
SERVERS = ("plain", "guarded")
CLONE_NEWNET = 0x40000000
LINGER_RESET = struct.pack("ii", 1, 0)
"""SO_LINGER on, 0 s: close() sends a reset, so thousands of probes leave no TIME_WAIT."""
SERVE = """
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80))
s.listen(4096)
while True:
    c, _ = s.accept()
    c.close()
"""
T = TypeVar("T")


# -- the API ----------------------------------------------------------------------------


class Api:
    """One keep-alive HTTPS connection to the node; JSON in and out; raises on a bad status."""

    def __init__(self, node: Node) -> None:
        self._token = node.token()
        ctx = ssl.create_default_context(cafile=str(node.ca_file))
        self._conn = http.client.HTTPSConnection("127.0.0.1", node.port, context=ctx, timeout=30)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        self._conn.request(method, path, body=data, headers=headers)
        resp = self._conn.getresponse()
        raw = resp.read()
        if resp.status not in (200, 201, 202):
            raise RuntimeError(f"{method} {path}: {resp.status} {raw[:300]!r}")
        return json.loads(raw) if raw else None

    def close(self) -> None:
        self._conn.close()


def pod(name: str, labels: dict[str, str], command: list[str]) -> dict[str, Any]:
    ctr = {"name": "app", "image": "python:3", "command": command}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [ctr]},
    }


def policy(name: str, selects: str, rules: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A policy on pods app=<selects> with these ingress rules (None: isolating only)."""
    spec: dict[str, Any] = {
        "podSelector": {"matchLabels": {"app": selects}},
        "policyTypes": ["Ingress"],
    }
    if rules is not None:
        spec["ingress"] = rules
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name},
        "spec": spec,
    }


def decoy_rules(i: int) -> list[dict[str, Any]]:
    """Rules the client's SYN to port 80 meets and fails: a peer label it lacks, an address
    block it is outside of, and its own label on another port (a rule that is not empty
    whatever the pods' labels, so a real chain whatever the rendering)."""
    return [
        {"from": [{"podSelector": {"matchLabels": {"role": f"r{i}"}}}], "ports": [{"port": 80}]},
        {"from": [{"ipBlock": {"cidr": f"198.18.{i % 256}.0/24"}}], "ports": [{"port": 80}]},
        {"from": [{"podSelector": {"matchLabels": {"app": "client"}}}],
         "ports": [{"port": 10000 + i}]},
    ]  # fmt: skip


ALLOW_CLIENT = [
    {"from": [{"podSelector": {"matchLabels": {"app": "client"}}}], "ports": [{"port": 80}]}
]


def wait_until(
    check: Callable[[], Any], what: str, timeout: float = 90.0, poll: float = 0.1
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (got := check()) is not None and got is not False:
            return got
        time.sleep(poll)
    raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")


def running_pods(api: Api) -> dict[str, dict[str, Any]] | None:
    """Every pod by name once all three run and have an address, else None."""
    found = {}
    for p in api.call("GET", f"/api/v1/namespaces/{NS}/pods")["items"]:
        status = p.get("status", {})
        states = [s.get("state", {}) for s in status.get("containerStatuses", [])]
        if status.get("podIP") and states and all("running" in s for s in states):
            found[p["metadata"]["name"]] = p
    return found if len(found) == 1 + len(SERVERS) else None


def container_pid(node: Node, p: dict[str, Any]) -> int:
    cid = p["status"]["containerStatuses"][0]["containerID"].partition("://")[2]
    root = node.data_dir / "runtime" / "oci" / "runc"
    out = subprocess.run(
        ["runc", "--root", str(root), "state", cid], capture_output=True, text=True, check=True
    ).stdout
    return int(json.loads(out)["pid"])


def policy_table(node: Node) -> str:
    """The node's policy table: ``kubeproc-pol-<tag>`` beside its proxy's ``kubeproc-<tag>``."""
    for line in (node.data_dir / "kubeproc.log").read_text().splitlines():
        if "service proxy mode=nftables" in line:
            tag = line.split("table=kubeproc-")[1].split()[0]
            return f"kubeproc-pol-{tag}"
    raise RuntimeError("the node logged no nftables proxy table")


def rules_text(table: str) -> str:
    cmd = ["nft", "list", "table", "ip", table]
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout


def rules_settled(table: str, quiet: float = 1.0, timeout: float = 60.0) -> int:
    """Wait until the policy table stays the same for ``quiet`` seconds; its line count."""
    deadline = time.monotonic() + timeout
    last, since = "", time.monotonic()
    while time.monotonic() < deadline:
        text = rules_text(table)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest != last:
            last, since = digest, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return len(text.splitlines())
        time.sleep(0.1)
    raise RuntimeError(f"table {table} kept changing for {timeout:g} s")


# -- inside the client's network namespace ------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def in_netns(pid: int, fn: Callable[[], T]) -> T:
    """Run ``fn`` on a new thread that first joins the network namespace of ``pid``.

    setns(CLONE_NEWNET) moves the calling thread only: the main thread stays on the host,
    where the API is, and both read the same monotonic clock."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            enter_netns(pid)
            box["result"] = fn()
        except BaseException as err:  # handed to the caller's thread
            box["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: T = box["result"]
    return result


def enter_netns(pid: int) -> None:
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
    finally:
        os.close(fd)


def fresh_socket() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
    return s


def connect_times(ips: dict[str, str], n: int) -> dict[str, list[float]]:
    """``n`` connect() durations per server, alternating servers and their order."""
    got: dict[str, list[float]] = {name: [] for name in ips}
    names = list(ips)
    for i in range(n):
        for name in names if i % 2 else reversed(names):
            s = fresh_socket()
            s.settimeout(2.0)
            try:
                started = time.perf_counter()
                s.connect((ips[name], 80))
                got[name].append(time.perf_counter() - started)
            except OSError as err:
                print(f"  connect to {name} failed: {err}", file=sys.stderr)
            finally:
                s.close()
    return got


class Prober:
    """A new connection to ``ip:80`` every ``period``, each ok / dropped / refused / errno.

    Runs on its own thread inside the client's network namespace until ``stop``. Attempts
    are kept in start order: ``starts[i]`` and ``outcomes[i]`` (None while in flight)."""

    def __init__(self, pid: int, ip: str, period: float, timeout: float, limit: float) -> None:
        self.pid, self.ip, self.period, self.timeout = pid, ip, period, timeout
        self.deadline = time.monotonic() + limit
        self.starts: list[float] = []
        self.outcomes: list[str | None] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("the prober did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        enter_netns(self.pid)
        sel = selectors.DefaultSelector()
        flight: dict[int, tuple[socket.socket, int, float]] = {}  # fd -> socket, index, deadline
        next_start = time.monotonic()
        self._ready.set()
        while not self._stop.is_set() and time.monotonic() < self.deadline:
            now = time.monotonic()
            if now >= next_start:
                self._start(sel, flight, now)
                next_start = max(next_start + self.period, now)
            wake = min([next_start, *(d for _, _, d in flight.values())])
            for key, _ in sel.select(max(0.0, wake - time.monotonic())):
                code = flight[key.fd][0].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                self._finish(sel, flight, key.fd, _outcome(code))
            now = time.monotonic()
            for fd in [fd for fd, (_, _, d) in flight.items() if d <= now]:
                self._finish(sel, flight, fd, "dropped")
        for fd in list(flight):
            self._finish(sel, flight, fd, "stopped")
        sel.close()

    def _start(self, sel: selectors.BaseSelector, flight: dict[int, Any], now: float) -> None:
        s = fresh_socket()
        s.setblocking(False)
        self.starts.append(now)
        self.outcomes.append(None)
        code = s.connect_ex((self.ip, 80))
        if code in (0, errno.EINPROGRESS):
            flight[s.fileno()] = (s, len(self.starts) - 1, now + self.timeout)
            sel.register(s, selectors.EVENT_WRITE)
        else:
            self.outcomes[-1] = _outcome(code)
            s.close()

    def _finish(
        self, sel: selectors.BaseSelector, flight: dict[int, Any], fd: int, outcome: str
    ) -> None:
        s, index, _ = flight.pop(fd)
        sel.unregister(s)
        s.close()
        self.outcomes[index] = outcome

    def transition(self, since: float, want: str, hold: float) -> float | None:
        """Start of the run of ``want`` attempts begun after ``since`` that has lasted
        ``hold`` seconds with every attempt in it resolved, or None if there is none yet."""
        n = len(self.outcomes)  # starts[i] is appended before outcomes[i]
        first = bisect.bisect_left(self.starts, since, 0, n)
        begin: int | None = None
        for i in range(first, n):
            outcome = self.outcomes[i]
            if outcome is None:
                break
            if outcome != want:
                begin = None
            elif begin is None:
                begin = i
            if begin is not None and self.starts[i] - self.starts[begin] >= hold:
                return self.starts[begin]
        return None


def _outcome(code: int) -> str:
    if code == 0:
        return "ok"
    if code == errno.ECONNREFUSED:
        return "refused"
    return errno.errorcode.get(code, str(code))


# -- the measures -----------------------------------------------------------------------


@dataclass
class Changes:
    """Seconds from the write's response to the new state, per direction."""

    to_dropped: list[float] = field(default_factory=list)
    to_ok: list[float] = field(default_factory=list)
    write_s: list[float] = field(default_factory=list)
    missed: int = 0
    probe_period_s: float = 0.0  # the prober's achieved mean interval between attempts


def measure_changes(
    api: Api, prober: Prober, target: str, args: argparse.Namespace, budget: float
) -> Changes:
    res = Changes()
    deadline = time.monotonic() + budget
    for i in range(args.changes):
        if time.monotonic() > deadline or res.missed > 3:
            break
        name = f"isolate-{target}-{i}"
        create = functools.partial(api.call, "POST", POLICIES, policy(name, target, None))
        delete = functools.partial(api.call, "DELETE", f"{POLICIES}/{name}")
        for want, write in (("dropped", create), ("ok", delete)):
            sent = time.monotonic()
            write()
            written = time.monotonic()
            res.write_s.append(written - sent)
            seen = functools.partial(prober.transition, sent, want, args.hold)
            try:
                at = wait_until(seen, f"{want} after {name}", timeout=10, poll=0.01)
            except RuntimeError as err:
                print(f"  {err}", file=sys.stderr)
                res.missed += 1
                continue
            (res.to_dropped if want == "dropped" else res.to_ok).append(at - written)
            time.sleep(random.uniform(0.02, 0.12))  # no phase lock with the node's work
    n = len(prober.starts)
    if n > 1:
        res.probe_period_s = (prober.starts[n - 1] - prober.starts[0]) / (n - 1)
    return res


def create_policies(api: Api, count: int) -> float:
    """``count - 1`` policies guarding ``guarded`` whose rules do not admit the client's
    connection (``decoy_rules``), then the one that does, last by name and by time; the
    seconds the creates took."""
    started = time.monotonic()
    for i in range(count - 1):
        api.call("POST", POLICIES, policy(f"np-{i:03d}", "guarded", decoy_rules(i)))
    api.call("POST", POLICIES, policy("zz-allow-client", "guarded", ALLOW_CLIENT))
    return time.monotonic() - started


def run(args: argparse.Namespace, notes: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kubeproc-bench-np-") as tmp:
        extra = ["--pod-cidr", args.pod_cidr, "--service-cidr", args.service_cidr]
        with running_node(KUBEPROC, Path(tmp) / "node", extra) as node:
            try:
                return measure(node, args, notes)
            finally:
                notes += [f"{n}x {m}" for m, n in log_problems(node).items()][:20]


def measure(node: Node, args: argparse.Namespace, notes: list[str]) -> dict[str, Any]:
    log = (node.data_dir / "kubeproc.log").read_text()
    if "runtime=oci" not in log:
        raise RuntimeError("the node is not on the oci runtime: nothing enforces policies")
    api = Api(node)
    got: dict[str, Any] = {"phases_s": {}}
    t0 = time.monotonic()
    try:
        api.call("POST", "/api/v1/namespaces", {"metadata": {"name": NS}})
        pods_path = f"/api/v1/namespaces/{NS}/pods"
        api.call("POST", pods_path, pod("client", {"app": "client"}, ["sleep", "infinity"]))
        for name in SERVERS:
            api.call("POST", pods_path, pod(name, {"app": name}, ["python3", "-c", SERVE]))
        pods = wait_until(lambda: running_pods(api), "the three pods running")
        client = container_pid(node, pods["client"])
        ips = {name: pods[name]["status"]["podIP"] for name in SERVERS}
        wait_until(lambda: all(connect_times(ips, 1).values()), "the servers answering", 30)
        got["phases_s"]["pods"] = time.monotonic() - t0

        in_netns(client, lambda: connect_times(ips, 200))  # warm-up, not kept
        t = time.monotonic()
        got["connect_0"] = in_netns(client, lambda: connect_times(ips, args.connects))
        got["phases_s"]["connect, no policy"] = time.monotonic() - t

        t = time.monotonic()
        with Prober(client, ips["guarded"], args.period, args.timeout, args.time_limit) as p:
            got["changes_0"] = measure_changes(api, p, "guarded", args, args.time_limit / 3)
        got["phases_s"]["changes, no other policy"] = time.monotonic() - t

        t = time.monotonic()
        got["create_200_s"] = create_policies(api, args.policies)
        got["rule_lines"] = rules_settled(policy_table(node))
        got["phases_s"]["200 policies"] = time.monotonic() - t

        t = time.monotonic()
        got["connect_200"] = in_netns(client, lambda: connect_times(ips, args.connects))
        got["phases_s"]["connect, 200 policies"] = time.monotonic() - t

        t = time.monotonic()
        with Prober(client, ips["plain"], args.period, args.timeout, args.time_limit) as p:
            got["changes_200"] = measure_changes(api, p, "plain", args, args.time_limit / 3)
        got["phases_s"]["changes, 200 other policies"] = time.monotonic() - t
    finally:
        api.close()
    return got


# -- the report -------------------------------------------------------------------------


def ms(xs: list[float], q: float) -> str:
    return f"{percentile(xs, q) * 1000:.1f}" if xs else "-"


def ratio(xs: list[float], base: list[float]) -> str:
    return f"{percentile(xs, 50) / percentile(base, 50):.2f}" if xs and base else "-"


def us(xs: list[float], q: float) -> str:
    return f"{percentile(xs, q) * 1e6:.0f}" if xs else "-"


def report(got: dict[str, Any], policies: int) -> str:
    lines = [
        "| policy change (write answered → new connections in the new state) | n | p50 ms"
        " | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, others in (("changes_0", "no other policy"), ("changes_200", f"{policies} others")):
        c: Changes = got[key]
        for label, xs in (("policy created → dropped", c.to_dropped),
                          ("policy deleted → connecting again", c.to_ok)):  # fmt: skip
            top = f"{max(xs) * 1000:.1f}" if xs else "-"
            lines.append(f"| {label} ({others}) | {len(xs)} | {ms(xs, 50)} | {ms(xs, 99)}"
                         f" | {top} |")  # fmt: skip
    writes = got["changes_0"].write_s + got["changes_200"].write_s
    lines += [
        "",
        "| connect() from the client pod | n | p50 µs | p99 µs | ÷ plain, same loop"
        " | ÷ same pod, no policy |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, state in (("connect_0", "no policy"), ("connect_200", f"{policies} policies")):
        times: dict[str, list[float]] = got[key]
        for name in SERVERS:
            xs = times[name]
            beside, before = ratio(xs, times["plain"]), ratio(xs, got["connect_0"][name])
            who = "plain, selected by no policy" if name == "plain" else "guarded"
            lines.append(f"| {who}, {state} | {len(xs)} | {us(xs, 50)} | {us(xs, 99)}"
                         f" | {beside} | {before} |")  # fmt: skip
    missed = got["changes_0"].missed + got["changes_200"].missed
    lines += [
        "",
        f"The writes themselves (POST or DELETE, request sent → response read): p50 "
        f"{ms(writes, 50)} ms, p99 {ms(writes, 99)} ms. {missed} changes not seen within 10 s. "
        f"{policies} policies created in {got['create_200_s']:.1f} s; the policy table then "
        f"had {got['rule_lines']} lines. The probers started an attempt every "
        f"{got['changes_0'].probe_period_s * 1000:.2f} / "
        f"{got['changes_200'].probe_period_s * 1000:.2f} ms.",
    ]
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--changes", type=int, default=40, help="policy changes per phase")
    p.add_argument("--connects", type=int, default=2000, help="connects per server per phase")
    p.add_argument("--policies", type=int, default=200, help="policies guarding one pod")
    p.add_argument("--period", type=float, default=0.002, help="seconds between probes")
    p.add_argument("--timeout", type=float, default=0.15, help="a probe's deadline, seconds")
    p.add_argument("--hold", type=float, default=0.2, help="seconds a new state must last")
    p.add_argument("--time-limit", type=float, default=600.0, help="bound on each prober")
    p.add_argument("--pod-cidr", default="10.221.0.0/24")
    p.add_argument("--service-cidr", default="10.222.0.0/24")
    p.add_argument("--results-dir", type=Path, default=REPO / "bench" / "results")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    started = datetime.datetime.now(datetime.UTC)
    command = shlex.join([".venv/bin/python", "bench/netpol.py", *sys.argv[1:]])
    notes: list[str] = []
    load_before = os.getloadavg()
    t0 = time.monotonic()
    got = run(args, notes)
    total = time.monotonic() - t0
    text = report(got, args.policies)
    print(f"`{command}`\n\n{text}\n\n{total:.0f} s in all; load {load_before} -> {os.getloadavg()}")
    for n in notes:
        print(f"note: {n}")
    doc = {
        **run_header(command, started, load_before, REPO),
        "params": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "changes_s": {k: asdict(got[k]) for k in ("changes_0", "changes_200")},
        "connect_s": {k: got[k] for k in ("connect_0", "connect_200")},
        "phases_s": got["phases_s"],
        "total_s": total,
        "notes": notes,
        "table": text,
    }
    print(f"\nwrote {write_results(args.results_dir, 'netpol', started, doc)}")


if __name__ == "__main__":
    main()
