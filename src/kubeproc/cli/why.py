"""``kubeproc why POD``: a plain-language account of a pod's health, with the evidence.

The thin half of the verb: three reads from the API server, with the kubeconfig found as
kubectl finds it (``cli.probes``: ``--kubeconfig``, ``$KUBECONFIG``, ``~/.kube/config``),
then ``cli.diagnosis`` decides and words it. The reads:

* ``GET /api/v1/namespaces/{ns}/pods/{pod}``: statuses, restart counts, conditions;
* ``GET /api/v1/namespaces/{ns}/events?fieldSelector=involvedObject.name=...`` (the
  kind and UID filtered too, so a deleted pod's namesake's events are left out);
* ``GET .../pods/{pod}/probehistory``: every recent probe attempt.

The pod's read failing is the verb failing, in kubectl's words (``Error from server
(NotFound): pods "x" not found``), exit 1. The events or the history failing (a kubelet
that is down) leaves less evidence, not no answer: one ``warning:`` line on stderr.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from kubeproc.cli import diagnosis, diagnosistext, probes
from kubeproc.cli.probes import CliError, Target, get_json


def events_of(target: Target, pod: dict[str, Any]) -> list[dict[str, Any]]:
    meta = pod["metadata"]
    selector = f"involvedObject.kind=Pod,involvedObject.name={meta['name']}"
    if meta.get("uid"):
        selector += f",involvedObject.uid={meta['uid']}"
    path = f"/api/v1/namespaces/{urllib.parse.quote(meta['namespace'])}/events"
    items = get_json(target, path, {"fieldSelector": selector}).get("items") or []
    return [e for e in items if isinstance(e, dict)]


def gather(
    target: Target, namespace: str, name: str, container: str
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any], list[str]]:
    """The pod, its events, its probe history, and a warning per evidence left out."""
    quote = urllib.parse.quote
    pod = get_json(target, f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(name)}")
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    if container and container not in names:
        raise CliError(
            f"Error from server (BadRequest): container {container} is not valid for pod {name}"
        )
    warnings: list[str] = []
    events: list[dict[str, Any]] = []
    history: dict[str, Any] = {}
    try:
        events = events_of(target, pod)
    except CliError as err:
        warnings.append(f"warning: the pod's events were not read: {err}")
    try:
        history = probes.fetch(target, namespace, name, container)
    except CliError as err:
        warnings.append(f"warning: the pod's probe history was not read: {err}")
    return pod, events, history, warnings


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "why", help="explain a pod's restarts, readiness and flapping probes, with evidence"
    )
    p.add_argument("pod", help="the pod's name")
    p.add_argument("-n", "--namespace", default="", help="the pod's namespace")
    p.add_argument("--kubeconfig", default=None, help="path to the kubeconfig file")
    p.add_argument("-c", "--container", default="", help="only this container")


def run(args: argparse.Namespace) -> int:
    try:
        target = probes.load_target(probes.kubeconfig_path(args.kubeconfig))
        namespace = args.namespace or target.namespace
        pod, events, history, warnings = gather(target, namespace, args.pod, args.container)
    except CliError as err:
        print(str(err), file=sys.stderr)
        return 1
    for warning in warnings:
        print(warning, file=sys.stderr)
    found = diagnosis.diagnose(pod, events, history, container=args.container)
    sys.stdout.write(diagnosistext.render(found))
    return 0
