"""Node memory of the probe history: 1,000 probed containers, full rings, against 50 MB.

Fills ``kubeproc.kubelet.prober.history.ProbeHistory`` exactly as the prober manager does
(one ``series()`` per container and probe, one ``record()`` per attempt, with the
``Outcome`` a handler returns), for ``--containers`` containers, each ring written
``--laps`` times over its capacity so every ring is full and has wrapped. Each scenario
runs in a fresh child process, twice: once under ``tracemalloc`` (the bytes the history
holds, to the byte), once without it for the process's ``VmRSS`` growth (what the
kernel charges, allocator slack included). The scenarios' outputs are what the handlers
produce: an HTTP body, an exec's stdout, the kubelet's failure texts; every output is
a fresh ``str`` per attempt, as decoding a response makes it, so the ring's sharing of
an output equal to one of the last two is exercised as on a node.

With ``--node PODS`` it measures a real node instead (root, about 5 minutes at 300):
PODS probed pods on the process runtime against a target of its own that answers ``ok``,
then a new 240-byte body every time; the node's RSS once the rings are full of each
(bench/README.md).

    .venv/bin/python bench/probehistory.py              # the README row (about 40 s)
    .venv/bin/python bench/probehistory.py --containers 100 --laps 1   # a quick look
    .venv/bin/python bench/probehistory.py --node 300   # a real node's RSS
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _node import free_port, run_header, running_node, write_results

from kubeproc.kubelet.prober.handlers import HandlerResult, Outcome
from kubeproc.kubelet.prober.history import DEFAULT_CAPACITY, OUTPUT_BYTES, ProbeHistory
from kubeproc.kubelet.prober.results import ProbeType, Result

BUDGET_MB = 50.0
REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
PROBES_2 = (ProbeType.LIVENESS, ProbeType.READINESS)
PROBES_3 = (ProbeType.STARTUP, ProbeType.LIVENESS, ProbeType.READINESS)

Attempt = Callable[[int, int], tuple[Result, Outcome]]
"""(container, attempt number) → the counted result and the handler's outcome."""


def http_ok(c: int, k: int) -> tuple[Result, Outcome]:
    # One readiness failure in twenty: the kubelet's own text, with the status code.
    if k % 20 == 19:
        text = f"HTTP probe failed with statuscode: {503}"
        return Result.FAILURE, Outcome(HandlerResult.FAILURE, text, 503)
    return Result.SUCCESS, Outcome(HandlerResult.SUCCESS, b"ok".decode(), 200)


def exec_flap(c: int, k: int) -> tuple[Result, Outcome]:
    if k % 2:
        return Result.FAILURE, Outcome(HandlerResult.FAILURE, b"odd\n".decode(), 1)
    return Result.SUCCESS, Outcome(HandlerResult.SUCCESS, b"".decode(), 0)


def json_changing(c: int, k: int) -> tuple[Result, Outcome]:
    # A health endpoint that reports its uptime and a timestamp: a new body every time.
    body = (
        f'{{"status":"UP","components":{{"db":{{"status":"UP"}},"diskSpace":{{"status":"UP",'
        f'"free":{51_000_000_000 - k * 4096}}}}},"uptimeSeconds":{k},'
        f'"time":"2026-11-21T19:{k // 60 % 60:02d}:{k % 60:02d}.{c:06d}Z"}}'
    )
    return Result.SUCCESS, Outcome(HandlerResult.SUCCESS, body, 200)


def worst_ascii(c: int, k: int) -> tuple[Result, Outcome]:
    head = f"{c:06d}:{k:08d}:"
    return Result.FAILURE, Outcome(HandlerResult.FAILURE, head + "x" * (400 - len(head)), 1)


def worst_wide(c: int, k: int) -> tuple[Result, Outcome]:
    # Characters beyond U+FFFF: CPython stores 4 bytes per character, the widest form.
    head = f"{c:06d}:{k:08d}:"
    return Result.FAILURE, Outcome(HandlerResult.FAILURE, head + "\U0001f525" * 100, 1)


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    probes: tuple[ProbeType, ...]
    attempt: Attempt | None


SCENARIOS = (
    Scenario("empty", "series made, no attempt yet", PROBES_2, None),
    Scenario("http-ok", 'HTTP 200 "ok", 1 in 20 a 503 failure', PROBES_2, http_ok),
    Scenario("exec-flap", 'exec alternating exit 1 "odd" / exit 0', PROBES_2, exec_flap),
    Scenario(
        "json-changing", "HTTP 200, a 155-byte JSON body new each time", PROBES_2, json_changing
    ),
    Scenario(
        "worst-ascii",
        f"a different {OUTPUT_BYTES}-byte ASCII output every attempt",
        PROBES_2,
        worst_ascii,
    ),
    Scenario(
        "worst-3-probes-wide",
        f"3 probes, a different {OUTPUT_BYTES}-byte output of 4-byte characters every attempt",
        PROBES_3,
        worst_wide,
    ),
)


def fill(history: ProbeHistory, scenario: Scenario, containers: int, laps: int) -> int:
    """Record every attempt; returns how many."""
    t0 = time.time() - laps * history.capacity
    n = 0
    for c in range(containers):
        for probe in scenario.probes:
            series = history.series(
                uid=f"00000000-0000-4000-8000-{c:012d}",
                namespace="bench",
                pod=f"pod-{c:05d}",
                container="app",
                probe_type=probe,
                handler="httpGet",
            )
            if scenario.attempt is None:
                continue
            for k in range(laps * history.capacity):
                counted, outcome = scenario.attempt(c, k)
                series.record(t0 + k, 0.0021, counted, outcome)
                n += 1
    return n


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def child(name: str, containers: int, laps: int, mode: str) -> dict[str, float]:
    scenario = next(s for s in SCENARIOS if s.name == name)
    gc.collect()
    if mode == "tracemalloc":
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
    else:
        before = rss_kib() * 1024
    history = ProbeHistory()
    started = time.perf_counter()
    attempts = fill(history, scenario, containers, laps)
    seconds = time.perf_counter() - started
    gc.collect()
    after = tracemalloc.get_traced_memory()[0] if mode == "tracemalloc" else rss_kib() * 1024
    assert sum(len(s) for s in history.all()) == (
        min(attempts, containers * len(scenario.probes) * history.capacity)
    )
    return {"bytes": after - before, "attempts": attempts, "fill_seconds": seconds}


def measure(scenario: Scenario, containers: int, laps: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for mode in ("tracemalloc", "rss"):
        argv = [sys.executable, __file__, "--child", scenario.name, "--mode", mode]
        argv += ["--containers", str(containers), "--laps", str(laps)]
        done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=600)
        got = json.loads(done.stdout)
        out[mode] = got["bytes"]
        out["attempts"] = got["attempts"]
        out["fill_seconds"] = got["fill_seconds"]
    return out


def table(rows: list[tuple[Scenario, dict[str, float]]], containers: int) -> str:
    lines = [
        f"| scenario ({containers} containers) | probes each | outputs | held by the history "
        "(tracemalloc) | per container | process RSS growth | within 50 MB |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    for s, m in rows:
        mb = m["tracemalloc"] / 1e6
        per = m["tracemalloc"] / containers / 1024
        lines.append(
            f"| {s.name} | {len(s.probes)} | {s.what} | {mb:.1f} MB | {per:.1f} KiB | "
            f"{m['rss'] / 1e6:.1f} MB | {'yes' if mb * 1000 / containers < BUDGET_MB else 'NO'} |"
        )
    return "\n".join(lines)


# -- a real node: its RSS as the rings fill with "ok", then with a new body every attempt ---

NODE_BODY = 240
"""Bytes of the target's changing body: under the 256 the history keeps."""


class Target(asyncio.Protocol):
    """Answers every HTTP request with 200 and closes; ``ok`` until SIGUSR1, then a new body."""

    changing = False
    served = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if b"\r\n\r\n" not in self.buffer:
            return
        Target.served += 1
        body = b"ok"
        if Target.changing:
            head = f"{Target.served:012d} {time.time():.6f} ".encode()
            body = head + b"x" * (NODE_BODY - len(head))
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        self.transport.close()


def serve(port: int) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, lambda: setattr(Target, "changing", True))
        server = await loop.create_server(Target, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@contextlib.contextmanager
def running_target(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """The target in a child process for the block; SIGTERM, a grace, SIGKILL, reaped."""
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError("the probe target did not start")
            time.sleep(0.05)
        yield child
    finally:
        child.terminate()
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def node_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def probed_pod(name: str, port: int) -> dict[str, Any]:
    def probe(path: str) -> dict[str, Any]:
        get = {"host": "127.0.0.1", "port": port, "path": path}
        return {"httpGet": get, "periodSeconds": 1, "timeoutSeconds": 1, "failureThreshold": 3}

    container = {"name": "c", "image": "busybox", "command": ["sleep", "3600"]}
    container |= {"livenessProbe": probe("/live"), "readinessProbe": probe("/ready")}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "bench-probes"},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [container]},
    }


async def node_phases(
    node: Any, port: int, target: subprocess.Popen[bytes], n: int, fill: float
) -> dict[str, Any]:
    from probes import PODS, api, create_ready, delete_all  # noqa: PLC0415 - only for --node

    pid = node.pid()
    out: dict[str, Any] = {"pods": n, "fill_seconds": fill, "rss_kib": {}}

    def sample(stage: str) -> None:
        out["rss_kib"][stage] = node_rss_kib(pid)
        print(
            f"[probehistory] {stage}: node RSS {out['rss_kib'][stage] / 1024:.1f} MiB",
            file=sys.stderr,
            flush=True,
        )

    sample("idle")
    async with api(node) as (client, watch):
        names = [f"h-{i:04d}" for i in range(n)]
        out["create_seconds"] = await create_ready(
            client, watch, [probed_pod(m, port) for m in names]
        )
        sample("pods ready")

        async def attempts(name: str) -> list[dict[str, Any]]:
            got = await client.request("GET", f"{PODS}/{name}/probehistory")
            return [a for p in json.loads(got.body)["probes"] for a in p["attempts"]]

        async def until(what: str, done: Callable[[list[dict[str, Any]]], bool]) -> None:
            deadline = time.monotonic() + 3 * fill
            while not all([done(await attempts(m)) for m in (names[0], names[-1])]):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{what} after {3 * fill:.0f}s")
                await asyncio.sleep(2.0)

        full = 2 * DEFAULT_CAPACITY
        await until("rings full", lambda a: len(a) == full)
        sample("rings full of ok")
        target.send_signal(signal.SIGUSR1)
        await until("rings rewritten", lambda a: all(x["output"] != "ok" for x in a))
        sample("rings full of changing bodies")
        await asyncio.sleep(fill / 2)  # drift over time is the measure here, not a condition
        sample("half a ring later")
        held = await attempts(names[-1])
        out["last_pod_attempts"] = len(held)
        out["last_pod_distinct_outputs"] = len({a["output"] for a in held})
        await delete_all(client, watch, names)
    return out


def node_run(n: int, fill: float) -> dict[str, Any]:
    kubeproc = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "kubeproc"
    port = free_port()
    flags = [
        "--runtime",
        "process",
        "--pod-cidr",
        "10.221.0.0/16",
        "--service-cidr",
        "10.222.0.0/16",
    ]
    with (
        tempfile.TemporaryDirectory(prefix="kubeproc-bench-history-") as tmp,
        running_target(port) as target,
        running_node(kubeproc, Path(tmp), flags) as node,
    ):
        return asyncio.run(node_phases(node, port, target, n, fill))


def node_table(m: dict[str, Any]) -> str:
    rss = {k: v / 1024 for k, v in m["rss_kib"].items()}
    n = m["pods"]
    grew = rss["rings full of changing bodies"] - rss["rings full of ok"]
    drift = rss["half a ring later"] - rss["rings full of changing bodies"]
    per = (grew * 1024) / n
    lines = [
        f"| node stage ({n} pods, liveness + readiness httpGet every 1 s) | node RSS MiB |",
        "|---|---:|",
        *(f"| {k} | {v:.1f} |" for k, v in rss.items()),
        "",
        f"rings of ok -> rings of {NODE_BODY}-byte changing bodies: +{grew:.1f} MiB "
        f"({per:.1f} KiB per container); then {drift:+.1f} MiB over half a ring more. "
        f"The last pod held {m['last_pod_attempts']} attempts, "
        f"{m['last_pod_distinct_outputs']} distinct outputs.",
    ]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--containers", type=int, default=1000, help="probed containers (1000)")
    p.add_argument("--laps", type=int, default=2, help="times each ring is written over (2)")
    p.add_argument(
        "--node",
        type=int,
        default=0,
        metavar="PODS",
        help="instead: a real node with PODS probed pods (root; about 6 min at 300)",
    )
    p.add_argument("--fill", type=float, default=110.0, help="--node: the phases' time unit (110)")
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    p.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--mode", default="tracemalloc", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.containers, args.laps, args.mode)))
        return 0
    if args.serve:
        serve(args.serve)
        return 0
    if args.node:
        return node_main(args)
    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()
    rows = []
    for s in SCENARIOS:
        m = measure(s, args.containers, args.laps)
        rows.append((s, m))
        print(
            f"{s.name}: {m['tracemalloc'] / 1e6:.2f} MB traced, {m['rss'] / 1e6:.2f} MB RSS",
            file=sys.stderr,
        )
    command = " ".join(["bench/probehistory.py", *sys.argv[1:]])
    print(table(rows, args.containers))
    print(
        f"\nring capacity {DEFAULT_CAPACITY} attempts, outputs clipped to {OUTPUT_BYTES} bytes; "
        f"budget {BUDGET_MB:.0f} MB for 1,000 containers (scaled to {args.containers})"
    )
    doc = {
        **run_header(f".venv/bin/python {command}", started, load_before, REPO),
        "python": sys.version.split()[0],
        "capacity": DEFAULT_CAPACITY,
        "output_bytes": OUTPUT_BYTES,
        "containers": args.containers,
        "laps": args.laps,
        "scenarios": [
            {"name": s.name, "what": s.what, "probes": [str(p) for p in s.probes], **m}
            for s, m in rows
        ],
    }
    path = write_results(RESULTS, "probehistory", started, doc)
    print(f"results: {path.relative_to(REPO)}")
    return 0


def node_main(args: argparse.Namespace) -> int:
    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()
    m = node_run(args.node, args.fill)
    print(node_table(m))
    command = " ".join([".venv/bin/python", "bench/probehistory.py", *sys.argv[1:]])
    doc = {**run_header(command, started, load_before, REPO), **m}
    path = write_results(RESULTS, "probehistory-node", started, doc)
    print(f"results: {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
