"""The kubelet server's probe routes: Prometheus ``/metrics`` and a pod's probe history.

* ``GET /metrics``: the prober's families (``kubelet.metricsregistry``) in the text
  exposition format 0.0.4. The API server fetches it and serves it inside its own
  ``/metrics``, so a scraper needs only the API server's address and token.
* ``GET /probeHistory/{namespace}/{pod}?uid=&container=``: the pod's probe series as JSON,
  each with its totals and its held attempts, oldest first (``encode_series`` documents
  the shape; the API server passes it on unchanged under the pod's ``probehistory``
  subresource). A pod the prober does not follow answers an empty list, not a 404: the API
  server has already checked that the pod exists.

The history lives in the kubelet's prober, which exists after this server starts (as the
locator's target does), so ``history`` is attached once the kubelet is built; until then
both routes answer as if no pod had probes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from kubeproc.kubelet.metricsregistry import prober_families
from kubeproc.kubelet.prober.history import AttemptResult, ProbeHistory, ProbeSeries
from kubeproc.util.clock import rfc3339_micro
from kubeproc.util.prometheus import CONTENT_TYPE, render


def encode_series(series: ProbeSeries) -> dict[str, Any]:
    """One probe's history on the wire (camelCase, as the API's own objects)."""
    return {
        "container": series.container,
        "probe": series.probe_type.value,
        "handler": series.handler,
        "podUID": series.uid,
        "capacity": series.capacity,
        "totals": {r.word: series.totals[r] for r in AttemptResult},
        "attempts": [
            {
                "start": rfc3339_micro(dt.datetime.fromtimestamp(a.start, dt.UTC)),
                "durationSeconds": round(a.duration, 6),
                "result": a.result.word,
                **({"code": a.code} if a.code is not None else {}),
                "output": a.output,
            }
            for a in series.attempts()
        ],
    }


class ProbeHandlers:
    def __init__(self, history: ProbeHistory | None = None) -> None:
        self.history = history

    async def metrics(self, _: web.Request) -> web.Response:
        text = render(prober_families(self.history)) if self.history is not None else ""
        return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})

    async def pod_history(self, request: web.Request) -> web.Response:
        ns, pod = request.match_info["namespace"], request.match_info["pod"]
        uid = request.query.get("uid", "")
        container = request.query.get("container", "")
        found = self.history.for_pod(ns, pod, uid) if self.history is not None else []
        series = sorted(
            (s for s in found if not container or s.container == container),
            key=lambda s: (s.container, s.probe_type),
        )
        return web.json_response({"probes": [encode_series(s) for s in series]})
