"""A namespace's pod and event history as ``kubectl get -w`` delivers it, stamped on arrival.

The API's own timestamps have one-second resolution, too coarse for a readiness flip one
period after a failure. A ``Timeline`` runs two real ``kubectl get -w -o json
--output-watch-events`` processes (pods, events) for one namespace, each read by a thread
it owns, and keeps every object they print with the wall-clock time it arrived: the
tests then ask when something first became true. A watch reports every change (a poll can
miss a state that lasts less than its interval) and costs no CPU while nothing changes.
If a watch ends (the server closes it), it is started again; the re-list repeats objects
as ADDED, which only adds snapshots equal to ones already held.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.e2e.harness import Kubectl


def stamp(value: str) -> float:
    """An RFC 3339 time (a status field, an event, a log stamp) as seconds since the epoch."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def report(case: str, what: str, measured: float, low: float | None, high: float | None) -> None:
    """Print one timing against its spec bound(s) and the margin ε to the nearer bound."""
    margins = [
        m
        for m in (
            None if low is None else measured - low,
            None if high is None else high - measured,
        )
        if m is not None
    ]
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    print(f"{case}: {what} = {measured:.2f} s, bound [{lo}, {hi}], ε {min(margins):+.2f} s")


@dataclass(frozen=True)
class Seen:
    """One object as a watch printed it: ``at`` is ``time.time()`` when it arrived."""

    at: float
    type: str
    obj: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.obj.get("metadata", {}).get("name", ""))


class Watch:
    """``kubectl get <resource> -n <ns> -w -o json --output-watch-events``, recorded."""

    def __init__(self, kubectl: Kubectl, namespace: str, resource: str) -> None:
        self._argv = [
            str(kubectl.binary),
            "get",
            resource,
            "-n",
            namespace,
            "-w",
            "-o",
            "json",
            "--output-watch-events",
        ]
        self._env = {
            **os.environ,
            "HOME": str(kubectl.home),
            "KUBECONFIG": str(kubectl.node.kubeconfig),
        }
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._proc: subprocess.Popen[str] | None = None
        self._thread = threading.Thread(target=self._run, name=f"watch-{resource}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._thread.join(timeout=10)

    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def _run(self) -> None:
        while not self._stopping.is_set():
            proc = subprocess.Popen(
                self._argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env=self._env,
            )
            with self._lock:
                self._proc = proc
            assert proc.stdout is not None
            lines: list[str] = []
            # kubectl 1.33 prints one compact document per line; should it pretty-print,
            # a document ends at the first unindented line ending in a closing brace.
            for line in proc.stdout:
                lines.append(line)
                if line[:1].isspace() or not line.rstrip().endswith("}"):
                    continue
                at = time.time()
                try:
                    doc = json.loads("".join(lines))
                except ValueError:
                    continue  # not the document's end after all: read on
                lines = []
                with self._lock:
                    self._seen.append(Seen(at, doc["type"], doc["object"]))
            proc.wait()
            proc.stdout.close()
            self._stopping.wait(0.5)  # the server ended the watch: start another


class Timeline:
    """The pods and events of one namespace, as seen since ``start``."""

    def __init__(self, kubectl: Kubectl, namespace: str) -> None:
        self.pods = Watch(kubectl, namespace, "pods")
        self.events = Watch(kubectl, namespace, "events")

    def start(self) -> None:
        self.pods.start()
        self.events.start()

    def stop(self) -> None:
        self.pods.stop()
        self.events.stop()

    # -- pods ----------------------------------------------------------------------------

    def pod(self, name: str) -> list[Seen]:
        """Every snapshot of pod ``name`` in arrival order (the DELETED one included)."""
        return [s for s in self.pods.seen() if s.name == name]

    def first_pod(self, name: str, pred: Callable[[dict[str, Any]], Any]) -> Seen | None:
        """The first snapshot of ``name`` for which ``pred`` holds."""
        return next((s for s in self.pod(name) if pred(s.obj)), None)

    def latest_pod(self, name: str) -> dict[str, Any] | None:
        history = [s for s in self.pod(name) if s.type != "DELETED"]
        return history[-1].obj if history else None

    def deleted(self, name: str) -> Seen | None:
        return next((s for s in self.pod(name) if s.type == "DELETED"), None)

    # -- events --------------------------------------------------------------------------

    def event_writes(self, pod: str) -> list[Seen]:
        """Every write (creation or count bump) of the events about pod ``pod``."""
        return [
            s
            for s in self.events.seen()
            if s.obj.get("involvedObject", {}).get("name") == pod and s.type != "DELETED"
        ]

    def event_count(
        self, pod: str, text: str, until: float | None = None, reason: str | None = None
    ) -> int:
        """How often events about ``pod`` containing ``text`` had fired by ``until``."""
        latest: dict[str, int] = {}
        for s in self.event_writes(pod):
            if until is not None and s.at > until:
                break
            if reason is not None and s.obj.get("reason") != reason:
                continue
            if text in s.obj.get("message", ""):
                latest[s.name] = int(s.obj.get("count") or 1)
        return sum(latest.values())
