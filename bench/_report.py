"""The record of one bench run, and the forms it is written in: Markdown and JSON.

``Run`` collects what ``apiserver.py`` measures; ``report`` turns it into the JSON kept in
``bench/results/``, ``memory_markdown`` into the memory table printed under the latency table.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform
from dataclasses import dataclass, field
from typing import Any

from _node import Memory
from _stats import Row


@dataclass(frozen=True)
class Params:
    pods: int
    connections: int
    get_samples: int
    list_samples: int
    page_walks: int
    page_size: int
    watch_events: int
    watch_interval: float
    baseline_creates: int
    quiet_timeout: float
    seed: int


@dataclass
class Run:
    """What one run found; turned into the JSON file and the printed report."""

    params: Params
    rows: list[Row] = field(default_factory=list)
    memory: dict[str, dict[str, Memory]] = field(default_factory=dict)
    store_bytes: dict[str, int] = field(default_factory=dict)
    phases_s: dict[str, float] = field(default_factory=dict)
    create_per_s: float = 0.0
    quiet_s: float = 0.0
    node_log: dict[str, int] = field(default_factory=dict)
    loadavg: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    source: dict[str, str | int] = field(default_factory=dict)


def report(run: Run, command: str, started: datetime.datetime) -> dict[str, Any]:
    return {
        "command": command,
        "started": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "source": run.source,
        "params": dataclasses.asdict(run.params),
        "rows": [{**dataclasses.asdict(r), "ratio_p50": round(r.ratio, 2)} for r in run.rows],
        "create_per_s": round(run.create_per_s, 1),
        "quiet_after_s": round(run.quiet_s, 2),
        "loadavg": run.loadavg,
        "memory_kib": {
            stage: {proc: dataclasses.asdict(m) for proc, m in procs.items()}
            for stage, procs in run.memory.items()
        },
        "store_bytes": run.store_bytes,
        "phases_s": run.phases_s,
        "node_log_warnings": run.node_log,
    }


def memory_markdown(run: Run) -> str:
    def mib(kib: int) -> str:
        return f"{kib / 1024:.0f}"

    lines = [
        "| stage | node RSS MiB | node peak (VmHWM) MiB | store on disk MiB"
        " | baseline RSS MiB | bench client RSS MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for stage, procs in run.memory.items():
        node, base, client = procs["node"], procs["baseline"], procs["bench client"]
        lines.append(
            f"| {stage} | {mib(node.rss_kib)} | {mib(node.hwm_kib)}"
            f" | {run.store_bytes[stage] / (1 << 20):.1f} | {mib(base.rss_kib)}"
            f" | {mib(client.rss_kib)} |"
        )
    idle, loaded = run.memory["idle"]["node"], run.memory[f"{run.params.pods} pods"]["node"]
    per_pod = (loaded.rss_kib - idle.rss_kib) / run.params.pods
    lines += ["", f"node RSS growth per stored pod: {per_pod:.0f} KiB"]
    return "\n".join(lines)
