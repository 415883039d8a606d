"""``GET /metrics``: the node's Prometheus metrics on the API server's port, behind its token.

As kube-apiserver serves its own ``/metrics`` (a non-resource path; without a valid
token the answer is the usual 401 ``Status``), in the text exposition format 0.0.4. One
scrape carries three sources, so a Prometheus needs one target:

* the API server's request metrics, kept here: ``apiserver_request_total{verb,dry_run,
  group,version,resource,subresource,scope,component,code}`` and
  ``apiserver_request_duration_seconds`` (same labels without ``code``, kube-apiserver's
  buckets), recorded by ``RequestMetrics.instrument``, the outermost middleware, so a
  401 or a 404 counts as well. Labels follow kube-apiserver's rules: GET of a collection
  is ``LIST``, ``?watch=true`` is ``WATCH``, a server-side apply is ``APPLY``, exec,
  attach and port-forward are ``CONNECT``; ``scope`` is ``resource`` for a named object
  or a create, ``namespace``, ``cluster``, or empty for non-resource paths, whose
  ``subresource`` label holds the route's path (its pattern, so the label stays bounded);
* the containers' restart counts from the stored pod statuses, under kube-state-metrics'
  name ``kube_pod_container_status_restarts_total{namespace,pod,uid,container}``;
* the kubelet's own metrics (the prober's ``prober_probe_total`` and
  ``prober_probe_duration_seconds``), fetched from the kubelet server's ``/metrics`` over
  ``kubeletclient`` and appended as they are. The apiserver may not import the kubelet,
  and the kubelet owns its values; fetching keeps one owner per number. A kubelet that
  cannot be reached leaves its part out (logged) rather than failing the scrape. (One
  node today; several would repeat a family's HELP and TYPE, and need merging here.)
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from kubeproc.api.resources import Registry
from kubeproc.apiserver.kubeletclient import (
    KubeletClient,
    KubeletRefused,
    KubeletUnavailable,
    endpoint,
)
from kubeproc.apiserver.objects import ObjectStore
from kubeproc.apiserver.requestinfo import Verb, parse_resource_path, verb_for
from kubeproc.util.clock import Clock
from kubeproc.util.prometheus import (
    CONTENT_TYPE,
    CounterVec,
    Family,
    HistogramVec,
    Sample,
    render,
)

log = logging.getLogger(__name__)

Handler = Any  # aiohttp's handler callable; typed at the middleware below

REQUEST_BUCKETS: tuple[float, ...] = (
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15,
    20, 30, 45, 60,
)  # fmt: skip
REQUEST_LABELS = (
    "verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component",
)  # fmt: skip
CONNECT_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "proxy"})
COMPONENT = "apiserver"


def request_labels(
    method: str,
    /,
    path: str,
    query: dict[str, str],
    *,
    content_type: str,
    registry: Registry,
    route: str,
) -> tuple[str, ...]:
    """The request's labels as kube-apiserver derives them (``REQUEST_LABELS`` order)."""
    dry_run = query.get("dryRun", "")
    info = parse_resource_path(path, registry)
    rt = registry.get(info.group, info.version, info.plural) if info is not None else None
    if info is None or rt is None:
        return (method.upper(), dry_run, "", "", "", route, "", COMPONENT)
    watch = query.get("watch", "").lower() not in ("", "0", "false")
    verb = verb_for(method, info, watch=watch)
    word = verb.value.upper() if verb is not None else method.upper()
    if verb is Verb.PATCH and content_type.startswith("application/apply-patch"):
        word = "APPLY"
    if info.subresource.split("/")[0] in CONNECT_SUBRESOURCES:
        word = "CONNECT"
    if info.name or verb is Verb.CREATE:
        scope = "resource"
    elif info.namespace is not None:
        scope = "namespace"
    else:
        scope = "cluster"
    return (word, dry_run, info.group, info.version, info.plural, info.subresource, scope,
            COMPONENT)  # fmt: skip


def restart_family(pods: list[dict[str, Any]]) -> Family:
    """``kube_pod_container_status_restarts_total`` from the pods' stored statuses."""
    samples: list[Sample] = []

    def key(pod: dict[str, Any]) -> tuple[str, str]:
        return pod["metadata"].get("namespace", ""), pod["metadata"]["name"]

    for pod in sorted(pods, key=key):
        meta, status = pod["metadata"], pod.get("status") or {}
        for cs in [*(status.get("initContainerStatuses") or []),
                   *(status.get("containerStatuses") or [])]:  # fmt: skip
            labels = (
                ("namespace", meta.get("namespace", "")),
                ("pod", meta["name"]),
                ("uid", meta.get("uid", "")),
                ("container", cs.get("name", "")),
            )
            samples.append(Sample("", labels, int(cs.get("restartCount") or 0)))
    return Family(
        "kube_pod_container_status_restarts_total",
        "The number of container restarts per container.",
        "counter",
        tuple(samples),
    )


class RequestMetrics:
    """Counts and times every request; serves ``/metrics``."""

    def __init__(
        self, objects: ObjectStore, registry: Registry, clock: Clock, *, kubelet_token: str
    ) -> None:
        self.objects = objects
        self.registry = registry
        self._clock = clock
        self._kubelet_token = kubelet_token
        self.total = CounterVec(
            "apiserver_request_total",
            "[STABLE] Counter of apiserver requests broken out for each verb, dry run value, "
            "group, version, resource, scope, component, and HTTP response code.",
            (*REQUEST_LABELS, "code"),
        )
        self.duration = HistogramVec(
            "apiserver_request_duration_seconds",
            "[STABLE] Response latency distribution in seconds for each verb, dry run value, "
            "group, version, resource, subresource, scope and component.",
            REQUEST_LABELS,
            REQUEST_BUCKETS,
        )

    @web.middleware
    async def instrument(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        began = self._clock.monotonic()
        code = 500
        try:
            response: web.StreamResponse = await handler(request)
            code = response.status
            return response
        except web.HTTPException as exc:
            code = exc.status
            raise
        finally:
            self._record(request, code, self._clock.monotonic() - began)

    def _record(self, request: web.Request, code: int, seconds: float) -> None:
        route = request.match_info.route.resource
        labels = request_labels(
            request.method,
            request.path,
            dict(request.query),
            content_type=request.headers.get("Content-Type", ""),
            registry=self.registry,
            route=route.canonical if route is not None else "",
        )
        self.total.inc(*labels, str(code))
        self.duration.observe(seconds, *labels)

    async def handle(self, _: web.Request) -> web.Response:
        pods_rt = self.registry.get("", "v1", "pods")
        pods = self.objects.list(pods_rt, None).items if pods_rt is not None else []
        text = render([self.total.family(), self.duration.family(), restart_family(pods)])
        text += await self._kubelet_metrics()
        return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})

    async def _kubelet_metrics(self) -> str:
        nodes_rt = self.registry.get("", "v1", "nodes")
        nodes = self.objects.list(nodes_rt, None).items if nodes_rt is not None else []
        parts: list[str] = []
        for node in nodes:
            name = node["metadata"]["name"]
            try:
                async with KubeletClient(endpoint(name, node), self._kubelet_token) as kubelet:
                    parts.append((await kubelet.fetch("/metrics")).decode())
            except (KubeletUnavailable, KubeletRefused) as err:
                log.info("kubelet metrics left out node=%s: %s", name, err)
        return "".join(parts)
