"""Probes at scale: CPU per 1,000 probes/s, lateness, status-write delay, TIME_WAIT, exec.

Runs a real node and a light multi-port server (``_probetarget.py``, one loopback port per
pod, recording every arrival) and measures, on this machine:

- HTTP and TCP: ``--pods`` pods (``--runtime process``: each container is a ``sleep``) with
  a readiness probe at ``periodSeconds: 1`` on their own port of the server. Over a steady
  ``--window``: the node's CPU (utime+stime, its reaped children's too, from /proc) per
  probe attempt the server received, as % of one core per 1,000 probes/s; each attempt's
  lateness against its schedule; ``ss`` TIME_WAIT counts on the server's ports. The
  baseline is a bare asyncio loop (``_probetarget.py probe``) making the same connections
  at the same rate to the same server, measured the same way, before the pods exist.
- Status write: ``--status-pods`` of the HTTP ports are flipped to 500; with
  ``failureThreshold: 1`` the first 500 decides. From the server writing that 500 to the
  client reading the watch event with ``Ready=False``.
- Exec (``--runtime oci``): ``--exec-pods`` containers with ``exec: cat <file>`` at period
  1; arrivals are the file's opens, seen through inotify. Then, in the same run, the same
  command through kubeproc's exec path (``oci.exec.exec_sync``, called here) and through
  ``runc exec``, alternated on one container: wall time and CPU with children.

    .venv/bin/python bench/probes.py                      # 1,000 pods, 60 s windows
    .venv/bin/python bench/probes.py --quick              # a short check

All traffic is to 127.0.0.1. Every wait is bounded; nodes and servers are always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import datetime
import json
import os
import re
import resource
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from _client import TimedSession
from _node import (
    Memory,
    Node,
    free_port,
    log_problems,
    run_header,
    running_node,
    write_results,
)
from _probetarget import TargetControl, running_baseline_prober, running_target
from _stats import Summary, percentile

from kubeproc.kubelet.runtime.oci import exec as oci_exec
from kubeproc.kubelet.runtime.oci.cgroups import Cgroups

REPO = Path(__file__).resolve().parent.parent
KUBEPROC = REPO / ".venv" / "bin" / "kubeproc"
NAMESPACE = "bench-probes"
PODS = f"/api/v1/namespaces/{NAMESPACE}/pods"
JSON = {"Content-Type": "application/json"}
PERIOD = 1.0
TW_EVERY = 5.0
IN_OPEN = 0x20
FAILURE_THRESHOLD = 3


# -- measuring ------------------------------------------------------------------------------


def cpu_with_children(pid: int) -> float:
    """utime+stime+cutime+cstime of ``pid`` in seconds (children count once reaped)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def time_wait(ports: range) -> int:
    """Sockets in TIME_WAIT with either end on one of ``ports``."""
    out = subprocess.run(
        ["ss", "-Htan", "state", "time-wait"], capture_output=True, text=True, check=False
    ).stdout
    count = 0
    for line in out.splitlines():
        cols = line.split()
        ends = [c.rsplit(":", 1)[-1] for c in cols[-2:]]
        if any(e.isdigit() and int(e) in ports for e in ends):
            count += 1
    return count


@dataclass
class Lateness:
    samples: list[float] = field(default_factory=list)
    missed: int = 0
    extra: int = 0


def lateness(arrivals: Iterable[list[float]], period: float) -> Lateness:
    """Per probe: attempt k's arrival minus (schedule phase + k·period), over all probes.

    k is the arrival's distance from the first in periods, rounded; the phase is the
    earliest ``a_k - k·period`` seen, so the most punctual attempt is on time and lateness
    is never negative. A k with no arrival is a missed attempt, a second arrival an extra.
    """
    out = Lateness()
    for unsorted in arrivals:
        if not unsorted:
            continue
        arr = sorted(unsorted)
        ks = [round((a - arr[0]) / period) for a in arr]
        phase = min(a - k * period for a, k in zip(arr, ks, strict=True))
        out.samples += [a - k * period - phase for a, k in zip(arr, ks, strict=True)]
        out.missed += ks[-1] + 1 - len(set(ks))
        out.extra += len(arr) - len(set(ks))
    return out


@dataclass
class Window:
    """One steady window of one prober: CPU, attempts, lateness, TIME_WAIT."""

    seconds: float
    cpu_s: float
    attempts: int
    late: Lateness
    time_wait: list[int]
    target_cpu_s: float = 0.0
    flips: int = 0
    """Ready to unready turns the watch saw in the window (probes timing out under load)."""

    @property
    def rate(self) -> float:
        return self.attempts / self.seconds

    @property
    def per_1000(self) -> float:
        """% of one core per 1,000 probes/s."""
        return 100 * self.cpu_s / self.seconds / (self.rate / 1000) if self.attempts else 0.0

    def doc(self) -> dict[str, Any]:
        late = Summary.of(self.late.samples) if self.late.samples else None
        return {
            "seconds": round(self.seconds, 3),
            "cpu_s": round(self.cpu_s, 3),
            "attempts": self.attempts,
            "probes_per_s": round(self.rate, 1),
            "cpu_pct_per_1000_per_s": round(self.per_1000, 2),
            "lateness": vars(late) if late else None,
            "missed": self.late.missed,
            "extra": self.late.extra,
            "time_wait": self.time_wait,
            "target_cpu_s": round(self.target_cpu_s, 3),
            "readiness_flips": self.flips,
        }


async def steady_window(
    pid: int,
    seconds: float,
    take: Callable[[], dict[Any, list[float]]],
    ports: range | None,
    target_pid: int | None = None,
) -> Window:
    """CPU of ``pid`` and the attempts ``take`` returns, over ``seconds`` from now."""
    take()
    tw: list[int] = []
    t0, cpu0 = time.monotonic(), cpu_with_children(pid)
    tcpu0 = cpu_with_children(target_pid) if target_pid else 0.0
    end = t0 + seconds
    while (left := end - time.monotonic()) > 0:
        await asyncio.sleep(min(TW_EVERY, left))
        if ports is not None and end - time.monotonic() > 1:
            tw.append(time_wait(ports))
    t1, cpu1 = time.monotonic(), cpu_with_children(pid)
    tcpu1 = cpu_with_children(target_pid) if target_pid else 0.0
    inside = [[a for a in arr if t0 <= a < t1] for arr in take().values()]
    return Window(
        seconds=t1 - t0,
        cpu_s=cpu1 - cpu0,
        attempts=sum(len(a) for a in inside),
        late=lateness(inside, PERIOD),
        time_wait=tw,
        target_cpu_s=tcpu1 - tcpu0,
    )


# -- pods -----------------------------------------------------------------------------------


def pod(name: str, container: dict[str, Any], probe: dict[str, Any]) -> dict[str, Any]:
    probe = {
        **probe,
        "periodSeconds": 1,
        "timeoutSeconds": 1,
        "failureThreshold": FAILURE_THRESHOLD,
        "successThreshold": 1,
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "c", "image": "busybox", **container, "readinessProbe": probe}],
        },
    }


def net_pod(name: str, kind: str, port: int) -> dict[str, Any]:
    action = {"host": "127.0.0.1", "port": port}
    if kind == "http":
        probe = {"httpGet": {**action, "path": f"/p/{port}"}}
    else:
        probe = {"tcpSocket": action}
    return pod(name, {"command": ["sleep", "3600"]}, probe)


def exec_pod(name: str, out: Path) -> dict[str, Any]:
    container = {
        "command": ["/bin/sh", "-c", "exec sleep 3600"],
        "volumeMounts": [{"name": "out", "mountPath": str(out)}],
    }
    manifest = pod(name, container, {"exec": {"command": ["cat", str(out / name)]}})
    manifest["spec"]["volumes"] = [{"name": "out", "hostPath": {"path": str(out)}}]
    return manifest


def is_ready(p: dict[str, Any]) -> bool:
    conditions = p.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class PodWatch:
    """One watch on the namespace: ready pods, every Ready to unready turn, deletions."""

    def __init__(self) -> None:
        self.pods: dict[str, dict[str, Any]] = {}
        self.ready: set[str] = set()
        self.ever_ready: set[str] = set()
        self.unready: list[tuple[str, float]] = []
        self.deleted: set[str] = set()
        self.changed = asyncio.Event()

    async def run(self, client: TimedSession, rv: str) -> None:
        url = f"{client.base_url}{PODS}?watch=1&resourceVersion={rv}"
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with client.session.get(url, timeout=timeout) as resp:
            async for line in resp.content:
                now = time.monotonic()
                if not line.strip():
                    continue
                event = json.loads(line)
                obj = event["object"]
                name = obj["metadata"]["name"]
                if event["type"] == "DELETED":
                    self.deleted.add(name)
                    self.ready.discard(name)
                elif is_ready(obj):
                    self.ready.add(name)
                    self.ever_ready.add(name)
                elif name in self.ready:
                    self.ready.discard(name)
                    self.unready.append((name, now))
                self.pods[name] = obj
                self.changed.set()

    async def until(self, done: Callable[[], bool], what: str, limit: float) -> None:
        deadline = time.monotonic() + limit
        while not done():
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{what} after {limit:.0f}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))


@contextlib.asynccontextmanager
async def api(node: Node) -> Any:
    """A client and a watch on the bench namespace (created here) for the block."""
    async with TimedSession(node.base_url, node.ssl_context(), 16, node.token()) as client:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        body = json.dumps(ns).encode()
        await client.request("POST", "/api/v1/namespaces", body=body, headers=JSON, expect=201)
        listed = json.loads((await client.request("GET", PODS)).body)
        watch = PodWatch()
        task = asyncio.create_task(watch.run(client, listed["metadata"]["resourceVersion"]))
        try:
            yield client, watch
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                await task


async def create_ready(
    client: TimedSession, watch: PodWatch, manifests: list[dict[str, Any]]
) -> float:
    """POST all (16 at a time), wait until every one has been Ready; the seconds it took.

    Not all at once: under load a readiness probe may time out now and then, and a pod
    turning unready for a moment is what the window's flip count reports.
    """
    start = time.monotonic()
    await asyncio.gather(
        *(
            client.request("POST", PODS, body=json.dumps(m).encode(), headers=JSON, expect=201)
            for m in manifests
        )
    )
    names = [m["metadata"]["name"] for m in manifests]
    try:
        await watch.until(
            lambda: all(n in watch.ever_ready for n in names), "ready", 120 + len(names)
        )
    except TimeoutError as err:
        late = [n for n in names if n not in watch.ever_ready]
        status = watch.pods.get(late[0], {}).get("status")
        raise TimeoutError(f"{err}: {len(late)} not ready, {late[0]}: {status}") from None
    return time.monotonic() - start


async def delete_all(client: TimedSession, watch: PodWatch, names: list[str]) -> None:
    await asyncio.gather(
        *(client.request("DELETE", f"{PODS}/{n}", headers=JSON, expect=200) for n in names)
    )
    await watch.until(lambda: all(n in watch.deleted for n in names), "pods deleted", 300)


def node_notes(node: Node) -> list[str]:
    """The node log's warnings, with pod and container ids blanked so repeats group."""
    counts: dict[str, int] = {}
    for message, n in log_problems(node).items():
        key = re.sub(r"\b[0-9a-fA-FN-]{6,}\b", "<id>", message)
        counts[key] = counts.get(key, 0) + n
    return [f"{n}x {m}" for m, n in counts.items()][:20]


def log(msg: str) -> None:
    print(f"[probes {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- HTTP and TCP on the process runtime ----------------------------------------------------


@dataclass
class Result:
    windows: dict[str, Window] = field(default_factory=dict)
    status_write_s: list[float] = field(default_factory=list)
    exec_wall_s: dict[str, list[float]] = field(default_factory=dict)
    exec_cpu_s: dict[str, list[float]] = field(default_factory=dict)
    phases_s: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    memory_kib: dict[str, int] = field(default_factory=dict)


async def baseline_window(
    ctl: TargetControl, ports: range, kind: str, args: argparse.Namespace
) -> Window:
    warm = args.settle
    duration = warm + args.window + 3
    with running_baseline_prober(
        ports.start, len(ports), http=kind == "http", period=PERIOD, duration=duration
    ) as proc:
        await asyncio.sleep(warm)
        win = await steady_window(proc.pid, args.window, ctl.take, ports, ctl.pid)
        await asyncio.to_thread(proc.wait, 30)
    return win


async def net_phase(
    node: Node, ctl: TargetControl, ports: range, args: argparse.Namespace, res: Result
) -> None:
    for kind in ("http", "tcp"):
        log(f"baseline {kind}: {len(ports)} ports")
        res.windows[f"baseline {kind}"] = await baseline_window(ctl, ports, kind, args)
    async with api(node) as (client, watch):
        for kind in ("http", "tcp"):
            manifests = [net_pod(f"{kind}-{i:04d}", kind, p) for i, p in enumerate(ports)]
            names = [m["metadata"]["name"] for m in manifests]
            log(f"{kind}: creating {len(names)} pods")
            res.phases_s[f"{kind} pods ready"] = await create_ready(client, watch, manifests)
            await asyncio.sleep(args.settle)
            log(f"{kind}: window {args.window}s")
            flips = len(watch.unready)
            res.windows[kind] = await steady_window(
                node.pid(), args.window, ctl.take, ports, ctl.pid
            )
            res.windows[kind].flips = len(watch.unready) - flips
            res.memory_kib[f"node rss, {len(names)} {kind} pods"] = Memory.of(node.pid()).rss_kib
            if kind == "http":
                res.status_write_s = await status_writes(ctl, watch, names, ports, args)
            log(f"{kind}: deleting")
            start = time.monotonic()
            await delete_all(client, watch, names)
            res.phases_s[f"{kind} pods deleted"] = time.monotonic() - start
            ctl.take()


async def status_writes(
    ctl: TargetControl, watch: PodWatch, names: list[str], ports: range, args: argparse.Namespace
) -> list[float]:
    """Flip ready pods' ports to 500; the deciding 500 written to the watch's Ready=False.

    The deciding 500 is the last one the server wrote for that port before the watch
    showed the pod unready (the ``failureThreshold``-th, unless an attempt timed out).
    Pods not unready within the bound are left out, and counted.
    """
    ready = [(n, p) for n, p in zip(names, ports, strict=True) if n in watch.ready]
    picked = dict(ready[: args.status_pods])
    at = float(ctl.ask("fail " + ",".join(str(p) for p in picked.values()))["at"])  # type: ignore[arg-type]
    seen = len(watch.unready)

    def turned() -> dict[str, float]:
        return {n: t for n, t in watch.unready[seen:] if n in picked and t > at}

    with contextlib.suppress(TimeoutError):
        await watch.until(lambda: len(turned()) == len(picked), "pods unready", 30)
    fails = ctl.ask("fails")["fail_times"]
    assert isinstance(fails, dict)
    samples = []
    for name, t in turned().items():
        before = [f for f in fails.get(str(picked[name]), []) if f <= t]
        if before:
            samples.append(t - before[-1])
    log(f"status: {len(samples)} of {len(picked)} flipped pods seen unready")
    return samples


# -- exec on the oci runtime ----------------------------------------------------------------


class OpenWatch:
    """inotify IN_OPEN on one directory: when each file in it was opened (monotonic)."""

    def __init__(self, directory: Path) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0 or self._libc.inotify_add_watch(self.fd, bytes(directory), IN_OPEN) < 0:
            raise OSError(ctypes.get_errno(), "inotify")
        self.opens: dict[str, list[float]] = {}

    def read(self) -> None:
        now = time.monotonic()
        with contextlib.suppress(BlockingIOError):
            while data := os.read(self.fd, 65536):
                at = 0
                while at + 16 <= len(data):
                    _, _, _, size = struct.unpack_from("iIII", data, at)
                    name = data[at + 16 : at + 16 + size].rstrip(b"\0").decode()
                    self.opens.setdefault(name, []).append(now)
                    at += 16 + size

    def take(self) -> dict[str, list[float]]:
        self.read()
        taken, self.opens = self.opens, {}
        return taken

    def close(self) -> None:
        os.close(self.fd)


def runc_state(root: Path, container_id: str) -> dict[str, Any]:
    out = subprocess.run(
        ["runc", "--root", str(root), "state", container_id],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    state: dict[str, Any] = json.loads(out.stdout)
    return state


async def timed_child(run: Callable[[], Any]) -> tuple[float, float]:
    """Wall seconds and CPU seconds of the children reaped while ``run`` ran."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    await run()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


async def exec_pair(node: Node, cid: str, path: Path, n: int, res: Result) -> None:
    """kubeproc's exec path and ``runc exec``, alternated on one container, ``n`` each."""
    root = node.data_dir / "runtime" / "oci" / "runc"
    state = runc_state(root, cid)
    spec = json.loads((Path(state["bundle"]) / "config.json").read_text())
    pid = int(state["pid"])
    target = oci_exec.ExecTarget.from_spec(pid, Cgroups.read().procs_files(pid), spec["process"])
    found = {t: shutil.which(t) for t in ("sh", "nsenter", "setpriv", "env", "setsid")}
    tools = oci_exec.Tools(**{k: v or k for k, v in found.items()})
    argv = ("cat", str(path))

    async def kubeproc_exec() -> None:
        got = await oci_exec.exec_sync(tools, target, argv, timeout_seconds=5, output_limit=10240)
        if got.exit_code != 0:
            raise RuntimeError(f"exec_sync exit {got.exit_code}: {got.output!r}")

    async def runc_exec() -> None:
        proc = await asyncio.create_subprocess_exec(
            "runc", "--root", str(root), "exec", cid, *argv,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        if proc.returncode != 0:
            raise RuntimeError(f"runc exec rc={proc.returncode}: {err!r}")

    for name, run in (("kubeproc exec_sync", kubeproc_exec), ("runc exec", runc_exec)):
        res.exec_wall_s[name], res.exec_cpu_s[name] = [], []
        await timed_child(run)  # warm the page cache once, unrecorded
    for _ in range(n):
        for name, run in (("kubeproc exec_sync", kubeproc_exec), ("runc exec", runc_exec)):
            wall, cpu = await timed_child(run)
            res.exec_wall_s[name].append(wall)
            res.exec_cpu_s[name].append(cpu)


async def exec_phase(node: Node, out: Path, args: argparse.Namespace, res: Result) -> None:
    names = [f"exec-{i:04d}" for i in range(args.exec_pods)]
    for n in names:
        (out / n).write_text("ok\n")
    opens = OpenWatch(out)
    loop = asyncio.get_running_loop()
    loop.add_reader(opens.fd, opens.read)
    try:
        async with api(node) as (client, watch):
            log(f"exec: 1 pod, {args.exec_samples} exec pairs")
            await create_ready(client, watch, [exec_pod(names[0], out)])
            cid = watch.pods[names[0]]["status"]["containerStatuses"][0]["containerID"]
            await exec_pair(node, cid.partition("://")[2], out / names[0], args.exec_samples, res)
            log(f"exec: {len(names)} pods")
            manifests = [exec_pod(n, out) for n in names[1:]]
            res.phases_s["exec pods ready"] = await create_ready(client, watch, manifests)
            await asyncio.sleep(args.settle)
            log(f"exec: window {args.window}s")
            res.windows["exec"] = await steady_window(node.pid(), args.window, opens.take, None)
            await delete_all(client, watch, names)
    finally:
        loop.remove_reader(opens.fd)
        opens.close()


# -- report ---------------------------------------------------------------------------------


def _ms(v: float) -> str:
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def _late(w: Window | None) -> tuple[str, str]:
    if w is None or not w.late.samples:
        return "n/a", "n/a"
    s = Summary.of(w.late.samples)
    return _ms(s.p50_ms), _ms(s.p99_ms)


def table(res: Result, args: argparse.Namespace) -> str:
    lines = [
        "| probe | pods | probes/s | node CPU % per 1,000 probes/s | baseline | ratio"
        " | lateness p50 ms | p99 ms | baseline p50 ms | p99 ms | missed | Ready flips"
        " | TIME_WAIT max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    runc_cpu = res.exec_cpu_s.get("runc exec")
    for kind, pods in (("http", args.pods), ("tcp", args.pods), ("exec", args.exec_pods)):
        w = res.windows.get(kind)
        if w is None:
            continue
        if kind == "exec":
            base_name = "runc exec"
            base = 100 * sum(runc_cpu) / len(runc_cpu) * 1000 if runc_cpu else 0.0
            b = None
        else:
            b = res.windows[f"baseline {kind}"]
            base_name, base = "bare asyncio", b.per_1000
        tw = str(max(w.time_wait)) if w.time_wait else "n/a"
        lines.append(
            f"| {kind} | {pods} | {w.rate:.0f} | {w.per_1000:.1f} | {base:.1f} ({base_name})"
            f" | {w.per_1000 / base:.1f}x | {' | '.join(_late(w))} | {' | '.join(_late(b))}"
            f" | {w.late.missed} | {w.flips} | {tw} |"
        )
    return "\n".join(lines)


def exec_table(res: Result) -> str:
    if not res.exec_wall_s:
        return ""
    lines = [
        "| one exec of `cat` in the container | n | wall p50 ms | p99 ms | CPU ms mean |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, walls in res.exec_wall_s.items():
        s, cpu = Summary.of(walls), res.exec_cpu_s[name]
        lines.append(
            f"| {name} | {s.n} | {_ms(s.p50_ms)} | {_ms(s.p99_ms)}"
            f" | {_ms(sum(cpu) / len(cpu) * 1000)} |"
        )
    k, r = res.exec_wall_s.get("kubeproc exec_sync"), res.exec_wall_s.get("runc exec")
    if k and r:
        kc, rc = res.exec_cpu_s["kubeproc exec_sync"], res.exec_cpu_s["runc exec"]
        lines.append(
            f"\nkubeproc/runc: wall p50 {percentile(k, 50) / percentile(r, 50):.2f}x,"
            f" CPU {sum(kc) / sum(rc):.2f}x"
        )
    return "\n".join(lines)


def status_text(res: Result) -> str:
    if not res.status_write_s:
        return ""
    s = Summary.of(res.status_write_s)
    return (
        f"Deciding result to status write (the last 500 the server wrote before the watch read"
        f" Ready=False; failureThreshold {FAILURE_THRESHOLD}), {s.n} pods under the HTTP load:"
        f" p50 {_ms(s.p50_ms)} ms,"
        f" p99 {_ms(s.p99_ms)} ms, max {_ms(s.max_ms)} ms."
    )


# -- main -----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--pods", type=int, default=1000, help="HTTP and TCP pods (1000)")
    p.add_argument("--exec-pods", type=int, default=60, help="exec pods on oci (60)")
    p.add_argument("--window", type=float, default=60.0, help="steady window seconds (60)")
    p.add_argument("--settle", type=float, default=10.0, help="seconds before a window (10)")
    p.add_argument("--status-pods", type=int, default=100, help="pods flipped to 500 (100)")
    p.add_argument("--exec-samples", type=int, default=30, help="exec pairs (30)")
    p.add_argument("--port-base", type=int, default=21000, help="first server port (21000)")
    p.add_argument("--pod-cidr", default="10.215.0.0/16")
    p.add_argument("--service-cidr", default="10.216.0.0/16")
    p.add_argument("--skip-exec", action="store_true", help="no oci node, no exec rows")
    p.add_argument("--quick", action="store_true", help="50 pods, 10 exec pods, 10 s windows")
    args = p.parse_args()
    if args.quick:
        args.pods, args.exec_pods, args.window, args.settle = 50, 10, 10.0, 3.0
        args.status_pods, args.exec_samples = 20, 10
    return args


def run(args: argparse.Namespace, root: Path, res: Result) -> None:
    ports = range(args.port_base, args.port_base + args.pods)
    cidrs = ["--pod-cidr", args.pod_cidr, "--service-cidr", args.service_cidr]
    with running_target(ports.start, len(ports), free_port()) as ctl:
        (root / "proc").mkdir()
        with running_node(KUBEPROC, root / "proc", ["--runtime", "process", *cidrs]) as node:
            try:
                asyncio.run(net_phase(node, ctl, ports, args, res))
            finally:
                res.notes += node_notes(node)
    if args.skip_exec:
        return
    (root / "oci").mkdir()
    out = root / "files"
    out.mkdir()
    out.chmod(0o777)
    with running_node(KUBEPROC, root / "oci", ["--runtime", "oci", *cidrs]) as node:
        try:
            asyncio.run(exec_phase(node, out, args, res))
        finally:
            res.notes += node_notes(node)


def main() -> None:
    args = parse_args()
    started = datetime.datetime.now(datetime.UTC)
    command = shlex.join([".venv/bin/python", "bench/probes.py", *sys.argv[1:]])
    res = Result()
    load_before = os.getloadavg()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kubeproc-bench-probes-") as tmp:
        run(args, Path(tmp), res)
    text = "\n\n".join(x for x in (table(res, args), exec_table(res), status_text(res)) if x)
    print(f"`{command}`\n\n{text}")
    doc = {
        **run_header(command, started, load_before, REPO),
        "seconds": round(time.monotonic() - t0, 1),
        "params": vars(args),
        "windows": {k: w.doc() for k, w in res.windows.items()},
        "status_write_s": res.status_write_s,
        "status_write": asdict(Summary.of(res.status_write_s)) if res.status_write_s else None,
        "exec_wall_s": res.exec_wall_s,
        "exec_cpu_s": res.exec_cpu_s,
        "phases_s": res.phases_s,
        "memory_kib": res.memory_kib,
        "notes": res.notes,
        "table": text,
    }
    path = write_results(REPO / "bench" / "results", "probes", started, doc)
    print(f"\nwrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
