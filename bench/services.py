"""Service traffic: direct, nftables ClusterIP, userspace ClusterIP and HAProxy; readiness flips.

In one run, against the same two nginx pods (``_services_tools.py``: Debian's nginx-light
from the host's read-only root, one worker, a 3-byte answer):

- throughput: ``wrk -t1 -c<n>`` for ``--duration`` seconds, keep-alive and
  ``Connection: close``, to (1) one pod's IP directly, (2) the Service's ClusterIP on a node
  with ``--proxy-mode nftables``, (3) the ClusterIP of a selector-less Service on a second
  node with ``--proxy-mode userspace``, whose EndpointSlice names the same two pods, and
  (4) HAProxy on 127.0.0.1 in front of them (perf-baselines §2 config). ``--rounds`` rounds,
  the order of the targets rotated each round; the medians are reported, and each
  target's ratio to direct from the same run.
- readiness to rules: ``--flips`` times, one pod's ``/ready`` starts answering 500 (a file
  created from the host); its readiness probe (``periodSeconds: 1``, ``failureThreshold:
  1``) gets the 500, which nginx logs with its wall-clock time: the deciding result. The
  bench polls ``nft list table ip kubeproc-<tag>`` until the pod's IP is no longer a DNAT
  target. Then the file goes and the pod comes back the same way (the return is measured
  too). The sample is from the deciding result to the first listing without the pod.

    .venv/bin/python bench/services.py                  # the README rows (about 4 minutes)
    .venv/bin/python bench/services.py --rounds 1 --flips 10 --duration 3   # a quick look

Every target is on 127.0.0.1 or the nodes' own bridges; every load run is bounded by
``--duration``; the nodes go down with ``kubeproc down`` and HAProxy with SIGTERM whatever
happens.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import os
import shlex
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _node import Node, log_problems, run_header, running_node, write_results
from _services_tools import (
    Api,
    WrkResult,
    ensure_installed,
    nft_backends,
    nginx_command,
    nginx_conf,
    proxy_mode,
    proxy_table,
    running_haproxy,
    running_host_nginx,
    wrk,
)
from _stats import percentile

REPO = Path(__file__).resolve().parent.parent
KUBEPROC = REPO / ".venv" / "bin" / "kubeproc"
NS = "bench-svc"
PODS = ("nginx-0", "nginx-1")
WAIT = 90.0
POLL = 0.002
TARGETS = ("direct", "nftables", "userspace", "haproxy", "loopback")
LABELS = {
    "direct": "direct to one pod's IP",
    "nftables": "Service ClusterIP, nftables mode",
    "userspace": "Service ClusterIP, userspace mode",
    "haproxy": "HAProxy on 127.0.0.1 (http mode, 1 thread)",
    "loopback": "reference: the same nginx on the host's 127.0.0.1",
}


def wait_until(
    check: Callable[[], Any], what: str, timeout: float = WAIT, poll: float = 0.1
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if got := check():
            return got
        time.sleep(poll)
    raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")


# -- the cluster side -------------------------------------------------------------------


def pod(name: str, www: Path) -> dict[str, Any]:
    ctr = {
        "name": "nginx",
        "image": "nginx",
        "command": nginx_command(www / "nginx.conf"),
        "ports": [{"containerPort": 8080}],
        "readinessProbe": {
            "httpGet": {"path": "/ready", "port": 8080},
            "periodSeconds": 1,
            "timeoutSeconds": 1,
            "failureThreshold": 1,
            "successThreshold": 1,
        },
        "volumeMounts": [{"name": "www", "mountPath": str(www)}],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [ctr],
            "volumes": [{"name": "www", "hostPath": {"path": str(www)}}],
        },
    }


def service(selector: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"ports": [{"port": 80, "targetPort": 8080}]}
    if selector:
        spec["selector"] = {"app": "web"}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": spec}


def endpoint_slice(ips: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
    }


def ready_pod_ips(api: Api) -> dict[str, str] | None:
    items = api.get(f"/api/v1/namespaces/{NS}/pods")["items"]
    ips = {}
    for p in items:
        conditions = p.get("status", {}).get("conditions", [])
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            ips[p["metadata"]["name"]] = p["status"]["podIP"]
    return ips if len(ips) == len(PODS) else None


def setup_pods(node: Node, www: Path) -> tuple[dict[str, str], str]:
    """The two nginx pods and Service ``web``; (pod -> IP, ClusterIP) once both are in nft."""
    api = Api(node)
    api.create("/api/v1/namespaces", {"metadata": {"name": NS}})
    for name in PODS:
        api.create(f"/api/v1/namespaces/{NS}/pods", pod(name, www))
    svc = api.create(f"/api/v1/namespaces/{NS}/services", service(selector=True))
    ips: dict[str, str] = wait_until(lambda: ready_pod_ips(api), "both nginx pods Ready")
    table = proxy_table(node)
    wait_until(lambda: set(ips.values()) <= nft_backends(table), "both pods in the rules")
    return ips, svc["spec"]["clusterIP"]


def setup_userspace(node: Node, ips: list[str]) -> str | None:
    """A selector-less Service on the userspace node whose slice names the pods; its VIP."""
    if proxy_mode(node) != "userspace":
        return None
    api = Api(node)
    api.create("/api/v1/namespaces", {"metadata": {"name": NS}})
    svc = api.create(f"/api/v1/namespaces/{NS}/services", service(selector=False))
    api.create(f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices", endpoint_slice(ips))
    vip: str = svc["spec"]["clusterIP"]
    return vip


# -- throughput -------------------------------------------------------------------------


@dataclass
class Throughput:
    samples: dict[str, list[WrkResult]] = field(default_factory=dict)

    def median(self, key: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.samples[key])

    def ratio(self, key: str, base: str) -> float:
        """The median over rounds of req/s ÷ the base's req/s in the same round: a burst of
        other work on the machine hits both runs of a round, much less two rounds alike."""
        pairs = zip(self.samples[key], self.samples[base], strict=True)
        return statistics.median(r.rps / b.rps for r, b in pairs)


def measure_throughput(urls: dict[str, str], args: argparse.Namespace) -> Throughput:
    res = Throughput()
    names = list(urls)
    for rnd in range(args.rounds):
        order = names[rnd % len(names) :] + names[: rnd % len(names)]
        for close in (False, True):
            for name in order:
                got = wrk(urls[name], seconds=args.duration, connections=args.connections,
                          close=close)  # fmt: skip
                key = f"{name}/{'close' if close else 'keep-alive'}"
                res.samples.setdefault(key, []).append(got)
                print(f"  round {rnd} {key}: {got.rps:,.0f} req/s p99 {got.p99_ms:.2f} ms "
                      f"errors {got.errors} SYN retransmits {got.syn_retrans} "
                      f"listen drops {got.listen_drops}", file=sys.stderr)  # fmt: skip
    return res


# -- readiness flips --------------------------------------------------------------------


@dataclass
class Flips:
    to_rules: list[float] = field(default_factory=list)  # deciding 500 -> out of the rules
    flip_to_decide: list[float] = field(default_factory=list)
    back_to_rules: list[float] = field(default_factory=list)  # deciding 200 -> back in
    poll_s: list[float] = field(default_factory=list)
    missed: int = 0


def probe_log(out: Path, name: str) -> list[tuple[float, int]]:
    path = out / f"{name}.ready.log"
    if not path.exists():
        return []
    rows = (line.split() for line in path.read_text().splitlines())
    return [(float(r[0]), int(r[1])) for r in rows if len(r) >= 2]


def first_answer(out: Path, name: str, status: int, since: float) -> float | None:
    return next((t for t, s in probe_log(out, name) if s == status and t >= since), None)


def poll_rules(table: str, ip: str, present: bool, flips: Flips) -> float:
    """Wall time of the first ``nft list`` whose DNAT targets have ``ip`` as ``present``."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        started = time.time()
        seen = ip in nft_backends(table)
        flips.poll_s.append(time.time() - started)
        if seen == present:
            return started
        time.sleep(POLL)
    raise RuntimeError(f"{ip} still {'absent from' if present else 'in'} the rules after 20 s")


def measure_flips(table: str, ips: dict[str, str], out: Path, n: int) -> Flips:
    flips = Flips()
    for i in range(n):
        name = PODS[i % len(PODS)]
        ip, marker = ips[name], out / f"{name}.unready"
        flipped = time.time()
        marker.touch()
        gone = poll_rules(table, ip, present=False, flips=flips)
        decided = wait_until(
            functools.partial(first_answer, out, name, 500, flipped), "the 500", 5, 0.01
        )
        marker.unlink()
        unflipped = time.time()
        back = poll_rules(table, ip, present=True, flips=flips)
        undecided = wait_until(
            functools.partial(first_answer, out, name, 200, unflipped), "the 200", 5, 0.01
        )
        if gone < decided or back < undecided:
            flips.missed += 1  # a listing taken before the result: the clocks disagree
            continue
        flips.to_rules.append(gone - decided)
        flips.flip_to_decide.append(decided - flipped)
        flips.back_to_rules.append(back - undecided)
    return flips


# -- the run ----------------------------------------------------------------------------


@contextlib.contextmanager
def userspace_node(root: Path, args: argparse.Namespace) -> Iterator[Node | None]:
    if args.skip_userspace:
        yield None
        return
    extra = ["--proxy-mode", "userspace", "--pod-cidr", args.us_pod_cidr,
             "--service-cidr", args.us_service_cidr]  # fmt: skip
    with running_node(KUBEPROC, root / "userspace", extra) as node:
        yield node


def run(args: argparse.Namespace, notes: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kubeproc-bench-svc-") as tmp:
        root = Path(tmp)
        www = root / "www"
        www.mkdir()
        www.chmod(0o755)
        os.chmod(root, 0o755)  # noqa: PTH101 - the pods read the config from under it
        (www / "nginx.conf").write_text(nginx_conf(www))
        (root / "nft").mkdir()
        (root / "userspace").mkdir()
        extra = ["--proxy-mode", "nftables", "--pod-cidr", args.pod_cidr,
                 "--service-cidr", args.service_cidr]  # fmt: skip
        with running_node(KUBEPROC, root / "nft", extra) as node:
            try:
                return measure(node, root, www, args, notes)
            finally:
                notes += [f"{n}x {m}" for m, n in log_problems(node).items()][:20]


def measure(
    node: Node, root: Path, www: Path, args: argparse.Namespace, notes: list[str]
) -> dict[str, Any]:
    phases: dict[str, float] = {}
    t0 = time.monotonic()
    ips, vip = setup_pods(node, www)
    table = proxy_table(node)
    phases["pods"] = time.monotonic() - t0
    urls = {"direct": f"http://{ips[PODS[0]]}:8080/", "nftables": f"http://{vip}/"}
    with contextlib.ExitStack() as stack:
        us_node = stack.enter_context(userspace_node(root, args))
        us_vip = setup_userspace(us_node, list(ips.values())) if us_node else None
        if us_vip is not None:
            wait_until(lambda: _answers(f"http://{us_vip}/"), "the userspace VIP answers", 30)
            urls["userspace"] = f"http://{us_vip}/"
        elif us_node is not None:
            notes.append(f"userspace: the second node runs proxy mode {proxy_mode(us_node)!r}")
        hp_dir = root / "haproxy"
        hp_dir.mkdir()
        hp = stack.enter_context(running_haproxy(hp_dir, list(ips.values())))
        urls["haproxy"] = f"http://127.0.0.1:{hp.port}/"
        port = stack.enter_context(running_host_nginx(root / "host-nginx"))
        urls["loopback"] = f"http://127.0.0.1:{port}/"
        phases["proxies"] = time.monotonic() - t0 - phases["pods"]
        t1 = time.monotonic()
        tp = measure_throughput(urls, args)
        phases["throughput"] = time.monotonic() - t1
    t2 = time.monotonic()
    flips = measure_flips(table, ips, www, args.flips)
    phases["flips"] = time.monotonic() - t2
    return {"urls": urls, "throughput": tp, "flips": flips, "phases": phases}


def _answers(url: str) -> bool:
    with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as resp:
        return bool(resp.status == 200)
    return False


# -- the report -------------------------------------------------------------------------


def throughput_table(tp: Throughput) -> str:
    lines = [
        "| path | keep-alive req/s (min-max) | ÷ direct | p99 ms"
        " | close req/s (min-max) | ÷ direct | p99 ms | errors | SYN retrans, close |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in TARGETS:
        ka, cl = f"{name}/keep-alive", f"{name}/close"
        if ka not in tp.samples:
            lines.append(f"| {LABELS[name]} | not measured | | | | | | | |")
            continue
        cells = []
        for key in (ka, cl):
            rps = tp.median(key, "rps")
            ratio = tp.ratio(key, f"direct/{key.split('/')[1]}")
            lo, hi = (f(r.rps for r in tp.samples[key]) / 1000 for f in (min, max))
            cells += [
                f"{rps / 1000:.1f} k ({lo:.1f}-{hi:.1f})",
                f"{ratio:.2f}",
                f"{tp.median(key, 'p99_ms'):.2f}",
            ]
        errors = sum(r.errors for key in (ka, cl) for r in tp.samples[key])
        retrans = "/".join(str(r.syn_retrans) for r in tp.samples[cl])
        lines.append(f"| {LABELS[name]} | {' | '.join(cells)} | {errors} | {retrans} |")
    return "\n".join(lines)


def flips_text(f: Flips) -> str:
    def pct(xs: list[float]) -> str:
        if not xs:
            return "no samples"
        return f"p50 {percentile(xs, 50) * 1000:.1f} ms, p99 {percentile(xs, 99) * 1000:.1f} ms"

    poll = statistics.mean(f.poll_s) * 1000 if f.poll_s else float("nan")
    return (
        f"| readiness (n={len(f.to_rules)}) | p50 ms | p99 ms |\n|---|---:|---:|\n"
        + "".join(
            f"| {label} | {percentile(xs, 50) * 1000:.1f} | {percentile(xs, 99) * 1000:.1f} |\n"
            for label, xs in (
                ("deciding 500 → pod out of the nft rules", f.to_rules),
                ("deciding 200 → pod back in the nft rules", f.back_to_rules),
                ("file created → deciding 500 (probe phase)", f.flip_to_decide),
            )
            if xs
        )
        + f"\nOne `nft list table` took {poll:.1f} ms on average (the resolution of the "
        f"'out of the rules' time); {f.missed} flips dropped (a listing before the result). "
        f"Out of the rules: {pct(f.to_rules)}.\n"
        "Kubernetes' own bounds for the same path: the kubelet writes the status at once, the "
        "EndpointSlice controller batches nothing by default, kube-proxy's nftables and "
        "iptables modes sync at most once per `minSyncPeriod` (1 s by default): from a few "
        "hundred ms to over a second, before the probe's own P x F."
    )


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5, help="throughput rounds, order rotated")
    p.add_argument("--duration", type=float, default=3.0, help="seconds per wrk run")
    p.add_argument("--connections", type=int, default=50, help="wrk -c")
    p.add_argument("--flips", type=int, default=40, help="readiness flips (pods alternate)")
    p.add_argument("--skip-userspace", action="store_true", help="no second node")
    p.add_argument("--pod-cidr", default="10.215.0.0/24")
    p.add_argument("--service-cidr", default="10.216.0.0/24")
    p.add_argument("--us-pod-cidr", default="10.217.0.0/24")
    p.add_argument("--us-service-cidr", default="10.218.0.0/24")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    started = datetime.datetime.now(datetime.UTC)
    command = shlex.join([".venv/bin/python", "bench/services.py", *sys.argv[1:]])
    notes = [f"installed {' '.join(pkgs)} with apt-get" for pkgs in [ensure_installed()] if pkgs]
    load_before = os.getloadavg()
    t0 = time.monotonic()
    got = run(args, notes)
    total = time.monotonic() - t0
    tp, flips = got["throughput"], got["flips"]
    text = throughput_table(tp) + "\n\n" + flips_text(flips)
    print(f"`{command}`\n\n{text}\n\n{total:.0f} s in all; load {load_before} -> {os.getloadavg()}")
    for n in notes:
        print(f"note: {n}")
    doc = {
        **run_header(command, started, load_before, REPO),
        "params": vars(args),
        "urls": got["urls"],
        "throughput": {k: [asdict(r) for r in v] for k, v in tp.samples.items()},
        "flips_s": asdict(flips),
        "phases_s": got["phases"],
        "total_s": total,
        "notes": notes,
        "table": text,
    }
    path = write_results(REPO / "bench" / "results", "services", started, doc)
    print(f"\nwrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
