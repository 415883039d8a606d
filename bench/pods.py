"""Pods as real containers: start latency, restart after a crash and memory, beside supervisord.

Starts a real node (``kubeproc up --detach`` with ``--crashloop-backoff-initial 1``) and a
private supervisord (``_supervisor.py``), and runs the same ``/bin/sh -c`` programs on both:

- start: create a pod (or start a program) whose script appends a timestamp to a file and
  sleeps; kubeproc's latency is create to the watch event showing phase Running and the
  container's ``state.running``, timestamped at the client; supervisord's is the XML-RPC
  start call to the program's first timestamp in its file. Once 1 at a time (``--repeat``
  samples, each deleted/stopped after), once ``--pods`` at once.
- restart: a program that writes a start timestamp, an exit timestamp and exits 1; the gap
  is from its first exit to its second start, from the file (a hostPath for pods). Only the
  first restart is measured: the kubelet restarts the first crash at once, later ones after
  the back-off.
- memory: node RSS plus its conmon processes' RSS, idle and with ``--pods`` pods running.

    .venv/bin/python bench/pods.py              # 100 pods, 20 sequential samples
    .venv/bin/python bench/pods.py --pods 30    # a quicker look

All traffic is to 127.0.0.1. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import functools
import json
import os
import shlex
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from _client import TimedSession
from _node import Memory, Node, log_problems, run_header, running_node, write_results
from _stats import Summary
from _supervisor import Program, Supervisor, ensure_installed, running_supervisor

REPO = Path(__file__).resolve().parent.parent
NAMESPACE = "bench-pods"
PODS = f"/api/v1/namespaces/{NAMESPACE}/pods"
JSON = {"Content-Type": "application/json"}
WAIT = 120.0
POLL = 0.01


def start_script(out: Path, name: str) -> str:
    return f"date +%s.%N >> {out / name}; exec sleep 3600"


def crash_script(out: Path, name: str) -> str:
    f = out / name
    return f"echo s $(date +%s.%N) >> {f}; echo e $(date +%s.%N) >> {f}; exit 1"


def pod_manifest(name: str, script: str, out: Path) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "restartPolicy": "Always",
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    "command": ["/bin/sh", "-c", script],
                    "volumeMounts": [{"name": "out", "mountPath": str(out)}],
                }
            ],
            "volumes": [{"name": "out", "hostPath": {"path": str(out)}}],
        },
    }


def is_running(pod: dict[str, Any]) -> bool:
    status = pod.get("status", {})
    cs = status.get("containerStatuses") or []
    return status.get("phase") == "Running" and bool(cs) and "running" in cs[0].get("state", {})


class PodWatch:
    """One watch on the namespace's pods; the client time each pod was first seen running."""

    def __init__(self) -> None:
        self.running: dict[str, float] = {}
        self.deleted: set[str] = set()
        self.changed = asyncio.Event()

    async def run(self, client: TimedSession, rv: str) -> None:
        url = f"{client.base_url}{PODS}?watch=1&resourceVersion={rv}&allowWatchBookmarks=false"
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with client.session.get(url, timeout=timeout) as resp:
            async for line in resp.content:
                now = time.perf_counter()
                if not line.strip():
                    continue
                event = json.loads(line)
                pod = event["object"]
                name = pod["metadata"]["name"]
                if event["type"] == "DELETED":
                    self.deleted.add(name)
                elif name not in self.running and is_running(pod):
                    self.running[name] = now
                self.changed.set()

    async def until(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not done():
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(what)
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                raise TimeoutError(what) from None


@dataclass
class Result:
    kubeproc: dict[str, list[float]] = field(default_factory=dict)
    supervisord: dict[str, list[float]] = field(default_factory=dict)
    memory_kib: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def first_timestamp(path: Path) -> float | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    first = text.split("\n", 1)[0].split()
    return float(first[-1]) if first and "\n" in text else None


def restart_gap(path: Path) -> float | None:
    """Second start minus first exit, once the file has both."""
    try:
        lines = [ln.split() for ln in path.read_text().splitlines()]
    except FileNotFoundError:
        return None
    exits = [float(v) for k, v in lines if k == "e"]
    starts = [float(v) for k, v in lines if k == "s"]
    if len(starts) >= 2 and exits:  # a restart is the second start
        return starts[1] - exits[0]
    return None


async def wait_file(check: Callable[[], float | None], what: str) -> float:
    deadline = time.monotonic() + WAIT
    while (value := check()) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(POLL)
    return value


# -- kubeproc -------------------------------------------------------------------------------


async def create(client: TimedSession, manifest: dict[str, Any]) -> None:
    await client.request("POST", PODS, body=json.dumps(manifest).encode(), headers=JSON, expect=201)


async def delete(client: TimedSession, names: Iterable[str]) -> None:
    await asyncio.gather(
        *(client.request("DELETE", f"{PODS}/{n}", headers=JSON, expect=200) for n in names)
    )


async def kubeproc_starts(
    client: TimedSession, watch: PodWatch, out: Path, names: list[str]
) -> list[float]:
    """Create ``names`` at once; each one's create start to its Running event."""
    sent: dict[str, float] = {}

    async def one(name: str) -> None:
        sent[name] = time.perf_counter()
        await create(client, pod_manifest(name, start_script(out, name), out))

    await asyncio.gather(*(one(n) for n in names))
    await watch.until(lambda: all(n in watch.running for n in names), f"running {names[:3]}")
    return [watch.running[n] - sent[n] for n in names]


async def delete_and_wait(client: TimedSession, watch: PodWatch, names: list[str]) -> None:
    await delete(client, names)
    await watch.until(lambda: all(n in watch.deleted for n in names), "pods deleted")


def pss_kib(pid: int) -> int:
    """Proportional set size: RSS with shared pages (libc, glib) split among their users."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def memory_now(node: Node) -> dict[str, int]:
    conmon = conmon_pss = count = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            if not cmdline.startswith(b"conmon") and b"/conmon\0" not in cmdline[:200]:
                continue
            if str(node.data_dir).encode() not in cmdline:
                continue
            conmon += Memory.of(int(proc.name)).rss_kib
            conmon_pss += pss_kib(int(proc.name))
            count += 1
        except (FileNotFoundError, ProcessLookupError, KeyError):
            continue
    node_rss = Memory.of(node.pid()).rss_kib
    return {
        "node_rss": node_rss,
        "conmon_rss": conmon,
        "conmon_pss": conmon_pss,
        "conmon_count": count,
    }


async def bench_kubeproc(node: Node, out: Path, args: argparse.Namespace, res: Result) -> None:
    async with TimedSession(node.base_url, node.ssl_context(), 16, node.token()) as client:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        await client.request(
            "POST", "/api/v1/namespaces", body=json.dumps(ns).encode(), headers=JSON, expect=201
        )
        listed = json.loads((await client.request("GET", PODS)).body)
        watch = PodWatch()
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(watch.run(client, listed["metadata"]["resourceVersion"]))
            try:
                await _kubeproc_measures(client, watch, node, out, args, res)
            finally:
                task.cancel()


async def _kubeproc_measures(
    client: TimedSession,
    watch: PodWatch,
    node: Node,
    out: Path,
    args: argparse.Namespace,
    res: Result,
) -> None:
    await asyncio.sleep(2)
    res.memory_kib["idle"] = memory_now(node)
    one: list[float] = []
    for i in range(args.repeat):
        name = f"one-{i}"
        one += await kubeproc_starts(client, watch, out, [name])
        await delete_and_wait(client, watch, [name])
    res.kubeproc["start 1 pod"] = one
    print(f"[kubeproc] 1 pod: {len(one)} samples", file=sys.stderr, flush=True)

    many = [f"many-{i}" for i in range(args.pods)]
    res.kubeproc[f"start {args.pods} pods at once"] = await kubeproc_starts(
        client, watch, out, many
    )
    await asyncio.sleep(args.settle)
    res.memory_kib[f"{args.pods} pods"] = memory_now(node)
    await delete_and_wait(client, watch, many)
    print(f"[kubeproc] {args.pods} pods done", file=sys.stderr, flush=True)

    gaps: list[float] = []
    for i in range(args.crashes):
        name = f"crash-{i}"
        await create(client, pod_manifest(name, crash_script(out, name), out))
        gaps.append(await wait_file(functools.partial(restart_gap, out / name), f"restart {name}"))
        await delete_and_wait(client, watch, [name])
    res.kubeproc["restart after crash (first restart)"] = gaps


# -- supervisord ----------------------------------------------------------------------------


def supervisor_programs(out: Path, args: argparse.Namespace) -> dict[str, Program]:
    programs = [Program(f"one-{i}", start_script(out, f"one-{i}")) for i in range(args.repeat)]
    programs += [Program(f"many-{i}", start_script(out, f"many-{i}")) for i in range(args.pods)]
    programs += [
        Program(f"crash-{i}", crash_script(out, f"crash-{i}")) for i in range(args.crashes)
    ]
    return {p.name: p for p in programs}


async def bench_supervisor(
    sup: Supervisor, out: Path, args: argparse.Namespace, res: Result
) -> None:
    rpc = sup.rpc.supervisor
    one: list[float] = []
    for i in range(args.repeat):
        name = f"one-{i}"
        sent = time.time()
        rpc.startProcess(name, False)
        one.append(await wait_file(functools.partial(first_timestamp, out / name), name) - sent)
        rpc.stopProcess(name, True)
    res.supervisord["start 1 pod"] = one

    res.memory_kib["supervisord idle"] = {"rss": Memory.of(sup.pid).rss_kib}
    many = [f"many-{i}" for i in range(args.pods)]
    sent = time.time()
    for name in many:  # startProcessGroup needs a group; one call each, not waiting
        rpc.startProcess(name, False)
    stamps = [await wait_file(functools.partial(first_timestamp, out / n), n) for n in many]
    res.supervisord[f"start {args.pods} pods at once"] = [s - sent for s in stamps]
    await asyncio.sleep(args.settle)
    res.memory_kib[f"supervisord {args.pods} programs"] = {"rss": Memory.of(sup.pid).rss_kib}
    for name in many:
        rpc.stopProcess(name, False)

    gaps: list[float] = []
    for i in range(args.crashes):
        name = f"crash-{i}"
        rpc.startProcess(name, False)
        gaps.append(await wait_file(functools.partial(restart_gap, out / name), name))
        with contextlib.suppress(xmlrpc.client.Fault):  # between a crash and its restart
            rpc.stopProcess(name, False)
    res.supervisord["restart after crash (first restart)"] = gaps


# -- report ---------------------------------------------------------------------------------


def _ms(v: float) -> str:
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def table(res: Result) -> str:
    lines = [
        "| measure | n | kubeproc p50 ms | p99 ms | supervisord p50 ms | p99 ms | ratio p50 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for measure, samples in res.kubeproc.items():
        k, s = Summary.of(samples), Summary.of(res.supervisord[measure])
        lines.append(
            f"| {measure} | {k.n} | {_ms(k.p50_ms)} | {_ms(k.p99_ms)} | {_ms(s.p50_ms)}"
            f" | {_ms(s.p99_ms)} | {k.p50_ms / s.p50_ms:.1f}x |"
        )
    return "\n".join(lines)


def memory_text(res: Result, pods: int) -> str:
    idle, loaded = res.memory_kib["idle"], res.memory_kib[f"{pods} pods"]
    before = idle["node_rss"] + idle["conmon_rss"]
    per_pod = (loaded["node_rss"] + loaded["conmon_rss"] - before) / pods
    pss_each = loaded["conmon_pss"] / max(1, loaded["conmon_count"])
    sup_idle = res.memory_kib["supervisord idle"]["rss"]
    sup_loaded = res.memory_kib[f"supervisord {pods} programs"]["rss"]
    return (
        f"node RSS idle {idle['node_rss'] / 1024:.0f} MiB (conmon {idle['conmon_count']}),"
        f" with {pods} pods {loaded['node_rss'] / 1024:.0f} MiB + {loaded['conmon_count']}"
        f" conmon {loaded['conmon_rss'] / 1024:.0f} MiB; per running pod {per_pod:.0f} KiB"
        f" (node {(loaded['node_rss'] - idle['node_rss']) / pods:.0f} KiB,"
        f" conmon {(loaded['conmon_rss'] - idle['conmon_rss']) / pods:.0f} KiB);"
        f" conmon PSS (shared pages split) {pss_each:.0f}"
        f" KiB each\nsupervisord RSS idle {sup_idle / 1024:.1f} MiB, with {pods} programs"
        f" {sup_loaded / 1024:.1f} MiB; per program {(sup_loaded - sup_idle) / pods:.0f} KiB"
        " (the programs themselves, sh and sleep, are counted on neither side)"
    )


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--pods", type=int, default=100, help="pods created at once (100)")
    p.add_argument("--repeat", type=int, default=20, help="sequential single-pod starts (20)")
    p.add_argument("--crashes", type=int, default=10, help="crash pods, one sample each (10)")
    p.add_argument("--settle", type=float, default=3.0, help="seconds before reading memory")
    p.add_argument("--pod-cidr", default="10.213.0.0/16")
    p.add_argument("--service-cidr", default="10.214.0.0/16")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()
    command = shlex.join([".venv/bin/python", "bench/pods.py", *sys.argv[1:]])
    res = Result()
    if ensure_installed():
        res.notes.append("installed supervisor with apt-get")
    kubeproc = REPO / ".venv" / "bin" / "kubeproc"
    extra = [
        "--pod-cidr", args.pod_cidr, "--service-cidr", args.service_cidr,
        "--crashloop-backoff-initial", "1",
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="kubeproc-bench-pods-") as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        kout, sout = root / "kout", root / "sout"
        kout.mkdir()
        sout.mkdir()
        kout.chmod(0o777)  # the containers may run as another user
        with running_node(kubeproc, root / "data", extra) as node:
            try:
                asyncio.run(bench_kubeproc(node, kout, args, res))
            finally:
                res.notes += [f"{n}x {m}" for m, n in log_problems(node).items()][:20]
        sup_dir = root / "sup"
        sup_dir.mkdir()
        with running_supervisor(sup_dir, supervisor_programs(sout, args)) as sup:
            asyncio.run(bench_supervisor(sup, sout, args, res))
    text = table(res) + "\n\n" + memory_text(res, args.pods)
    print(f"`{command}`\n\n{text}")
    doc = {
        **run_header(command, started, load_before, REPO),
        "params": vars(args),
        "rows": {
            m: {
                "kubeproc": vars(Summary.of(s)),
                "supervisord": vars(Summary.of(res.supervisord[m])),
            }
            for m, s in res.kubeproc.items()
        },
        "samples_s": {"kubeproc": res.kubeproc, "supervisord": res.supervisord},
        "memory_kib": res.memory_kib,
        "notes": res.notes,
        "table": text,
    }
    path = write_results(REPO / "bench" / "results", "pods", started, doc)
    print(f"\nwrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
