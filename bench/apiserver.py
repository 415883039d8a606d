"""The API server on N stored pods: latency of get, list, create and watch, and memory.

Starts a real node (``kubeproc up --detach`` on a temporary data dir), creates N pods
through the HTTPS API, then measures each request shape against the node and, interleaved
request by request, against a trivial HTTPS server answering a body of the same size
(``_baseline.py``), so every row carries a ratio rather than a bare time. Prints a Markdown
table and writes the run to ``bench/results/apiserver-<timestamp>.json``.

    .venv/bin/python bench/apiserver.py            # 10,000 pods, the README's row
    .venv/bin/python bench/apiserver.py --pods 500 # a quick look

All traffic is on 127.0.0.1. Every loop is bounded by a count and the whole run by
``--time-limit``. See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import gc
import json
import os
import random
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import aiohttp
from _baseline import running_baseline
from _client import Timed, TimedSession
from _node import (
    Memory,
    Node,
    cpu_seconds,
    free_port,
    log_problems,
    running_node,
    source_state,
    write_results,
)
from _pod import NAMESPACE, SEQ_LABEL, pod_manifest, pod_name
from _report import Params, Run, memory_markdown, report
from _stats import Row, Summary, markdown

REPO = Path(__file__).resolve().parent.parent
PODS = f"/api/v1/namespaces/{NAMESPACE}/pods"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
JSON = {"Content-Type": "application/json"}
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
QUIET_POLL = 1.0
WATCH_DRAIN_TIMEOUT = 30.0


@contextlib.contextmanager
def phase(run: Run, name: str) -> Iterator[None]:
    """One timed phase. The client's cyclic GC runs between phases, never inside one.

    As ``timeit`` does: a full collection in this process would otherwise land in some
    sample, node's or baseline's, at random. The node's own collector is untouched.
    """
    gc.collect()
    gc.disable()
    start = time.monotonic()
    print(f"[{name}] ...", file=sys.stderr, flush=True)
    try:
        yield
    finally:
        gc.enable()
        run.phases_s[name] = round(time.monotonic() - start, 2)
        print(f"[{name}] {run.phases_s[name]:.1f}s", file=sys.stderr, flush=True)


# -- load -----------------------------------------------------------------------------------


async def pool(jobs: int, workers: int, job: Callable[[int], Awaitable[float]]) -> list[float]:
    """Run ``job(0..jobs-1)`` on ``workers`` concurrent tasks; the latencies, in job order."""
    latencies = [0.0] * jobs
    indexes = iter(range(jobs))

    async def worker() -> None:
        for i in indexes:  # shared iterator: each index is taken by exactly one worker
            latencies[i] = await job(i)

    async with asyncio.TaskGroup() as tg:
        for _ in range(workers):
            tg.create_task(worker())
    return latencies


async def load(run: Run, kp: TimedSession, base: TimedSession) -> Row:
    """Create the namespace and N pods; the create row, against the baseline's POSTs."""
    p = run.params
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    await kp.request(
        "POST", "/api/v1/namespaces", body=json.dumps(namespace).encode(), headers=JSON, expect=201
    )
    sizes = [0] * p.pods

    async def create(i: int) -> float:
        timed = await kp.request(
            "POST", PODS, body=json.dumps(pod_manifest(i)).encode(), headers=JSON, expect=201
        )
        sizes[i] = len(timed.body)
        if (i + 1) % 1000 == 0:
            print(f"  created {i + 1}", file=sys.stderr, flush=True)
        return timed.seconds

    start = time.monotonic()
    created = await pool(p.pods, p.connections, create)
    run.create_per_s = p.pods / (time.monotonic() - start)
    answer = sum(sizes) // len(sizes)

    async def baseline_create(i: int) -> float:
        body = json.dumps(pod_manifest(i)).encode()
        return (await base.request("POST", f"/bytes/{answer}", body=body, expect=201)).seconds

    baseline = await pool(min(p.baseline_creates, p.pods), p.connections, baseline_create)
    label = f"create pod ({p.connections} connections)"
    return Row(label, Summary.of(created), Summary.of(baseline), answer)


async def quiesce(pid: int, max_polls: int) -> float:
    """Wait until the node has worked through the load (its controllers' backlog, relists).

    Quiet is two consecutive seconds in which the node used under 5% of a CPU.
    """
    start = time.monotonic()
    quiet = 0
    used = cpu_seconds(pid)
    for _ in range(max_polls):
        await asyncio.sleep(QUIET_POLL)
        now = cpu_seconds(pid)
        quiet = quiet + 1 if now - used < 0.05 * QUIET_POLL else 0
        used = now
        if quiet == 2:
            return time.monotonic() - start - 2 * QUIET_POLL
    raise TimeoutError(f"the node was still busy after {max_polls} polls")


# -- reads ----------------------------------------------------------------------------------


async def side_by_side(
    label: str, samples: int, kp_call: Callable[[], Awaitable[Timed]], base: TimedSession
) -> Row:
    """``samples`` node requests, each followed by a baseline GET of the same body size."""
    kp_s: list[float] = []
    base_s: list[float] = []
    sizes: list[int] = []
    for _ in range(samples):
        timed = await kp_call()
        kp_s.append(timed.seconds)
        sizes.append(len(timed.body))
        base_s.append((await base.request("GET", f"/bytes/{len(timed.body)}")).seconds)
    return Row(label, Summary.of(kp_s), Summary.of(base_s), sum(sizes) // len(sizes))


async def paged(
    label: str, kp: TimedSession, base: TimedSession, p: Params, headers: dict[str, str]
) -> Row:
    """Walk the namespace in pages of ``page_size``; one sample per page request."""
    kp_s: list[float] = []
    base_s: list[float] = []
    sizes: list[int] = []
    max_pages = p.pods // p.page_size + 2
    for _ in range(p.page_walks):
        token = ""
        for _page in range(max_pages):
            query = f"{PODS}?limit={p.page_size}" + (f"&continue={quote(token)}" if token else "")
            timed = await kp.request("GET", query, headers=headers)
            kp_s.append(timed.seconds)
            sizes.append(len(timed.body))
            base_s.append((await base.request("GET", f"/bytes/{len(timed.body)}")).seconds)
            token = json.loads(timed.body)["metadata"].get("continue", "")
            if not token:
                break
    return Row(label, Summary.of(kp_s), Summary.of(base_s), sum(sizes) // len(sizes))


async def reads(run: Run, kp: TimedSession, base: TimedSession, rng: random.Random) -> None:
    p = run.params
    table = {"Accept": TABLE}

    async def get_one() -> Timed:
        return await kp.request("GET", f"{PODS}/{pod_name(rng.randrange(p.pods))}")

    async def list_json() -> Timed:
        return await kp.request("GET", PODS)

    async def list_table() -> Timed:
        return await kp.request("GET", PODS, headers=table)

    with phase(run, "get"):
        run.rows.append(await side_by_side("get pod", p.get_samples, get_one, base))
    with phase(run, "list"):
        run.rows.append(await side_by_side("list pods, JSON", p.list_samples, list_json, base))
        run.rows.append(await side_by_side("list pods, Table", p.list_samples, list_table, base))
    with phase(run, "pages"):
        pg = p.page_size
        run.rows.append(await paged(f"list pods, JSON, limit={pg} (per page)", kp, base, p, {}))
        run.rows.append(await paged(f"list pods, Table, limit={pg} (per page)", kp, base, p, table))


# -- watch ----------------------------------------------------------------------------------


async def _read_events(
    stream: aiohttp.StreamReader, want: int, arrived: dict[int, float], sizes: list[int]
) -> None:
    """Time each event carrying a bench sequence number until ``want`` have arrived."""
    while len(arrived) < want:
        line = await stream.readline()
        if not line:
            raise ConnectionError("the watch stream ended early")
        now = time.perf_counter()
        labels = json.loads(line)["object"].get("metadata", {}).get("labels", {})
        seq = labels.get(SEQ_LABEL)
        if seq is not None and int(seq) > 0:
            arrived.setdefault(int(seq), now)
            sizes.append(len(line))


async def watched_patches(
    session: TimedSession,
    watch_path: str,
    patch: Callable[[int], Awaitable[Timed]],
    p: Params,
) -> tuple[list[float], list[float], int, int]:
    """Open a watch, make ``watch_events`` paced writes; delivery and write latencies."""
    arrived: dict[int, float] = {}
    sent: dict[int, float] = {}
    patch_s: list[float] = []
    sizes: list[int] = []
    answer = 0
    timeout = aiohttp.ClientTimeout(total=None, sock_read=WATCH_DRAIN_TIMEOUT)
    async with session.session.get(session.base_url + watch_path, timeout=timeout) as response:
        if response.status != 200:
            raise ConnectionError(f"watch answered {response.status}")
        async with asyncio.TaskGroup() as tg:
            reader = tg.create_task(_read_events(response.content, p.watch_events, arrived, sizes))
            for seq in range(1, p.watch_events + 1):
                sent[seq] = time.perf_counter()
                timed = await patch(seq)
                patch_s.append(timed.seconds)
                answer = len(timed.body)
                await asyncio.sleep(p.watch_interval)
            await asyncio.wait_for(reader, WATCH_DRAIN_TIMEOUT)
    delivery = [arrived[seq] - sent[seq] for seq in sorted(arrived)]
    return delivery, patch_s, sum(sizes) // max(len(sizes), 1), answer


async def watch(run: Run, kp: TimedSession, base: TimedSession, rng: random.Random) -> None:
    p = run.params
    rv = json.loads((await kp.request("GET", f"{PODS}?limit=1")).body)["metadata"]
    path = f"{PODS}?watch=true&resourceVersion={rv['resourceVersion']}"

    async def kp_patch(seq: int) -> Timed:
        body = json.dumps({"metadata": {"labels": {SEQ_LABEL: str(seq)}}}).encode()
        name = pod_name(rng.randrange(p.pods))
        return await kp.request("PATCH", f"{PODS}/{name}", body=body, headers=MERGE_PATCH)

    kp_delivery, kp_patch_s, line, answer = await watched_patches(kp, path, kp_patch, p)

    async def base_patch(seq: int) -> Timed:
        body = json.dumps({"metadata": {"labels": {SEQ_LABEL: str(seq)}}}).encode()
        return await base.request("PATCH", f"/poke/{seq}/{answer}?line={line}", body=body)

    base_delivery, base_patch_s, _, _ = await watched_patches(base, "/watch", base_patch, p)
    label = f"patch pod ({p.watch_events} paced, 1 connection)"
    run.rows.append(Row(label, Summary.of(kp_patch_s), Summary.of(base_patch_s), answer))
    label = "watch delivery (PATCH start to event read)"
    run.rows.append(Row(label, Summary.of(kp_delivery), Summary.of(base_delivery), line))


# -- the run --------------------------------------------------------------------------------


def snapshot(run: Run, stage: str, node: Node, baseline_pid: int) -> None:
    run.memory[stage] = {
        "node": Memory.of(node.pid()),
        "baseline": Memory.of(baseline_pid),
        "bench client": Memory.of(os.getpid()),
    }
    run.store_bytes[stage] = node.store_bytes()


async def measure(run: Run, node: Node, base_port: int, baseline_pid: int) -> None:
    p = run.params
    rng = random.Random(p.seed)
    ctx = node.ssl_context()
    snapshot(run, "idle", node, baseline_pid)
    run.loadavg["start"] = os.getloadavg()
    async with (
        TimedSession(node.base_url, ctx, p.connections, node.token()) as kp,
        TimedSession(f"https://127.0.0.1:{base_port}", ctx, p.connections, "-") as base,
    ):
        with phase(run, "create"):
            create = await load(run, kp, base)
        with phase(run, "quiesce"):
            async with asyncio.timeout(p.quiet_timeout):
                polls = int(p.quiet_timeout / QUIET_POLL) + 1
                run.quiet_s = await quiesce(node.pid(), polls)
        snapshot(run, f"{p.pods} pods", node, baseline_pid)
        await reads(run, kp, base, rng)
        with phase(run, "watch"):
            await watch(run, kp, base, rng)
        run.rows.insert(0, create)
    snapshot(run, "after measures", node, baseline_pid)
    run.node_log = log_problems(node)
    run.loadavg["end"] = os.getloadavg()


def display(path: Path) -> str:
    """``path`` relative to the repository when it is inside it."""
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(REPO))
    return str(path)


def command_line() -> str:
    python = Path(sys.executable).absolute()
    with contextlib.suppress(ValueError):
        python = python.relative_to(REPO)
    return shlex.join([str(python), display(Path(__file__)), *sys.argv[1:]])


def parse_args(argv: list[str]) -> tuple[Params, argparse.Namespace]:
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--pods", type=int, default=10_000, help="pods to store (default 10000)")
    a.add_argument("--connections", type=int, default=8, help="client connections for create")
    a.add_argument("--get-samples", type=int, default=2000)
    a.add_argument("--list-samples", type=int, default=20)
    a.add_argument("--page-walks", type=int, default=3, help="full paginated walks")
    a.add_argument("--page-size", type=int, default=500)
    a.add_argument("--watch-events", type=int, default=1000)
    a.add_argument("--watch-interval", type=float, default=0.005, help="pause between patches")
    a.add_argument("--baseline-creates", type=int, default=2000)
    a.add_argument(
        "--quiet-timeout", type=float, default=300.0, help="seconds to wait for an idle node"
    )
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--time-limit", type=float, default=1200.0, help="seconds for the whole run")
    a.add_argument("--kubeproc", type=Path, default=REPO / ".venv" / "bin" / "kubeproc")
    a.add_argument("--out-dir", type=Path, default=REPO / "bench" / "results")
    ns = a.parse_args(argv)
    fields = {f.name for f in dataclasses.fields(Params)}
    return Params(**{k: v for k, v in vars(ns).items() if k in fields}), ns


def _terminated(signum: int, _frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so the node is stopped and the temp dir removed."""
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    params, ns = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)
    started = datetime.datetime.now(datetime.UTC)
    run = Run(params, source=source_state(REPO))  # what the node is about to load
    base_port = free_port()
    with (
        tempfile.TemporaryDirectory(prefix="apiserver-bench-") as tmp,
        running_node(ns.kubeproc, Path(tmp) / "data") as node,
        running_baseline(base_port, node.cert_file, node.key_file) as baseline_pid,
    ):
        asyncio.run(asyncio.wait_for(measure(run, node, base_port, baseline_pid), ns.time_limit))
    command = command_line()
    path = write_results(ns.out_dir, "apiserver", started, report(run, command, started))
    print(f"\n`{command}`\n")
    print(markdown(run.rows))
    print(
        f"\ncreate throughput: {run.create_per_s:.0f} pods/s; the node went quiet "
        f"{run.quiet_s:.1f}s after the last create\n"
    )
    print(memory_markdown(run))
    print(f"\nphases (s): {json.dumps(run.phases_s)}")
    for message, count in run.node_log.items():
        print(f"node log, {count}x: {message}")
    print(f"written: {display(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
